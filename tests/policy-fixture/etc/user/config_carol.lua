-- carol may not pull or load anything.
ALLOWED_SUBCOMMANDS = { "ps", "run" }
