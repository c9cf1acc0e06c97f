-- The lab group may name containers and run them detached.
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--name"
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = { "-d", "--detach" }
