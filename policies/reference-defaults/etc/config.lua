-- userdocker: the defaults of the Python tool userdocker 2.x, in Lua.
--
-- Install as /etc/userdocker/config.lua (owned by root, mode 0644) to get
-- the behaviour admins of the Python tool know: its eight subcommands and
-- its option lists, nothing of what this userdocker adds on top (exec,
-- logs, stop, ... on the caller's own containers, --entrypoint and
-- --workdir for run, anonymous volumes).  Every setting is listed, so this
-- file is also a starting point for a site configuration.  See
-- userdocker.conf(5) for each setting.

LOGLVL = "INFO"

EXECUTORS = {
	docker = "/usr/bin/docker",
	["nvidia-docker"] = "/usr/bin/nvidia-docker",
}
EXECUTOR_DEFAULT = "docker"

ALLOWED_SUBCOMMANDS = {
	"attach",  -- re-attach to the caller's own containers
	-- "dockviz", the reference's image tree, is not implemented by this
	-- userdocker ("unknown subcommand"); listing it would only show it in
	-- --help.
	"images",
	"load",    -- see RUN_PULL as well
	"ps",
	"pull",    -- see RUN_PULL as well
	"run",
	"version",
}

ARGS_ALWAYS = {
	run = {
		-- "-t",
		-- "-i",
		"--rm",
		-- "--shm-size=1g",
	},
}

ARGS_AVAILABLE = {
	attach = {
		"--no-stdin",
	},
	images = {
		{ "-a", "--all" },
		"--digests",
		"--no-trunc",
		{ "-q", "--quiet" },
	},
	load = {
		{ "-q", "--quiet" },
	},
	ps = {
		{ "-a", "--all" },
		{ "-l", "--latest" },
		{ "-s", "--size" },
		{ "-q", "--quiet" },
		"--no-trunc",
	},
	pull = {
		{ "-a", "--all-tags" },
	},
	run = {
		{ "-t", "--tty" },
		{ "-i", "--interactive" },
		"--read-only",
		-- all ports the image EXPOSEs, on random free host ports (world
		-- accessible unless a firewall says otherwise):
		{ "-P", "--publish-all" },
		-- "--shm-size=16g",
	},
}

-- The reference mounted only what an admin listed.
VOLUME_MOUNTS_ALWAYS = {}
VOLUME_MOUNTS_AVAILABLE = {}
VOLUME_MOUNTS_DEFAULT = {
	-- correct user and group names inside containers (cosmetic, and not
	-- useful where accounts come from LDAP):
	-- "/etc/passwd:/etc/passwd:ro",
	-- "/etc/group:/etc/group:ro",
	user_home .. ":" .. user_home,
}
PROBE_USED_MOUNTS = true

-- The reference had no named or anonymous volumes.
VOLUME_NAMED_REGEXPS = {}
VOLUME_ANONYMOUS = false

ALLOWED_IMAGE_REGEXPS = {
	[[^[A-Za-z_].*]],
}
RUN_PULL = "default"

USER_IN_CONTAINER = true
CAPS_DROP = { "ALL" }
CAPS_ADD = {}

-- Not in the reference: no setuid program inside an image gains
-- privileges.  Setting it to false restores the reference exactly, and
-- lets images that rely on sudo or su work again.
NO_NEW_PRIVILEGES = true

ALLOWED_PORT_MAPPINGS = {
	[[^127\.0\.0\.1::[0-9]+$]], -- reachable from this host only, random free port
	[[^[0-9]+$]],               -- container port on a random free host port
	-- [[^127\.0\.0\.1:5000-6000:80$]],
	-- [[^8080:80$]],
}

ENV_VARS = {
	"HOME=" .. user_home,
}
ENV_VARS_EXT = {
	["nvidia-docker"] = {
		"NCCL_TOPOLOGY=CUBEMESH",
	},
}

NVIDIA_SMI = "/usr/bin/nvidia-smi"
NV_ALLOWED_GPUS = "ALL"
NV_DEFAULT_GPU_COUNT_RESERVATION = 1
NV_MAX_GPU_COUNT_RESERVATION = -1
NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = 0
NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = true
NV_ALLOW_OWN_GPU_REUSE = true
-- The reference ran the nvidia-docker wrapper, which reads NV_GPU.
NV_EXECUTOR_MODES = {
	["nvidia-docker"] = "legacy",
}

DOCKER_SOCKET = "/var/run/docker.sock"
PS_SHOW_ALL = false
