--- userdocker policy engine.
--
-- Applies the admin's settings (the reference tool's names, Lua-ified) to one
-- parsed docker request and returns a verdict.  The C side runs this chunk in
-- a sandbox as the calling user; everything that touches the system comes
-- through the `host` table it passes in (see M.decide).
--
-- Contract:
--   M.defaults(caller)               -> fresh settings table with every default
--   M.config_env(settings, caller)   -> _ENV for one admin config file
--   M.validate(settings)             -> nothing, or error("SETTING: what is wrong")
--   M.dump(settings)                 -> effective settings, one per line
--   M.decide(settings, request, ctx) -> { action = "exec" | "print" | "deny", ... }
--
-- GPUs: host.gpus(NVIDIA_SMI) is called only when a GPU decision is needed
-- (run with an executor that has a mode in NV_EXECUTOR_MODES and a GPU to
-- reserve, or ps --gpu-used / --gpu-free / --gpu-used-mine): the C side takes
-- a machine-wide lock in it.  An exec result carries gpus ("1,3", ascending,
-- "" for none) and gpu_mode (the run executor's mode, "" otherwise).
--
-- Errors: a refusal of the user's request is a deny result.  A mistake in the
-- settings is a plain Lua error naming the setting; the C side treats every
-- error escaping decide as a policy failure and runs nothing (fail closed).

-- Library functions are captured once, so a config file that replaces
-- fields of a library table cannot change how the engine behaves.
local assert, error, ipairs, next, pairs, pcall, select, setmetatable,
	tonumber, tostring, type = assert, error, ipairs, next, pairs, pcall, select,
	setmetatable, tonumber, tostring, type
local getmetatable, rawequal, rawset = getmetatable, rawequal, rawset
local sbyte, schar, sfind, sformat, sgmatch, sgsub, slower, smatch, ssub, supper =
	string.byte, string.char, string.find, string.format, string.gmatch, string.gsub,
	string.lower, string.match, string.sub, string.upper
local tconcat, tsort, tunpack = table.concat, table.sort, table.unpack
local mtype, mtointeger = math.type, math.tointeger

local M = {}

-- ===================================================================
-- Constants
-- ===================================================================

--- Every setting, in the order dump() lists them.
local SETTING_NAMES = {
	"LOGLVL", "EXECUTORS", "EXECUTOR_DEFAULT", "ALLOWED_SUBCOMMANDS",
	"ARGS_ALWAYS", "ARGS_AVAILABLE",
	"VOLUME_MOUNTS_ALWAYS", "VOLUME_MOUNTS_DEFAULT", "VOLUME_MOUNTS_AVAILABLE",
	"VOLUME_NAMED_REGEXPS", "VOLUME_ANONYMOUS", "PROBE_USED_MOUNTS",
	"ALLOWED_IMAGE_REGEXPS", "RUN_PULL",
	"USER_IN_CONTAINER", "CAPS_DROP", "CAPS_ADD", "ALLOWED_PORT_MAPPINGS",
	"ENV_VARS", "ENV_VARS_EXT",
	"NVIDIA_SMI", "NV_ALLOWED_GPUS", "NV_DEFAULT_GPU_COUNT_RESERVATION",
	"NV_MAX_GPU_COUNT_RESERVATION", "NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED",
	"NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION", "NV_ALLOW_OWN_GPU_REUSE",
	"NV_EXECUTOR_MODES",
	"DOCKER_SOCKET", "NO_NEW_PRIVILEGES", "PS_SHOW_ALL", "EXEC_AS", "PAM_SESSION",
}

--- The subcommands the engine has rules for, with their one-line help.
local SUBCOMMANDS = {
	attach = "attach to one of your running containers",
	dockviz = "show the image tree",
	exec = "run a command in one of your running containers, as you",
	images = "list images",
	inspect = "show details of your containers",
	kill = "kill your containers",
	load = "load an image from a tar archive",
	logs = "show the logs of one of your containers",
	port = "list the port mappings of one of your containers",
	ps = "list your containers",
	pull = "pull an image",
	restart = "restart your containers",
	rm = "remove your containers",
	run = "run a command in a new container",
	start = "start your stopped containers",
	stats = "show resource usage of your containers",
	stop = "stop your containers",
	top = "show the processes of one of your containers",
	version = "show the docker and userdocker versions",
	wait = "wait for your containers to stop",
}

--- Names a config file reads but cannot assign: who the caller is.
local CALLER_VARS = {
	"uid", "gid", "user_name", "group_name", "user_home", "group_names", "gids",
}

--- Base functions and libraries a config file may use.
local SAFE_FUNCTIONS = {
	"assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "select",
	"tonumber", "tostring", "type", "rawequal", "rawlen", "rawget", "rawset",
	"setmetatable", "getmetatable",
}
local SAFE_LIBRARIES = { "string", "table", "math", "utf8" }

--- run options with their own rules; ARGS_AVAILABLE is not consulted.
--- (--tmpfs is not among them: it needs ARGS_AVAILABLE and its value is
--- checked on top.)
local RUN_DEDICATED = {
	["--volume"] = true, ["--mount"] = true, ["--publish"] = true,
	["--env"] = true, ["--no-default-mounts"] = true,
	["--volumes-from"] = true, ["--volume-driver"] = true,
}

--- run options ARGS_ALWAYS may not force, and what to do instead.
local RUN_NOT_FORCIBLE = {
	["--volume"] = "use VOLUME_MOUNTS_ALWAYS",
	["--env"] = "use ENV_VARS",
	["--no-default-mounts"] = "use VOLUME_MOUNTS_DEFAULT",
	["--volumes-from"] = "it is never allowed",
	["--volume-driver"] = "it is never allowed",
}

--- Why --volumes-from and --volume-driver are always refused.
local RUN_NEVER = {
	["--volumes-from"] = "another container's mounts cannot be checked",
	["--volume-driver"] = "a volume driver can mount any host path",
}

--- Bind mount flags docker knows; admin entries may carry any of them.
local MOUNT_FLAGS = {
	ro = true, rw = true, z = true, Z = true, shared = true, rshared = true,
	slave = true, rslave = true, private = true, rprivate = true,
	nocopy = true, consistent = true, cached = true, delegated = true,
}

--- Flags a user's -v of a named volume may carry (besides none).
local VOLUME_FLAGS = { ro = true, rw = true, nocopy = true }

--- Options of --tmpfs docker passes on as mount flags: the harmless ones
--- (no bind, rbind, remount or propagation flags).
local TMPFS_FLAGS = {
	ro = true, rw = true, exec = true, noexec = true, suid = true, nosuid = true,
	dev = true, nodev = true, sync = true, async = true, dirsync = true,
	atime = true, noatime = true, diratime = true, nodiratime = true,
	relatime = true, norelatime = true, strictatime = true, nostrictatime = true,
	tmpcopyup = true, notmpcopyup = true,
}

--- Options of --tmpfs that take a value, with the value's Lua pattern.
local TMPFS_DATA = {
	size = "^%d+[kKmMgG%%]?$", nr_inodes = "^%d+[kKmMgG]?$", nr_blocks = "^%d+[kKmMgG]?$",
	mode = "^[0-7]+$", uid = "^%d+$", gid = "^%d+$",
}

--- --mount keys docker (28 or 20.10) knows, lower case, with the name the
--- engine keeps them under.
local MOUNT_KEYS = {
	type = "type", source = "source", src = "source",
	target = "target", dst = "target", destination = "target",
	readonly = "readonly", ro = "readonly", consistency = "consistency",
	["bind-propagation"] = "bind-propagation", ["bind-nonrecursive"] = "bind-nonrecursive",
	["bind-recursive"] = "bind-recursive",
	["volume-nocopy"] = "volume-nocopy", ["volume-label"] = "volume-label",
	["volume-driver"] = "volume-driver", ["volume-opt"] = "volume-opt",
	["volume-subpath"] = "volume-subpath", ["image-subpath"] = "image-subpath",
	["tmpfs-size"] = "tmpfs-size", ["tmpfs-mode"] = "tmpfs-mode",
}

--- --mount keys that may be given bare (meaning true); all are booleans.
local MOUNT_BOOLS = { readonly = true, ["volume-nocopy"] = true, ["bind-nonrecursive"] = true }

--- Go's strconv.ParseBool.
local GO_BOOLS = {
	["1"] = true, t = true, T = true, TRUE = true, ["true"] = true, True = true,
	["0"] = false, f = false, F = false, FALSE = false, ["false"] = false, False = false,
}

--- Values of --mount consistency (no effect on Linux).
local MOUNT_CONSISTENCY = { default = true, consistent = true, cached = true, delegated = true }

--- Environment names that select GPUs; GPU reservation is userdocker's.
--- Admin env lists may not set them either.
local GPU_SELECT_ENV = {
	NVIDIA_VISIBLE_DEVICES = true, CUDA_VISIBLE_DEVICES = true, NV_GPU = true,
}

--- Environment names a user's --env may not set: the GPU selectors and
--- what the NVIDIA runtime gives a container with its GPUs.
local GPU_ENV = {
	NVIDIA_VISIBLE_DEVICES = true, CUDA_VISIBLE_DEVICES = true, NV_GPU = true,
	NVIDIA_DRIVER_CAPABILITIES = true,
}

--- Values of NV_EXECUTOR_MODES: how an executor is given its GPUs.
---   legacy   the executor (the nvidia-docker wrapper) reads NV_GPU from its
---            environment (the C side sets it);
---   gpus     docker --gpus "device=1,3";
---   runtime  docker --runtime=nvidia --env=NVIDIA_VISIBLE_DEVICES=1,3.
local GPU_MODES = { legacy = true, gpus = true, runtime = true }

--- run options that give a container GPUs: with an executor that has a
--- GPU mode they are userdocker's alone (never the user's, never forced).
local RUN_GPU_OPTIONS = { ["--gpus"] = true, ["--runtime"] = true }

--- userdocker's own ps options (GPU views), in the order they are shown.
local PS_GPU_VIEWS = { "--gpu-used", "--gpu-used-mine", "--gpu-free" }

--- Settings of older reference versions, with what to do instead.
local OBSOLETE = {
	PRIVILEGED = "privileged containers are never started",
	ALLOWED_PUBLISH_PORTS_ALL = 'list {"-P", "--publish-all"} in ARGS_AVAILABLE.run instead',
	ENV_VARS_SET_USERDOCKER_META_INFO = "userdocker always marks its containers",
}

local LOG_LEVELS = { DEBUG = true, INFO = true, WARNING = true, ERROR = true }
local RUN_PULL_VALUES = { default = true, never = true, always = true }

-- ===================================================================
-- Small helpers
-- ===================================================================

--- Set of the strings in a list.
local function set_of(list)
	local s = {}
	for _, v in ipairs(list) do s[v] = true end
	return s
end

local SETTING_SET = set_of(SETTING_NAMES)
local CALLER_SET = set_of(CALLER_VARS)

--- Deep copy of a tree of tables (no cycles).
local function copy(v)
	if type(v) ~= "table" then return v end
	local t = {}
	for k, x in pairs(v) do t[k] = copy(x) end
	return t
end

--- The keys of a table, sorted (numbers first, then strings).
local function sorted_keys(t)
	local keys = {}
	for k in pairs(t) do keys[#keys + 1] = k end
	tsort(keys, function(a, b)
		local ta, tb = type(a), type(b)
		if ta ~= tb then return ta < tb end
		if ta == "number" or ta == "string" then return a < b end
		return tostring(a) < tostring(b)
	end)
	return keys
end

--- True when t is a sequence 1..n with nothing else in it.
local function is_list(t)
	local n = 0
	for _ in pairs(t) do n = n + 1 end
	for i = 1, n do
		if t[i] == nil then return false end
	end
	return true
end

--- "a, b, c", or "none" for an empty list.
local function join(list)
	if #list == 0 then return "none" end
	return tconcat(list, ", ")
end

--- Escapes control characters, so a message stays on one line.
local function printable(s)
	return (sgsub(tostring(s), "%c", function(c)
		return sformat("\\x%02x", sbyte(c))
	end))
end

--- s with A-Z lowered (whatever the C locale says about other bytes).
local function ascii_lower(s)
	return (sgsub(s, "[A-Z]", function(c) return schar(sbyte(c) + 32) end))
end

--- True when s starts with prefix.
local function starts_with(s, prefix)
	return ssub(s, 1, #prefix) == prefix
end

--- Lexically normalised absolute path: no "//", ".", ".." or trailing "/".
local function normalize_path(p)
	local parts = {}
	for c in sgmatch(p, "[^/]+") do
		if c == ".." then
			parts[#parts] = nil
		elseif c ~= "." then
			parts[#parts + 1] = c
		end
	end
	return "/" .. tconcat(parts, "/")
end

--- The part of path below root ("" for root itself), or nil when path is
--- not at or below root.  Whole components only: /a/bc is not below /a/b.
local function path_below(path, root)
	if path == root then return "" end
	local prefix = root == "/" and "/" or root .. "/"
	if starts_with(path, prefix) then return ssub(path, #prefix + 1) end
	return nil
end

--- root joined with a relative path (which may be "").
local function path_join(root, rel)
	if rel == "" then return root end
	if root == "/" then return "/" .. rel end
	return root .. "/" .. rel
end

-- ===================================================================
-- Defaults
-- ===================================================================

--- Checks the caller table the C side passes in.
local function check_caller(caller)
	if type(caller) ~= "table" then error("caller: table expected", 3) end
	for _, k in ipairs({ "uid", "gid" }) do
		if mtype(caller[k]) ~= "integer" then
			error("caller: " .. k .. " must be an integer", 3)
		end
	end
	for _, k in ipairs({ "user_name", "group_name", "user_home" }) do
		if type(caller[k]) ~= "string" then
			error("caller: " .. k .. " must be a string", 3)
		end
	end
end

--- A fresh settings table holding every setting's default for caller.
function M.defaults(caller)
	check_caller(caller)
	local home = caller.user_home
	return {
		LOGLVL = "INFO",
		EXECUTORS = {
			docker = "/usr/bin/docker",
			["nvidia-docker"] = "/usr/bin/nvidia-docker",
		},
		EXECUTOR_DEFAULT = "docker",
		ALLOWED_SUBCOMMANDS = {
			"attach", "dockviz", "images", "load", "ps", "pull", "run",
			"version",
			-- beyond the reference: only ever on the caller's own containers
			"exec", "inspect", "kill", "logs", "port", "restart", "rm",
			"start", "stats", "stop", "top", "wait",
		},
		ARGS_ALWAYS = { run = { "--rm" } },
		ARGS_AVAILABLE = {
			attach = { "--no-stdin" },
			images = { { "-a", "--all" }, "--digests", "--no-trunc",
				{ "-q", "--quiet" } },
			load = { { "-q", "--quiet" } },
			ps = { { "-a", "--all" }, { "-l", "--latest" }, { "-s", "--size" },
				{ "-q", "--quiet" }, "--no-trunc" },
			pull = { { "-a", "--all-tags" } },
			run = { { "-t", "--tty" }, { "-i", "--interactive" }, "--read-only",
				{ "-P", "--publish-all" }, "--entrypoint",
				{ "-w", "--workdir" } },
			version = {},
			exec = { { "-i", "--interactive" }, { "-t", "--tty" },
				{ "-d", "--detach" }, { "-e", "--env" }, { "-w", "--workdir" } },
			inspect = { { "-f", "--format" }, { "-s", "--size" } },
			kill = { { "-s", "--signal" } },
			logs = { { "-f", "--follow" }, "--since", "--until", { "-n", "--tail" },
				{ "-t", "--timestamps" }, "--details" },
			port = {},
			restart = { { "-t", "--timeout" }, { "-s", "--signal" } },
			rm = { { "-f", "--force" }, { "-v", "--volumes" } },
			start = { { "-a", "--attach" }, { "-i", "--interactive" } },
			stats = { "--no-stream", "--no-trunc" },
			stop = { { "-t", "--timeout" }, { "-s", "--signal" } },
			top = {},
			wait = {},
		},
		VOLUME_MOUNTS_ALWAYS = {},
		VOLUME_MOUNTS_AVAILABLE = {},
		VOLUME_MOUNTS_DEFAULT = { home .. ":" .. home },
		VOLUME_NAMED_REGEXPS = {},
		VOLUME_ANONYMOUS = true,
		PROBE_USED_MOUNTS = true,
		ALLOWED_IMAGE_REGEXPS = { "^[A-Za-z_].*" },
		RUN_PULL = "default",
		USER_IN_CONTAINER = true,
		CAPS_DROP = { "ALL" },
		CAPS_ADD = {},
		ALLOWED_PORT_MAPPINGS = { [[^127\.0\.0\.1::[0-9]+$]], "^[0-9]+$" },
		ENV_VARS = { "HOME=" .. home },
		ENV_VARS_EXT = { ["nvidia-docker"] = { "NCCL_TOPOLOGY=CUBEMESH" } },
		NVIDIA_SMI = "/usr/bin/nvidia-smi",
		NV_ALLOWED_GPUS = "ALL",
		NV_DEFAULT_GPU_COUNT_RESERVATION = 1,
		NV_MAX_GPU_COUNT_RESERVATION = -1,
		NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = 0,
		NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = true,
		NV_ALLOW_OWN_GPU_REUSE = true,
		NV_EXECUTOR_MODES = { ["nvidia-docker"] = "legacy" },
		DOCKER_SOCKET = "/var/run/docker.sock",
		NO_NEW_PRIVILEGES = true,
		PS_SHOW_ALL = false,
		EXEC_AS = "root",
		PAM_SESSION = false,
	}
end

-- ===================================================================
-- Config file environment
-- ===================================================================

-- The engine's own view of the safe globals, taken when the chunk loads.
local BASE = {}
for _, name in ipairs(SAFE_FUNCTIONS) do BASE[name] = _ENV[name] end
for _, name in ipairs(SAFE_LIBRARIES) do BASE[name] = _ENV[name] end

--- Fresh copies of the safe globals, so one config file cannot patch the
--- libraries the engine or another file uses.
local function safe_globals()
	local g = {}
	for _, name in ipairs(SAFE_FUNCTIONS) do g[name] = BASE[name] end
	for _, name in ipairs(SAFE_LIBRARIES) do
		if BASE[name] ~= nil then g[name] = copy(BASE[name]) end
	end
	if g.string then g.string.dump = nil end
	return g
end

--- The caller variables config files read (copies: editing them changes
--- nothing outside the file).
local function caller_vars(caller)
	local v = {}
	for _, name in ipairs(CALLER_VARS) do v[name] = copy(caller[name]) end
	v.group_names = v.group_names or {}
	v.gids = v.gids or {}
	return v
end

--- Error for an assignment to a caller variable, blamed on the config line.
local function caller_var_error(name)
	error(name .. ": is the caller's identity, config files cannot assign it", 3)
end

--- The _ENV a config file runs in.  Reads see settings, then the caller
--- variables, then the safe globals; every assignment goes to settings.
function M.config_env(settings, caller)
	check_caller(caller)
	local vars = caller_vars(caller)
	local globals = safe_globals()
	local env = {}
	globals.rawset = function(t, k, v)
		if rawequal(t, env) then
			if CALLER_SET[k] then caller_var_error(k) end
			settings[k] = v
			return t
		end
		return rawset(t, k, v)
	end
	return setmetatable(env, {
		__index = function(_, k)
			local v = settings[k]
			if v ~= nil then return v end
			v = vars[k]
			if v ~= nil then return v end
			return globals[k]
		end,
		__newindex = function(_, k, v)
			if CALLER_SET[k] then caller_var_error(k) end
			settings[k] = v
		end,
		__metatable = false,
	})
end

--- Hook tables registered by policy.d files, per settings table, in the
--- order the files were loaded.
local HOOKS = setmetatable({}, { __mode = "k" })

--- The _ENV of a policy.d file: a config file's environment plus its own
--- `hooks` table (hooks.run = function(request, caller) ... end, one per
--- subcommand, or hooks.any for all) and `deny(message)` to refuse.
function M.policy_env(settings, caller)
	local base = M.config_env(settings, caller)
	local hooks = {}
	local list = HOOKS[settings] or {}
	HOOKS[settings] = list
	list[#list + 1] = hooks
	local own = {
		hooks = hooks,
		deny = function(msg)
			if type(msg) ~= "string" or msg == "" then error("deny: a message is required", 2) end
			error(setmetatable({ message = printable(msg) }, M._DENY), 0)
		end,
	}
	return setmetatable({}, {
		__index = function(_, k)
			local v = own[k]
			if v ~= nil then return v end
			return base[k]
		end,
		__newindex = function(_, k, v)
			if own[k] ~= nil then error(k .. " cannot be replaced", 2) end
			base[k] = v
		end,
		__metatable = false,
	})
end

--- Runs the policy.d hooks on an approved request, in load order; a hook
--- may edit request.options/args in place, or refuse with deny().
local function run_hooks(settings, request, caller, log)
	for i, hooks in ipairs(HOOKS[settings] or {}) do
		for _, name in ipairs({ "any", request.subcommand }) do
			local f = rawget(hooks, name)
			if f ~= nil then
				if type(f) ~= "function" then
					error(sformat("policy.d file %d: hooks.%s must be a function", i, name), 0)
				end
				if log then log(hooks, name) end
				f(request, caller)
			end
		end
	end
end

-- ===================================================================
-- Validation (admin mistakes; every message starts with the setting)
-- ===================================================================

--- Raises "NAME: msg".
local function bad(name, fmt, ...)
	error(name .. ": " .. sformat(fmt, ...), 0)
end

--- A value's type for messages ("integer" and "float" for numbers).
local function type_name(v)
	return mtype(v) or type(v)
end

--- True for a string that is an absolute path.
local function is_abs(v)
	return type(v) == "string" and ssub(v, 1, 1) == "/"
end

local function check_bool(name, v)
	if type(v) ~= "boolean" then bad(name, "must be true or false, got %s", type_name(v)) end
end

local function check_abs_path(name, v)
	if not is_abs(v) then bad(name, "must be an absolute path, got %s", printable(tostring(v))) end
end

local function check_integer(name, v, min)
	if mtype(v) ~= "integer" then bad(name, "must be an integer, got %s", type_name(v)) end
	if v < min then bad(name, "must be %d or more, got %d", min, v) end
end

local function check_one_of(name, v, allowed, shown)
	if type(v) ~= "string" or not allowed[v] then
		bad(name, "must be one of %s, got %s", shown, printable(tostring(v)))
	end
end

--- Checks that v is a list and calls check(item, where) on each entry.
local function check_list(name, v, check)
	if type(v) ~= "table" or not is_list(v) then bad(name, "must be a list") end
	for i, item in ipairs(v) do check(item, sformat("%s[%d]", name, i)) end
end

--- Checks that v is a table keyed by strings and calls check(value, where).
local function check_map(name, v, check)
	if type(v) ~= "table" then bad(name, "must be a table") end
	for k, item in pairs(v) do
		if type(k) ~= "string" then bad(name, "keys must be strings, got %s", type_name(k)) end
		check(k, item, name .. "." .. k)
	end
end

local function check_string(item, where)
	if type(item) ~= "string" then bad(where, "must be a string, got %s", type_name(item)) end
end

--- Name part of an option entry: "-t" or "--long-name".
local function is_option_name(s)
	return smatch(s, "^%-%w$") ~= nil or smatch(s, "^%-%-%w[%w%-]*$") ~= nil
end

--- Splits "--name=value" into name and value (nil without '=').
local function split_assign(entry)
	local eq = sfind(entry, "=", 1, true)
	if not eq then return entry, nil end
	return ssub(entry, 1, eq - 1), ssub(entry, eq + 1)
end

--- Checks one option entry string; assignments only when allowed.
local function check_option_string(item, where, assign_ok)
	check_string(item, where)
	local name, value = split_assign(item)
	if not is_option_name(name) then bad(where, "not an option: %s", printable(item)) end
	if value and not assign_ok then
		bad(where, "an alias group cannot carry a value: %s", printable(item))
	end
end

--- Checks the subcommand key of ARGS_ALWAYS / ARGS_AVAILABLE.
local function check_subcommand_key(key, where)
	if not SUBCOMMANDS[key] then bad(where, "unknown subcommand") end
end

--- Checks one ARGS_AVAILABLE entry: a name, "--name=value", or an alias group.
local function check_available_entry(item, where)
	if type(item) == "table" then
		if not is_list(item) or #item == 0 then
			bad(where, "an alias group must be a non-empty list of option names")
		end
		for i, name in ipairs(item) do
			check_option_string(name, sformat("%s[%d]", where, i), false)
		end
	else
		check_option_string(item, where, true)
	end
end

--- Flags of a mount spec in canonical form ("" or "ro" or "ro,z"), or nil
--- when malformed (empty entries).
local function parse_mount_flags(s)
	if s == nil or s == "" then return "" end
	local list = {}
	for tok in sgmatch(s .. ",", "([^,]*),") do
		if tok == "" then return nil end
		list[#list + 1] = tok
	end
	tsort(list)
	return tconcat(list, ",")
end

--- Splits "a:b[:c]" into its fields (1 to n of them).
local function split_colons(s)
	local parts = {}
	for f in sgmatch(s .. ":", "([^:]*):") do parts[#parts + 1] = f end
	return parts
end

--- Parses an admin mount entry "host[/**]:container[:flags]".
--- Returns { spec, root, sub, container, flags } or nil, why.
local function parse_admin_mount(spec)
	local parts = split_colons(spec)
	if #parts < 2 or #parts > 3 then return nil, "expected HOST:CONTAINER[:FLAGS]" end
	local host, container = parts[1], parts[2]
	local sub = false
	if host == "/**" then
		host, sub = "/", true
	elseif ssub(host, -3) == "/**" then
		host, sub = ssub(host, 1, -4), true
	end
	if not is_abs(host) then return nil, "host path must be absolute" end
	if sfind(host, "*", 1, true) then return nil, "'*' is only allowed as a final /**" end
	if container ~= "" then
		if not is_abs(container) then return nil, "container path must be absolute or empty" end
		container = normalize_path(container)
	end
	local flags = parse_mount_flags(parts[3])
	if not flags then return nil, "empty mount flag" end
	for f in sgmatch(flags, "[^,]+") do
		if not MOUNT_FLAGS[f] then return nil, "unknown mount flag " .. f end
	end
	return { spec = spec, root = host, sub = sub, container = container, flags = flags }
end

--- Checks a mount list; automatically added mounts need a fixed target.
local function check_mounts(name, v, auto)
	check_list(name, v, function(item, where)
		check_string(item, where)
		if sfind(item, "{HOME}", 1, true) or sfind(item, "{USER", 1, true) then
			bad(where, "write user_home / user_name instead of {HOME} / {USERNAME}: %s", printable(item))
		end
		local m, why = parse_admin_mount(item)
		if not m then bad(where, "%s: %s", why, printable(item)) end
		if auto and (m.sub or m.container == "") then
			bad(where, "a mount added automatically needs a host directory and a container path: %s",
				printable(item))
		end
		if m.container == "/" then bad(where, "container path must not be /: %s", printable(item)) end
	end)
end

--- Name part of an env entry "KEY=VALUE", or nil when malformed.
local function env_key(s)
	return smatch(s, "^([^=]+)=")
end

--- True for the environment names and label keys userdocker reserves.
local function reserved_env(key)
	return starts_with(supper(key), "USERDOCKER")
end

--- Checks an admin env list.
local function check_env_list(name, v)
	check_list(name, v, function(item, where)
		check_string(item, where)
		local key = env_key(item)
		if not key or sfind(key, "%s") then bad(where, "must be KEY=VALUE: %s", printable(item)) end
		if reserved_env(key) then bad(where, "USERDOCKER* names are reserved: %s", printable(item)) end
		if GPU_SELECT_ENV[key] then
			bad(where, "GPUs are reserved by userdocker (NV_* settings), not via %s: %s", key, printable(item))
		end
	end)
end

--- Per-setting checks, applied in SETTING_NAMES order.
local CHECKS = {
	LOGLVL = function(n, v) check_one_of(n, v, LOG_LEVELS, "DEBUG, INFO, WARNING, ERROR") end,
	EXECUTORS = function(n, v)
		check_map(n, v, function(k, path, where)
			if not smatch(k, "^%w[%w._-]*$") then bad(n, "bad executor name: %s", printable(k)) end
			check_abs_path(where, path)
		end)
		if next(v) == nil then bad(n, "must name at least one executor") end
	end,
	EXECUTOR_DEFAULT = function(n, v, s)
		check_string(v, n)
		if type(s.EXECUTORS) ~= "table" or s.EXECUTORS[v] == nil then
			bad(n, "%s is not a key of EXECUTORS", printable(v))
		end
	end,
	ALLOWED_SUBCOMMANDS = function(n, v)
		local names = sorted_keys(SUBCOMMANDS)
		check_list(n, v, function(item, where)
			if not SUBCOMMANDS[item] then
				bad(where, "unsupported subcommand: %s (supported: %s)", printable(tostring(item)), join(names))
			end
		end)
	end,
	ARGS_ALWAYS = function(n, v)
		check_map(n, v, function(k, list, where)
			check_subcommand_key(k, where)
			check_list(where, list, function(item, w) check_option_string(item, w, true) end)
		end)
	end,
	ARGS_AVAILABLE = function(n, v)
		check_map(n, v, function(k, list, where)
			check_subcommand_key(k, where)
			check_list(where, list, check_available_entry)
		end)
	end,
	VOLUME_MOUNTS_ALWAYS = function(n, v) check_mounts(n, v, true) end,
	VOLUME_MOUNTS_DEFAULT = function(n, v) check_mounts(n, v, true) end,
	VOLUME_MOUNTS_AVAILABLE = function(n, v) check_mounts(n, v, false) end,
	VOLUME_NAMED_REGEXPS = function(n, v) check_list(n, v, check_string) end,
	VOLUME_ANONYMOUS = check_bool,
	PROBE_USED_MOUNTS = check_bool,
	ALLOWED_IMAGE_REGEXPS = function(n, v) check_list(n, v, check_string) end,
	RUN_PULL = function(n, v) check_one_of(n, v, RUN_PULL_VALUES, "default, never, always") end,
	USER_IN_CONTAINER = check_bool,
	CAPS_DROP = function(n, v)
		check_list(n, v, function(item, where)
			check_string(item, where)
			if not smatch(item, "^[%a_]+$") then bad(where, "not a capability name: %s", printable(item)) end
		end)
	end,
	ALLOWED_PORT_MAPPINGS = function(n, v) check_list(n, v, check_string) end,
	ENV_VARS = check_env_list,
	ENV_VARS_EXT = function(n, v)
		check_map(n, v, function(_, list, where) check_env_list(where, list) end)
	end,
	NVIDIA_SMI = check_abs_path,
	NV_ALLOWED_GPUS = function(n, v)
		if v == "ALL" then return end
		if type(v) ~= "table" then bad(n, "must be \"ALL\" or a list of GPU indexes") end
		local seen = {}
		check_list(n, v, function(item, where)
			check_integer(where, item, 0)
			if seen[item] then bad(where, "GPU %d is listed twice", item) end
			seen[item] = true
		end)
	end,
	NV_DEFAULT_GPU_COUNT_RESERVATION = function(n, v) check_integer(n, v, 0) end,
	NV_MAX_GPU_COUNT_RESERVATION = function(n, v, s)
		check_integer(n, v, -1)
		local d = s.NV_DEFAULT_GPU_COUNT_RESERVATION
		if v >= 0 and mtype(d) == "integer" and d > v then
			bad(n, "%d is below NV_DEFAULT_GPU_COUNT_RESERVATION (%d)", v, d)
		end
	end,
	NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = function(n, v) check_integer(n, v, -1) end,
	NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = check_bool,
	NV_ALLOW_OWN_GPU_REUSE = check_bool,
	NV_EXECUTOR_MODES = function(n, v)
		-- keys need not be in EXECUTORS: a later file may remove an executor
		check_map(n, v, function(_, mode, where)
			check_one_of(where, mode, GPU_MODES, "legacy, gpus, runtime")
		end)
	end,
	DOCKER_SOCKET = check_abs_path,
	NO_NEW_PRIVILEGES = check_bool,
	PS_SHOW_ALL = check_bool,
	PAM_SESSION = check_bool,
	EXEC_AS = function(n, v)
		check_string(v, n)
		if not smatch(v, "^[a-z_][a-z0-9_-]*%$?$") or #v > 32 then
			bad(n, "not a user name: %s", printable(v))
		end
	end,
}
CHECKS.CAPS_ADD = CHECKS.CAPS_DROP

--- True for a name that reads as a setting (UPPERCASE) rather than a helper.
local function is_setting_name(k)
	return type(k) == "string" and smatch(k, "^[A-Z][A-Z0-9_]*$") ~= nil
end

--- Raises "<SETTING>: <what is wrong>" for the first problem found.
function M.validate(settings)
	if type(settings) ~= "table" then error("settings: table expected", 2) end
	local unknown = {}
	for _, k in ipairs(sorted_keys(settings)) do
		if type(k) ~= "string" then
			error("settings: unexpected non-name key " .. printable(tostring(k)), 0)
		end
		if is_setting_name(k) and not SETTING_SET[k] then unknown[#unknown + 1] = k end
	end
	for _, k in ipairs(unknown) do
		if OBSOLETE[k] then bad(k, "no longer supported: %s", OBSOLETE[k]) end
	end
	if #unknown > 0 then
		if #unknown == 1 then error(unknown[1] .. ": unknown setting", 0) end
		error(unknown[1] .. ": unknown setting (all unknown: " .. join(unknown) .. ")", 0)
	end
	for _, name in ipairs(SETTING_NAMES) do
		local v = settings[name]
		if v == nil then bad(name, "missing") end
		CHECKS[name](name, v, settings)
	end
end

-- ===================================================================
-- Dump
-- ===================================================================

--- A string as a Lua literal that stays on one line.
local function quote(s)
	return '"' .. sgsub(s, '[%c"\\]', function(c)
		if c == '"' or c == "\\" then return "\\" .. c end
		if c == "\n" then return "\\n" end
		return sformat("\\%03d", sbyte(c))
	end) .. '"'
end

local serialize

--- A table as a one-line Lua constructor (lists in order, maps sorted).
local function serialize_table(t, depth)
	if depth > 8 then return "{...}" end
	local parts = {}
	if is_list(t) then
		for _, v in ipairs(t) do parts[#parts + 1] = serialize(v, depth + 1) end
	else
		for _, k in ipairs(sorted_keys(t)) do
			local key = (type(k) == "string" and smatch(k, "^[%a_][%w_]*$")) and k
				or "[" .. serialize(k, depth + 1) .. "]"
			parts[#parts + 1] = key .. " = " .. serialize(t[k], depth + 1)
		end
	end
	return "{" .. tconcat(parts, ", ") .. "}"
end

--- Any value as a one-line Lua expression (functions as <function>).
function serialize(v, depth)
	local tv = type(v)
	if tv == "string" then return quote(v) end
	if tv == "table" then return serialize_table(v, depth or 0) end
	if tv == "number" or tv == "boolean" or tv == "nil" then return tostring(v) end
	return "<" .. tv .. ">"
end

--- The effective settings, one "NAME = value" line each, in a fixed order.
function M.dump(settings)
	local lines = {}
	for _, name in ipairs(SETTING_NAMES) do
		lines[#lines + 1] = name .. " = " .. serialize(settings[name])
	end
	for _, k in ipairs(sorted_keys(settings)) do
		if is_setting_name(k) and not SETTING_SET[k] then
			lines[#lines + 1] = k .. " = " .. serialize(settings[k]) .. "  -- unknown setting"
		end
	end
	return tconcat(lines, "\n") .. "\n"
end

-- ===================================================================
-- Where each setting was last changed (for --explain and --debug)
-- ===================================================================

local ORIGINS = setmetatable({}, { __mode = "k" })
local HOOK_FILES = setmetatable({}, { __mode = "k" })

--- Every setting's value, serialized, to see what one file changes.
function M.snapshot(settings)
	local snap = {}
	for k, v in pairs(settings) do
		if type(k) == "string" then snap[k] = serialize(v) end
	end
	return snap
end

--- After FILE (its TEXT) ran: each setting it changed came from
--- "FILE:LINE", LINE being the last line of the file that names the
--- setting outside a comment (the assignment or the edit), else "FILE".
--- A policy.d file's hooks table is tagged with FILE too.
function M.record_origins(settings, snap, file, text)
	local origins = ORIGINS[settings] or {}
	ORIGINS[settings] = origins
	for k, v in pairs(settings) do
		if type(k) == "string" and snap[k] ~= serialize(v) then
			local n, last = 0, nil
			local word = "%f[%w_]" .. k:gsub("%W", "%%%0") .. "%f[^%w_]"
			for line in (text .. "\n"):gmatch("([^\n]*)\n") do
				n = n + 1
				local code = line:gsub("%-%-.*$", "")
				if code:find(word) then last = n end
			end
			origins[k] = last and (file .. ":" .. last) or file
		end
	end
	local hooks = HOOKS[settings]
	if hooks and #hooks > 0 and HOOK_FILES[hooks[#hooks]] == nil then
		HOOK_FILES[hooks[#hooks]] = file
	end
end

--- What validate cannot see: every regexp compiles (host.match), and each
--- policy.d hook is a function registered under "any" or a subcommand.
--- Any error, validate's included, names the file:line of the setting.
local REGEXP_SETTINGS = { "ALLOWED_IMAGE_REGEXPS", "ALLOWED_PORT_MAPPINGS", "VOLUME_NAMED_REGEXPS" }

function M.check(settings, host)
	local origins = ORIGINS[settings] or {}
	local function at(name) return origins[name] and (" (" .. origins[name] .. ")") or "" end
	local ok, msg = pcall(M.validate, settings)
	if not ok then
		local name = type(msg) == "string" and smatch(msg, "^([%u_][%u%d_]*):") or nil
		error(tostring(msg) .. (name and at(name) or ""), 0)
	end
	for _, name in ipairs(REGEXP_SETTINGS) do
		for _, re in ipairs(settings[name]) do
			local good, err = pcall(host.match, re, "")
			if not good then
				error(sformat("%s: invalid regexp %s: %s%s", name, printable(re), printable(tostring(err)),
					at(name)), 0)
			end
		end
	end
	for _, hooks in ipairs(HOOKS[settings] or {}) do
		local file = HOOK_FILES[hooks] or "a policy.d file"
		for k, f in pairs(hooks) do
			if type(k) ~= "string" or (k ~= "any" and not SUBCOMMANDS[k]) then
				error(sformat("%s: hooks.%s: no such subcommand (hooks.any or one of: %s)", file,
					printable(tostring(k)), join(sorted_keys(SUBCOMMANDS))), 0)
			end
			if type(f) ~= "function" then
				error(sformat("%s: hooks.%s must be a function, not a %s", file, k, type(f)), 0)
			end
		end
	end
end

--- "NAME (file:line)" or "NAME (built-in default)".
local function from(st, name, suffix)
	local o = ORIGINS[st.settings]
	return name .. (suffix or "") .. " (" .. (o and o[name] or "built-in default") .. ")"
end

-- ===================================================================
-- Decisions: state, denial, logging
-- ===================================================================

-- Marks a table error as a refusal of the request (not a policy failure).
local DENY = {}
M._DENY = DENY

--- Refuses the request: "<what> not allowed: <value> (<what is allowed>)".
local function deny(fmt, ...)
	local args = { ... }
	for i = 1, select("#", ...) do args[i] = printable(args[i]) end
	error(setmetatable({ message = sformat(fmt, tunpack(args, 1, select("#", ...))) }, DENY), 0)
end

--- Logs a decision when debugging (one line, whatever the user typed).
local function note(st, fmt, ...)
	local level = st.explain and "explain" or st.debug and "debug"
	if level then st.host.log(level, printable(sformat(fmt, ...))) end
end

--- host.match, with an invalid regexp blamed on the setting it came from.
local function regex_match(st, setting, re, s)
	local ok, res = pcall(st.host.match, re, s)
	if not ok then bad(setting, "invalid regexp %s: %s", printable(re), printable(tostring(res))) end
	return res == true
end

--- The first regexp of a list matching s, or nil.
local function first_match(st, setting, s)
	for _, re in ipairs(st.settings[setting]) do
		if regex_match(st, setting, re, s) then return re end
	end
	return nil
end

-- ===================================================================
-- Options (ARGS_AVAILABLE, ARGS_ALWAYS)
-- ===================================================================

--- Canonical name and kind of an admin's option entry, or a settings error.
local function admin_flag(st, where, name)
	local canon, kind = st.host.flag(st.sub, name)
	if canon == nil then bad(where, "unknown option for %s: %s", st.sub, printable(name)) end
	return canon, kind
end

--- Compiles ARGS_AVAILABLE[sub]: rules[canonical] = true (any value) or a
--- set of exact values; shown lists the allowed options for messages;
--- exact[canonical] is the set of exact values listed (even next to an
--- entry allowing any value).
local function compile_available(st)
	local where = "ARGS_AVAILABLE." .. st.sub
	local rules, shown, exact = {}, {}, {}
	for _, entry in ipairs(st.settings.ARGS_AVAILABLE[st.sub] or {}) do
		local canon, value
		if type(entry) == "table" then
			for _, name in ipairs(entry) do
				local c = admin_flag(st, where, name)
				if canon and c ~= canon then
					bad(where, "alias group names different options: %s", join(entry))
				end
				canon = c
			end
		else
			local name
			name, value = split_assign(entry)
			canon = admin_flag(st, where, name)
		end
		if st.sub == "run" and RUN_DEDICATED[canon] then
			note(st, "%s: %s has its own rules, entry ignored", where, canon)
		elseif value == nil then
			rules[canon] = true
			shown[#shown + 1] = canon
		else
			if rules[canon] ~= true then
				rules[canon] = rules[canon] or {}
				rules[canon][value] = true
			end
			exact[canon] = exact[canon] or {}
			exact[canon][value] = true
			shown[#shown + 1] = canon .. "=" .. value
		end
	end
	return rules, shown, exact
end

--- Compiles ARGS_ALWAYS[sub] into canonical options { name, value }.
local function compile_always(st)
	local where = "ARGS_ALWAYS." .. st.sub
	local list = {}
	for _, entry in ipairs(st.settings.ARGS_ALWAYS[st.sub] or {}) do
		local name, value = split_assign(entry)
		local canon, kind = admin_flag(st, where, name)
		if st.sub == "run" and RUN_NOT_FORCIBLE[canon] then
			bad(where, "%s cannot be forced here, %s", canon, RUN_NOT_FORCIBLE[canon])
		end
		if st.sub == "run" and RUN_GPU_OPTIONS[canon] and st.gpu_mode then
			bad(where, "%s cannot be forced for the GPU executor %s: userdocker reserves its GPUs"
				.. " (NV_EXECUTOR_MODES)", canon, st.executor)
		end
		if kind == "bool" then
			value = value or "true"
			if value ~= "true" and value ~= "false" then
				bad(where, "%s takes true or false, got %s", canon, printable(value))
			end
		elseif value == nil then
			bad(where, "%s needs a value: %s=VALUE", canon, canon)
		end
		list[#list + 1] = { name = canon, value = value }
	end
	return list
end

--- True when opt equals one of the forced options (name and value).
local function is_forced(always, opt)
	for _, a in ipairs(always) do
		if a.name == opt.name and a.value == opt.value then return true end
	end
	return false
end

--- How an option is shown in messages: "--tty" or "--shm-size=2g".
local function show_option(opt, kind)
	if kind == "bool" and opt.value == "true" then return opt.name end
	return opt.name .. "=" .. opt.value
end

--- Checks one ordinary user option against ARGS_AVAILABLE / ARGS_ALWAYS.
--- Boolean flags docker sets to true by default.
local DEFAULT_TRUE = { ["--disable-content-trust"] = true, ["--sig-proxy"] = true }

--- Returns false when the option duplicates a forced one (drop it).
local function check_option(st, opt)
	local _, kind = st.host.flag(st.sub, opt.name)
	-- "=false" switches something off, except for flags that are on by
	-- default: there it switches something on.
	if kind == "bool" and opt.value == "false" and not DEFAULT_TRUE[opt.name] then
		note(st, "option %s=false: switches something off", opt.name)
		return true
	end
	if is_forced(st.always, opt) then
		note(st, "option %s: also forced by %s", opt.name, from(st, "ARGS_ALWAYS"))
		return false
	end
	local rule = st.available[opt.name]
	if rule == true or (rule and rule[opt.value]) then
		note(st, "option %s: allowed by %s", show_option(opt, kind), from(st, "ARGS_AVAILABLE", "." .. st.sub))
		return true
	end
	note(st, "option %s: not in %s", show_option(opt, kind), from(st, "ARGS_AVAILABLE", "." .. st.sub))
	deny("%s option not allowed: %s (allowed: %s)", st.sub, show_option(opt, kind), join(st.shown))
end

--- Appends an option { name, value } to a list.
local function push(list, name, value)
	list[#list + 1] = { name = name, value = value }
end

--- Checks the user's options in argv order; calls special[name] for the
--- options with their own rules (it returns whether the option goes on, or
--- the value it goes on with).  Returns the options that go on.
local function filter_options(st, options, special)
	local out = {}
	for _, opt in ipairs(options) do
		local handler = special and special[opt.name]
		if handler then
			-- true: keep the option, a string: keep it with that value
			local keep = handler(st, opt.value)
			if keep then push(out, opt.name, keep == true and opt.value or keep) end
		elseif check_option(st, opt) then
			push(out, opt.name, opt.value)
		end
	end
	for _, a in ipairs(st.always) do
		note(st, "option %s=%s: added by %s", a.name, a.value, from(st, "ARGS_ALWAYS", "." .. st.sub))
		push(out, a.name, a.value)
	end
	return out
end

-- ===================================================================
-- Images
-- ===================================================================

--- The image name with ":latest" added when it has neither tag nor digest.
local function normalize_image(name)
	if sfind(name, "@", 1, true) then return name end
	local last_slash = smatch(name, "^.*()/") or 0
	if sfind(name, ":", last_slash + 1, true) then return name end
	return name .. ":latest"
end

--- Checks an image name against ALLOWED_IMAGE_REGEXPS.
local function check_image(st, image)
	if image == nil or image == "" then deny("image missing: %s needs an image name", st.sub) end
	local re = first_match(st, "ALLOWED_IMAGE_REGEXPS", image)
	if not re then
		note(st, "image %s: matches nothing in %s", image, from(st, "ALLOWED_IMAGE_REGEXPS"))
		deny("image not allowed: %s (allowed: %s)", image, join(st.settings.ALLOWED_IMAGE_REGEXPS))
	end
	note(st, "image %s: allowed, matches %s in %s", image, re, from(st, "ALLOWED_IMAGE_REGEXPS"))
end

-- ===================================================================
-- run: ports, env, labels
-- ===================================================================

--- --publish: the value must match one of ALLOWED_PORT_MAPPINGS.
local function check_port(st, value)
	local list = st.settings.ALLOWED_PORT_MAPPINGS
	if #list == 0 then
		deny("run option not allowed: --publish=%s (allowed: %s)", value, join(st.shown))
	end
	local re = first_match(st, "ALLOWED_PORT_MAPPINGS", value)
	if not re then deny("port mapping not allowed: %s (allowed: %s)", value, join(list)) end
	note(st, "port mapping %s: allowed, matches %s in %s", value, re, from(st, "ALLOWED_PORT_MAPPINGS"))
	return true
end

--- --env: KEY=VALUE with a key that is neither reserved nor a GPU selector.
local function check_env(st, value)
	local key = env_key(value)
	if not sfind(value, "=", 1, true) then deny("env value missing: %s", value) end
	if not key then deny("env not allowed: %s (a name is required)", value) end
	if reserved_env(key) then deny("env not allowed: %s (USERDOCKER* is reserved)", value) end
	if GPU_ENV[key] then
		deny("env not allowed: %s (GPUs are assigned by userdocker, not via %s; use NV_GPU in"
			.. " your environment with a GPU executor)", value, key)
	end
	note(st, "env %s: allowed", key)
	return true
end

--- --label: ordinary option, but userdocker.* keys are the wrapper's marks.
local function check_label(st, value)
	local key = smatch(value, "^([^=]*)") or ""
	key = smatch(key, "^%s*(.-)$")
	if starts_with(slower(key), "userdocker.") then
		deny("label not allowed: %s (userdocker.* labels are reserved)", value)
	end
	return check_option(st, { name = "--label", value = value })
end

-- ===================================================================
-- run: mounts
-- ===================================================================
--
-- Every mount leaves the engine as a --volume value: "/host:/ctr[:flags]"
-- for binds (root opens and stages the host path), "name:/ctr[:flags]" for
-- named volumes, "/ctr" for anonymous volumes.  --mount is translated into
-- that shape; only tmpfs mounts stay --mount (root refuses any other).
-- A user mount is first parsed into an item { type = "bind" | "volume" |
-- "anonymous" | "tmpfs", container, spec, ... } (syntax, in argv order),
-- then judged and merged with the admin's mounts (build_mounts).

--- Parsed admin mount lists { always, default, available } (validated).
local function admin_mounts(settings)
	local lists = {}
	for key, name in pairs({ always = "VOLUME_MOUNTS_ALWAYS",
		default = "VOLUME_MOUNTS_DEFAULT", available = "VOLUME_MOUNTS_AVAILABLE" }) do
		local list = {}
		for _, spec in ipairs(settings[name]) do
			list[#list + 1] = assert(parse_admin_mount(spec))
			list[#list].origin = key
		end
		lists[key] = list
	end
	return lists
end

--- All admin mount entries, always, default, available (for messages and
--- matching).
local function all_entries(lists)
	local all = {}
	for _, key in ipairs({ "always", "default", "available" }) do
		for _, e in ipairs(lists[key]) do all[#all + 1] = e end
	end
	return all
end

--- The specs of all admin entries, without duplicates, for messages.
local function allowed_specs(st)
	local seen, out = {}, {}
	for _, e in ipairs(st.mount_entries) do
		if not seen[e.spec] then
			seen[e.spec] = true
			out[#out + 1] = e.spec
		end
	end
	return join(out)
end

--- Resolved admin root of an entry (cached), or nil when it does not exist.
local function admin_root(st, entry)
	local cache = st.resolved
	if cache[entry.root] == nil then
		cache[entry.root] = st.host.resolve(entry.root) or false
	end
	return cache[entry.root] or nil
end

--- " (why)" for a host error message, without a leading "path: " the host
--- may have put there; "" without a message.
local function reason(path, err)
	if err == nil then return "" end
	err = tostring(err)
	if starts_with(err, path .. ": ") then err = ssub(err, #path + 3) end
	return " (" .. err .. ")"
end

--- Resolves a host path as the caller; denies when it does not exist, or
--- when the real path has a ':' (a --volume value cannot carry one).
local function resolve_source(st, path, spec)
	local real, err = st.host.resolve(path)
	if not real then deny("mount source not found: %s%s", path, reason(path, err)) end
	if not is_abs(real) then error("host.resolve returned a non-absolute path for " .. path, 0) end
	if sfind(real, ":", 1, true) then
		deny("mount not allowed: %s (host path %s contains ':')", spec, real)
	end
	return real
end

--- Kind of a resolved mount source ("dir" or "file"); denies other kinds.
local function source_kind(st, spec, real)
	local kind, err = st.host.kind(real)
	if not kind then deny("mount source not found: %s%s", real, reason(real, err)) end
	if kind ~= "dir" and kind ~= "file" then
		deny("mount not allowed: %s (%s is not a file or directory)", spec, real)
	end
	return kind
end

--- A mount as it goes to docker, built from an admin entry (always/default).
local function mount_from_admin(st, entry)
	local real = resolve_source(st, entry.root, entry.spec)
	return {
		type = "bind", host = real, container = entry.container, flags = entry.flags,
		kind = source_kind(st, entry.spec, real), spec = entry.spec,
	}
end

--- The normalised container path of a user mount; denies relative paths,
--- "/" and (from --mount) paths a --volume value cannot carry.
local function user_container(spec, path)
	if not is_abs(path) then deny("mount not allowed: %s (container path must be absolute)", spec) end
	if sfind(path, ":", 1, true) then
		deny("mount not allowed: %s (container path must not contain ':')", spec)
	end
	local container = normalize_path(path)
	if container == "/" then deny("mount not allowed: %s (container path must not be /)", spec) end
	return container
end

--- True for a name docker's local volume driver accepts.
local function valid_volume_name(name)
	return smatch(name, "^[A-Za-z0-9][A-Za-z0-9_.%-]+$") ~= nil
end

--- Checks a volume name; denies malformed ones.
local function check_volume_name(spec, name)
	if not valid_volume_name(name) then
		deny("mount malformed: %s (volume name %s: only [A-Za-z0-9][A-Za-z0-9_.-]+ is allowed)",
			spec, name)
	end
end

--- Canonical flags of a user's named volume ("", "ro", "nocopy,rw", ...),
--- or nil when not allowed.
local function volume_flags(flags)
	local seen = {}
	for f in sgmatch(flags, "[^,]+") do
		if not VOLUME_FLAGS[f] or seen[f] then return nil end
		seen[f] = true
	end
	if seen.ro and seen.rw then return nil end
	return flags
end

--- Parses a user's -v value: "/host:/ctr[:flags]" (bind), "name:/ctr[:flags]"
--- (named volume) or "/ctr" (anonymous volume), the way docker tells them
--- apart.  Relative host paths ("./x", "~/x") are refused: docker 28 and
--- 20.10 read them differently.
local function parse_volume_option(spec)
	local parts = split_colons(spec)
	if spec == "" or #parts > 3 or parts[1] == "" then
		deny("mount malformed: %s (expected HOST:CONTAINER[:ro|rw], NAME:CONTAINER[:ro|rw] or CONTAINER)",
			spec)
	end
	if #parts == 1 then
		return { type = "anonymous", container = user_container(spec, spec), spec = spec }
	end
	local source, first = parts[1], ssub(parts[1], 1, 1)
	if parts[2] == "" then
		deny("mount malformed: %s (expected HOST:CONTAINER[:ro|rw])", spec)
	end
	local flags = parse_mount_flags(parts[3])
	if flags == nil or parts[3] == "" then
		deny("mount malformed: %s (expected HOST:CONTAINER[:ro|rw])", spec)
	end
	if first == "." or first == "~" then
		deny("mount not allowed: %s (host path must be absolute)", spec)
	end
	local container = user_container(spec, parts[2])
	if first == "/" then
		return { type = "bind", host = source, container = container, flags = flags, spec = spec }
	end
	check_volume_name(spec, source)
	if not volume_flags(flags) then
		deny("mount flags not allowed: %s (allowed for volumes: ro, rw, nocopy)", spec)
	end
	return { type = "volume", name = source, container = container, flags = flags, spec = spec }
end

--- Splits one CSV record the way Go's encoding/csv reads it (default
--- settings): fields separated by ',', a field starting with '"' is quoted
--- and '""' in it is a '"'.  Returns the fields, or nil and why.  The value
--- has no control characters (checked before), so it is one line.
local function parse_csv(s)
	local fields, i, n = {}, 1, #s
	while true do
		if ssub(s, i, i) == '"' then
			local buf, done = {}, false
			i = i + 1
			while not done do
				local q = sfind(s, '"', i, true)
				if not q then return nil, "a quoted field is not closed" end
				buf[#buf + 1] = ssub(s, i, q - 1)
				local after = ssub(s, q + 1, q + 1)
				if after == '"' then
					buf[#buf + 1] = '"'
					i = q + 2
				elseif after == "," or after == "" then
					fields[#fields + 1] = tconcat(buf)
					if after == "" then return fields end
					i, done = q + 2, true
				else
					return nil, "text after the closing quote of a field"
				end
			end
		else
			local comma = sfind(s, ",", i, true)
			local field = ssub(s, i, (comma or n + 1) - 1)
			if sfind(field, '"', 1, true) then return nil, "a quote inside an unquoted field" end
			fields[#fields + 1] = field
			if not comma then return fields end
			i = comma + 1
		end
	end
end

--- One field of a CSV record, quoted only when it has to be.
local function csv_field(s)
	if sfind(s, '[,"]') then return '"' .. sgsub(s, '"', '""') .. '"' end
	return s
end

--- True for a go-units RAMInBytes size ("64m", "1.5GiB", "1024").
local function go_ram_size(v)
	return smatch(v, "^%d+[kKmMgGtTpP]?[iI]?[bB]?$") ~= nil
		or smatch(v, "^%d+%.%d+[kKmMgGtTpP]?[iI]?[bB]?$") ~= nil
end

--- True for a tmpfs-mode: octal, fits in 32 bits (strconv.ParseUint(v, 8, 32)).
local function go_octal32(v)
	if not smatch(v, "^[0-7]+$") then return false end
	local digits = sgsub(v, "^0+", "")
	return #digits < 11 or (#digits == 11 and tonumber(digits, 8) <= 0xffffffff)
end

--- Reads a --mount value into { key = last value } as docker does: keys
--- case-insensitive, a later key overriding an earlier one, booleans bare
--- or with a Go boolean.  Returns the options and the set of option
--- families used ("bind", "volume", "tmpfs", "image").  Denies what docker
--- would refuse as "mount malformed".
local function read_mount_csv(value)
	local function malformed(fmt, ...)
		deny("mount malformed: %s (" .. fmt .. ")", value, ...)
	end
	if value == "" then malformed("empty") end
	if sfind(value, "%c") then malformed("control characters") end
	local fields, why = parse_csv(value)
	if not fields then malformed("%s", why) end
	local opts, families = {}, {}
	for _, field in ipairs(fields) do
		local raw, val = smatch(field, "^([^=]*)=(.*)$")
		if not raw then raw = field end
		local key = MOUNT_KEYS[ascii_lower(raw)]
		if val == nil then
			if not MOUNT_BOOLS[key] then malformed("'%s' must be a key=value pair", field) end
			val = true
		elseif not key then
			malformed("unknown key '%s'", raw)
		elseif MOUNT_BOOLS[key] then
			if GO_BOOLS[val] == nil then malformed("invalid value for %s: %s", raw, val) end
			val = GO_BOOLS[val]
		elseif key == "type" or key == "consistency" or key == "bind-propagation" then
			val = ascii_lower(val)
			if key == "consistency" and not MOUNT_CONSISTENCY[val] then
				malformed("invalid value for %s: %s", raw, val)
			end
		elseif key == "bind-recursive" then
			if val ~= "enabled" and val ~= "disabled" and val ~= "writable" and val ~= "readonly" then
				malformed("invalid value for %s: %s", raw, val)
			end
		elseif key == "tmpfs-size" and not go_ram_size(val) then
			malformed("invalid value for %s: %s", raw, val)
		elseif key == "tmpfs-mode" and not go_octal32(val) then
			malformed("invalid value for %s: %s", raw, val)
		end
		opts[key] = val
		local family = smatch(key, "^(%l+)%-")
		if family and not (key == "bind-recursive" and val == "enabled") then
			families[family] = true
		end
	end
	return opts, families
end

--- Refuses a --mount option that a --volume value cannot express.
local function inexpressible(value, what)
	deny("mount not allowed: %s (%s cannot be passed on as a -v mount)", value, what)
end

--- The --tmpfs-style value of a tmpfs mount without options, for an exact
--- ARGS_AVAILABLE entry such as "--tmpfs=/tmp"; nil when it has options.
local function tmpfs_plain(opts, container)
	if opts.readonly or opts["tmpfs-size"] or opts["tmpfs-mode"] then return nil end
	return container
end

--- Allows a tmpfs mount only where --tmpfs is allowed (ARGS_AVAILABLE.run).
local function check_tmpfs_allowed(st, value, plain)
	local rule = st.available["--tmpfs"]
	if rule == true or (rule and plain and rule[plain]) then
		note(st, "mount %s: tmpfs, --tmpfs is in ARGS_AVAILABLE.run", value)
		return
	end
	if rule then
		local only = {}
		for _, v in ipairs(sorted_keys(rule)) do only[#only + 1] = "--tmpfs=" .. v end
		deny("mount not allowed: %s (tmpfs mounts are limited to %s)", value, join(only))
	end
	deny("mount not allowed: %s (tmpfs mounts need --tmpfs, which is not allowed here)", value)
end

--- Parses a user's --mount value into a mount item.  Binds and volumes are
--- judged like -v later; a tmpfs mount is allowed (or denied) here and
--- carries the canonical --mount value it goes on with.
local function parse_mount_option(st, value)
	local opts, families = read_mount_csv(value)
	if opts["volume-driver"] ~= nil or opts["volume-opt"] ~= nil then
		deny("mount not allowed: %s (volume-driver and volume-opt are never allowed:"
			.. " a volume driver can mount any host path)", value)
	end
	local mtype = opts.type or "volume"
	if mtype == "" then deny("mount malformed: %s (type is required)", value) end
	if (opts.target or "") == "" then deny("mount malformed: %s (target is required)", value) end
	for _, family in ipairs(sorted_keys(families)) do
		if family ~= mtype then
			deny("mount malformed: %s (cannot mix '%s-*' options with type=%s)", value, family, mtype)
		end
	end
	local source = opts.source or ""
	if mtype == "bind" then
		local prop = opts["bind-propagation"]
		if prop and prop ~= "rprivate" then inexpressible(value, "bind-propagation=" .. prop) end
		if opts["bind-nonrecursive"] then inexpressible(value, "bind-nonrecursive") end
		local rec = opts["bind-recursive"]
		if rec and rec ~= "enabled" then inexpressible(value, "bind-recursive=" .. rec) end
		if source == "" then deny("mount malformed: %s (type=bind needs a source)", value) end
		if ssub(source, 1, 1) ~= "/" then deny("mount not allowed: %s (host path must be absolute)", value) end
		if sfind(source, ":", 1, true) then
			deny("mount not allowed: %s (host path must not contain ':')", value)
		end
		return {
			type = "bind", host = source, container = user_container(value, opts.target),
			flags = opts.readonly and "ro" or "", spec = value,
		}
	elseif mtype == "volume" then
		if opts["volume-label"] then inexpressible(value, "volume-label") end
		if opts["volume-subpath"] then inexpressible(value, "volume-subpath") end
		local container = user_container(value, opts.target)
		if source == "" then
			if opts.readonly then inexpressible(value, "a read-only anonymous volume") end
			if opts["volume-nocopy"] then inexpressible(value, "volume-nocopy on an anonymous volume") end
			return { type = "anonymous", container = container, spec = value }
		end
		check_volume_name(value, source)
		local flags = {}
		if opts["volume-nocopy"] then flags[#flags + 1] = "nocopy" end
		if opts.readonly then flags[#flags + 1] = "ro" end
		return { type = "volume", name = source, container = container, flags = tconcat(flags, ","),
			spec = value }
	elseif mtype == "tmpfs" then
		if source ~= "" then deny("mount malformed: %s (type=tmpfs takes no source)", value) end
		local container = user_container(value, opts.target)
		check_tmpfs_allowed(st, value, tmpfs_plain(opts, container))
		local fields = { "type=tmpfs", csv_field("target=" .. container) }
		if opts.readonly then fields[#fields + 1] = "readonly" end
		for _, k in ipairs({ "tmpfs-size", "tmpfs-mode" }) do
			if opts[k] then fields[#fields + 1] = csv_field(k .. "=" .. opts[k]) end
		end
		return { type = "tmpfs", container = container, spec = value, canonical = tconcat(fields, ",") }
	end
	deny("mount not allowed: %s (type=%s is not allowed; use bind, volume or tmpfs)", value, mtype)
end

--- Checks a --tmpfs value "/ctr[:opt,...]": absolute container path, known
--- harmless options, no further ':'.  Returns the container path and the
--- value with the path normalised.
local function parse_tmpfs_option(value)
	if sfind(value, "%c") then deny("tmpfs malformed: %s (control characters)", value) end
	local path, options = smatch(value, "^([^:]*):(.*)$")
	if not path then path = value end
	if not is_abs(path) then deny("tmpfs not allowed: %s (container path must be absolute)", value) end
	local container = normalize_path(path)
	if container == "/" then deny("tmpfs not allowed: %s (container path must not be /)", value) end
	if options == nil or options == "" then return container, container end
	for opt in sgmatch(options .. ",", "([^,]*),") do
		local key, val = smatch(opt, "^([^=]*)=(.*)$")
		if opt == "" then
			deny("tmpfs malformed: %s (empty option)", value)
		elseif key then
			if not TMPFS_DATA[key] or not smatch(val, TMPFS_DATA[key]) then
				deny("tmpfs option not allowed: %s (%s)", value, opt)
			end
		elseif not TMPFS_FLAGS[opt] then
			deny("tmpfs option not allowed: %s (%s)", value, opt)
		end
	end
	return container, container .. ":" .. options
end

--- The container path an entry gives a user mount, or nil when the user's
--- container path does not fit the entry.
local function entry_container(entry, rel, container)
	if entry.container == "" then return container end
	local want = entry.sub and path_join(entry.container, rel) or entry.container
	if want == container then return want end
	return nil
end

--- Final flags for a user mount under an entry, or nil when not allowed.
local function entry_flags(entry, flags)
	if entry.flags ~= "" then
		if flags == "" or flags == entry.flags then return entry.flags end
		return nil
	end
	if flags == "" or flags == "ro" or flags == "rw" then return flags end
	return nil
end

--- Matches a user mount against one admin entry.  Returns the final flags
--- on a match, false when only the flags differ, nil otherwise.
local function match_entry(st, entry, real, container, flags)
	local root = admin_root(st, entry)
	if not root then return nil end
	local rel
	if entry.sub then
		rel = path_below(real, root)
	elseif real == root then
		rel = ""
	end
	if rel == nil or entry_container(entry, rel, container) == nil then return nil end
	return entry_flags(entry, flags) or false
end

--- The bind mount a user's -v or --mount type=bind asks for, checked
--- against every admin entry.
local function user_bind(st, item)
	local spec = item.spec
	local real = resolve_source(st, item.host, spec)
	local flag_miss
	for _, entry in ipairs(st.mount_entries) do
		local final = match_entry(st, entry, real, item.container, item.flags)
		if final then
			note(st, "mount %s: allowed by %s in %s", spec, entry.spec,
				from(st, "VOLUME_MOUNTS_" .. entry.origin:upper()))
			return {
				type = "bind", host = real, container = item.container, flags = final,
				kind = source_kind(st, spec, real), spec = spec,
			}
		elseif final == false then
			flag_miss = flag_miss or entry
		end
	end
	if flag_miss then
		deny("mount flags not allowed: %s (allowed: %s)", spec,
			flag_miss.flags ~= "" and flag_miss.flags or "ro, rw")
	end
	if real ~= item.host then
		deny("mount not allowed: %s (it resolves to %s; allowed: %s)", spec, real, allowed_specs(st))
	end
	deny("mount not allowed: %s (allowed: %s)", spec, allowed_specs(st))
end

--- True for a name of the form docker gives anonymous volumes (64 hex
--- digits): those belong to other containers, whatever the patterns say.
local function anonymous_volume_name(name)
	return #name == 64 and smatch(name, "^[0-9a-f]+$") ~= nil
end

--- A named volume: its name must match VOLUME_NAMED_REGEXPS.
local function user_volume(st, item)
	local list = st.settings.VOLUME_NAMED_REGEXPS
	if anonymous_volume_name(item.name) then
		deny("named volume not allowed: %s (%s is the name of an anonymous volume)", item.spec, item.name)
	end
	local re = first_match(st, "VOLUME_NAMED_REGEXPS", item.name)
	if not re then deny("named volume not allowed: %s (allowed names: %s)", item.spec, join(list)) end
	note(st, "mount %s: volume %s matches %s in %s", item.spec, item.name, re, from(st, "VOLUME_NAMED_REGEXPS"))
	return item
end

--- An anonymous volume: allowed with VOLUME_ANONYMOUS.
local function user_anonymous(st, item)
	if not st.settings.VOLUME_ANONYMOUS then
		deny("anonymous volume not allowed: %s (anonymous volumes are disabled here)", item.spec)
	end
	note(st, "mount %s: anonymous volume, allowed by %s", item.spec, from(st, "VOLUME_ANONYMOUS"))
	return item
end

--- The source a mount is compared by when container paths meet.
local function mount_source(m)
	if m.type == "bind" then return m.host end
	if m.type == "volume" then return m.name end
	return ""
end

--- Adds a mount: one with the same source and container path as an
--- earlier mount replaces it (e.g. adds :ro); a clash on the container path
--- with a different source is refused.  Tmpfs mounts are only recorded for
--- this check (they go on as options); docker lets a later --tmpfs for a
--- path replace an earlier one.
local function merge_mount(mounts, m)
	for i, old in ipairs(mounts) do
		if old.container == m.container then
			if old.type ~= m.type or mount_source(old) ~= mount_source(m) then
				deny("mount not allowed: %s (container path %s is already used by %s)",
					m.spec, m.container, old.spec)
			end
			mounts[i] = m
			return
		end
	end
	mounts[#mounts + 1] = m
end

--- Lists every mounted directory so automounts are up before docker runs.
local function probe_mounts(st, mounts)
	if not st.settings.PROBE_USED_MOUNTS then return end
	for _, m in ipairs(mounts) do
		if m.type == "bind" and m.kind == "dir" then
			local ok, err = st.host.probe(m.host)
			if not ok then deny("mount source not readable: %s%s", m.host, reason(m.host, err)) end
		end
	end
end

--- Judges one user mount item.
local USER_MOUNT = {
	bind = user_bind, volume = user_volume, anonymous = user_anonymous,
	tmpfs = function(_, item) return item end,
}

--- The final mounts: always, default (unless --no-default-mounts), then the
--- user's in argv order.
local function build_mounts(st, items, no_default)
	local mounts = {}
	for _, e in ipairs(st.mount_lists.always) do
		note(st, "mount %s: added by %s", e.spec, from(st, "VOLUME_MOUNTS_ALWAYS"))
		merge_mount(mounts, mount_from_admin(st, e))
	end
	for _, e in ipairs(st.mount_lists.default) do
		if no_default then
			note(st, "mount %s: default, skipped (--no-default-mounts)", e.spec)
		else
			note(st, "mount %s: added by %s", e.spec, from(st, "VOLUME_MOUNTS_DEFAULT"))
			merge_mount(mounts, mount_from_admin(st, e))
		end
	end
	for _, item in ipairs(items) do merge_mount(mounts, USER_MOUNT[item.type](st, item)) end
	probe_mounts(st, mounts)
	return mounts
end

--- The --volume value for a mount ("/host:/ctr", "name:/ctr:ro", "/ctr"),
--- or nil for a tmpfs mount (it goes on as an option).
local function volume_value(m)
	local v
	if m.type == "bind" then
		v = m.host .. ":" .. m.container
	elseif m.type == "volume" then
		v = m.name .. ":" .. m.container
	elseif m.type == "anonymous" then
		return m.container
	else
		return nil
	end
	if m.flags ~= "" then v = v .. ":" .. m.flags end
	return v
end

-- ===================================================================
-- GPUs
-- ===================================================================
--
-- host.gpus(NVIDIA_SMI) lists the machine's GPUs, ascending by index:
-- { index, memory_used (MiB), users = { { uid, id }, ... } }, users being
-- the running userdocker containers that reserved the GPU.  It takes a
-- machine-wide lock (held until the container is up), so it is called
-- only when a GPU decision is needed, and after every other check.

--- An integer from a host answer (integral floats accepted), or nil.
local function host_integer(v)
	if type(v) ~= "number" then return nil end
	return mtointeger(v)
end

--- host.gpus(NVIDIA_SMI), its answer checked and copied.  A malformed
--- answer is an error (fail closed), never a guess.
local function read_gpus(st)
	local fn = st.host.gpus
	if type(fn) ~= "function" then error("host.gpus: not provided", 0) end
	local list = fn(st.settings.NVIDIA_SMI)
	if type(list) ~= "table" or not is_list(list) then error("host.gpus: a list expected", 0) end
	local out, prev = {}, -1
	for i, g in ipairs(list) do
		local where = sformat("host.gpus: GPU entry %d", i)
		if type(g) ~= "table" then error(where .. ": table expected", 0) end
		local index, mem = host_integer(g.index), host_integer(g.memory_used)
		if not index or index < 0 then error(where .. ": index must be a non-negative integer", 0) end
		if index <= prev then error(where .. ": indexes must be ascending and unique", 0) end
		if not mem or mem < 0 then error(where .. ": memory_used must be a non-negative integer", 0) end
		if type(g.users) ~= "table" or not is_list(g.users) then error(where .. ": users must be a list", 0) end
		local users = {}
		for j, u in ipairs(g.users) do
			local uid = type(u) == "table" and host_integer(u.uid)
			if not uid or uid < 0 then error(sformat("%s: users[%d].uid must be an integer", where, j), 0) end
			if type(u.id) ~= "string" or #u.id ~= 64 or not smatch(u.id, "^[0-9a-f]+$") then
				error(sformat("%s: users[%d].id must be a 64-digit container id", where, j), 0)
			end
			users[j] = { uid = uid, id = u.id }
		end
		out[i] = { index = index, memory_used = mem, users = users }
		prev = index
	end
	note(st, "GPUs: %d found by %s", #out, st.settings.NVIDIA_SMI)
	return out
end

--- The GPUs of a host.gpus list that NV_ALLOWED_GPUS allows, in order.
local function allowed_gpus(st, gpus)
	local allow = st.settings.NV_ALLOWED_GPUS
	local set = allow ~= "ALL" and set_of(allow) or nil
	local list = {}
	for _, g in ipairs(gpus) do
		if set == nil or set[g.index] then list[#list + 1] = g end
	end
	return list
end

--- The indexes of a GPU list, as strings.
local function gpu_indexes(list)
	local out = {}
	for i, g in ipairs(list) do out[i] = tostring(g.index) end
	return out
end

--- True when every container using g (at least one) is the caller's.
local function only_mine(st, g)
	if #g.users == 0 then return false end
	for _, u in ipairs(g.users) do
		if u.uid ~= st.caller.uid then return false end
	end
	return true
end

--- Why GPU g cannot be reserved now, or nil when it can.  explicit: the
--- user named it in NV_GPU, so with NV_ALLOW_OWN_GPU_REUSE a GPU only the
--- caller's own containers use is theirs to share (its memory is theirs too).
local function gpu_unavailable(st, g, explicit)
	local s = st.settings
	if explicit and s.NV_ALLOW_OWN_GPU_REUSE and only_mine(st, g) then return nil end
	if s.NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION and #g.users > 0 then
		return "in use by another container"
	end
	local limit = s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED
	if limit >= 0 and g.memory_used > limit then
		return sformat("memory used %d MiB > %d", g.memory_used, limit)
	end
	return nil
end

--- The GPUs named in NV_GPU (value): strictly "1,3" (decimal indexes, no
--- signs, spaces, leading zeros or empty fields), no duplicates, each on
--- the machine and allowed, not more than NV_MAX_GPU_COUNT_RESERVATION, and
--- each available.  Returns their indexes, ascending.
local function requested_gpus(st, value, gpus, allowed)
	local function refuse(fmt, ...)
		deny("NV_GPU not allowed: %s (%s; allowed GPUs: %s)", value, sformat(fmt, ...),
			join(gpu_indexes(allowed)))
	end
	if value == "" then refuse("empty; unset it for the default") end
	local items = {}
	for item in sgmatch(value .. ",", "([^,]*),") do
		if item ~= "0" and not smatch(item, "^[1-9]%d*$") then
			refuse("expected GPU indexes separated by commas, e.g. 1,3")
		end
		items[#items + 1] = item
	end
	local seen = {}
	for _, item in ipairs(items) do
		if seen[item] then refuse("GPU %s is given twice", item) end
		seen[item] = true
	end
	local max = st.settings.NV_MAX_GPU_COUNT_RESERVATION
	if max >= 0 and #items > max then refuse("%d GPUs requested, at most %d allowed", #items, max) end
	local present, permitted = {}, {}
	for _, g in ipairs(gpus) do present[g.index] = g end
	for _, g in ipairs(allowed) do permitted[g.index] = true end
	local picked = {}
	for _, item in ipairs(items) do
		local index = mtointeger(tonumber(item))
		if index == nil or present[index] == nil then refuse("there is no GPU %s", item) end
		if not permitted[index] then refuse("GPU %s is not allowed", item) end
		picked[#picked + 1] = present[index]
	end
	local out = {}
	for _, g in ipairs(picked) do
		local why = gpu_unavailable(st, g, true)
		if why then deny("GPU not available: %d (%s)", g.index, why) end
		if #g.users > 0 then note(st, "GPU %d: shared with your own containers", g.index) end
		out[#out + 1] = g.index
	end
	tsort(out)
	return out
end

--- The GPUs free for a default reservation (NV_ALLOWED_GPUS, available,
--- no reuse of the caller's own), in index order.
local function free_gpus(st, allowed)
	local free = {}
	for _, g in ipairs(allowed) do
		if not gpu_unavailable(st, g, false) then free[#free + 1] = g end
	end
	return free
end

--- NV_DEFAULT_GPU_COUNT_RESERVATION free GPUs, least used first (fewest
--- containers, then least memory used, then lowest index).  Returns their
--- indexes, ascending.
local function default_gpus(st, allowed)
	local want = st.settings.NV_DEFAULT_GPU_COUNT_RESERVATION
	local free = free_gpus(st, allowed)
	if #free < want then
		deny("not enough free GPUs: wanted %d (free: %s)", want, join(gpu_indexes(free)))
	end
	local order = {}
	for i, g in ipairs(free) do order[i] = g end
	tsort(order, function(a, b)
		if #a.users ~= #b.users then return #a.users < #b.users end
		if a.memory_used ~= b.memory_used then return a.memory_used < b.memory_used end
		return a.index < b.index
	end)
	local out = {}
	for i = 1, want do out[i] = order[i].index end
	tsort(out)
	return out
end

--- The GPUs a run with a GPU executor gets: NV_GPU's, or the default count
--- (none when it is 0: then host.gpus is not asked).
local function reserve_gpus(st)
	local value = st.ctx.nv_gpu
	if value == nil and st.settings.NV_DEFAULT_GPU_COUNT_RESERVATION == 0 then
		note(st, "GPUs: none (NV_GPU unset, NV_DEFAULT_GPU_COUNT_RESERVATION = 0)")
		return {}
	end
	local gpus = read_gpus(st)
	local allowed = allowed_gpus(st, gpus)
	local list
	if value ~= nil then
		list = requested_gpus(st, value, gpus, allowed)
		note(st, "GPUs: NV_GPU=%s reserved (limits: %s, %s)", value, from(st, "NV_ALLOWED_GPUS"),
			from(st, "NV_MAX_GPU_COUNT_RESERVATION"))
	else
		list = default_gpus(st, allowed)
		note(st, "GPUs: %s reserved by default, least used first (%s)", tconcat(list, ","),
			from(st, "NV_DEFAULT_GPU_COUNT_RESERVATION"))
	end
	return list
end

--- Adds the GPU options of the executor's mode for the reserved GPUs
--- (gpus, "1,3" or "": then nothing is added).
local function push_gpu_options(st, out, gpus)
	local mode = st.gpu_mode
	if gpus == "" then
		-- nothing (the C side refuses any GPU option without a reservation)
	elseif mode == "gpus" then
		-- docker reads --gpus as CSV: a list of devices must be quoted
		push(out, "--gpus", '"device=' .. gpus .. '"')
	elseif mode == "runtime" then
		push(out, "--runtime", "nvidia")
		push(out, "--env", "NVIDIA_VISIBLE_DEVICES=" .. gpus)
	end
	-- legacy: the C side passes NV_GPU=<gpus> to the executor
	note(st, "GPUs: %s (mode %s)", gpus == "" and "none" or gpus, mode)
end

--- A run option that could give GPUs past the reservation, with a GPU
--- executor: --gpus and --runtime are never the user's.
local function refuse_gpu_option(st, name, value)
	deny("run option not allowed: %s=%s (GPUs are reserved by userdocker with the executor %s:"
		.. " set NV_GPU=1,3 in your environment instead)", name, value, st.executor)
end

--- --device with a GPU executor: only a value ARGS_AVAILABLE.run lists
--- exactly (a device path may be a symlink to a GPU).
local function check_gpu_device(st, value)
	-- Root refuses these whatever the policy says; say so before any GPU
	-- is reserved (nvidia-smi is not even run).
	if sfind(value, "^/dev/nvidia") then
		deny("option not allowed: --device=%s (GPUs come from the reservation)", value)
	end
	local rule = st.available["--device"]
	if rule and not (st.exact["--device"] and st.exact["--device"][value]) then
		deny("run option not allowed: --device=%s (with the GPU executor %s only the exact"
			.. " --device values of the admin are allowed: GPUs are reserved by userdocker)",
			value, st.executor)
	end
	return check_option(st, { name = "--device", value = value })
end

--- ps --gpu-used / --gpu-used-mine / --gpu-free as a text table.
local function gpu_views_text(st, views)
	local gpus = read_gpus(st)
	local lines = {}
	local function section(title, rows)
		lines[#lines + 1] = title
		for _, r in ipairs(rows) do lines[#lines + 1] = r end
		if #rows == 0 then lines[#lines + 1] = "none" end
	end
	if views["--gpu-used"] then
		local rows = {}
		for _, g in ipairs(gpus) do
			if #g.users > 0 then
				local uids, seen = {}, {}
				for _, u in ipairs(g.users) do
					if not seen[u.uid] then uids[#uids + 1], seen[u.uid] = u.uid, true end
				end
				tsort(uids)
				rows[#rows + 1] = sformat("GPU %d  %d MiB  used by: %s", g.index, g.memory_used, tconcat(uids, ", "))
			end
		end
		section("GPUs used by containers (users' uids):", rows)
	end
	if views["--gpu-used-mine"] then
		local rows = {}
		for _, g in ipairs(gpus) do
			local ids = {}
			for _, u in ipairs(g.users) do
				if u.uid == st.caller.uid then ids[#ids + 1] = ssub(u.id, 1, 12) end
			end
			if #ids > 0 then
				rows[#rows + 1] = sformat("GPU %d  %d MiB  your containers: %s", g.index, g.memory_used,
					tconcat(ids, ", "))
			end
		end
		section("GPUs used by your containers:", rows)
	end
	if views["--gpu-free"] then
		local rows = {}
		for _, g in ipairs(free_gpus(st, allowed_gpus(st, gpus))) do
			rows[#rows + 1] = sformat("GPU %d  %d MiB", g.index, g.memory_used)
		end
		section("GPUs free for you (memory used):", rows)
	end
	return tconcat(lines, "\n") .. "\n"
end

-- ===================================================================
-- Subcommands
-- ===================================================================

--- run: options, image, mounts, env, then the forced options.
local function decide_run(st, req)
	local items, no_default = {}, false
	local special = {
		["--volume"] = function(_, v)
			items[#items + 1] = parse_volume_option(v)
			return false
		end,
		["--mount"] = function(_, v)
			local item = parse_mount_option(st, v)
			items[#items + 1] = item
			return item.canonical or false
		end,
		["--tmpfs"] = function(_, v)
			local container, canon = parse_tmpfs_option(v)
			if not check_option(st, { name = "--tmpfs", value = canon }) then return false end
			items[#items + 1] = { type = "tmpfs", container = container, spec = v }
			return canon
		end,
		["--volumes-from"] = function()
			deny("run option not allowed: --volumes-from (%s)", RUN_NEVER["--volumes-from"])
		end,
		["--volume-driver"] = function()
			deny("run option not allowed: --volume-driver (%s)", RUN_NEVER["--volume-driver"])
		end,
		["--no-default-mounts"] = function(_, v)
			if v ~= "true" and v ~= "false" then deny("option malformed: --no-default-mounts=%s", v) end
			no_default = v == "true"
			return false
		end,
		["--publish"] = check_port,
		["--env"] = check_env,
		["--label"] = check_label,
	}
	if st.gpu_mode then
		for name in pairs(RUN_GPU_OPTIONS) do
			special[name] = function(_, v) refuse_gpu_option(st, name, v) end
		end
		special["--device"] = check_gpu_device
	end
	local out = filter_options(st, req.options, special)
	local args = {}
	for i, a in ipairs(req.args) do args[i] = a end
	if args[1] then args[1] = normalize_image(args[1]) end
	check_image(st, args[1])
	local s = st.settings
	if s.RUN_PULL ~= "default" then push(out, "--pull", s.RUN_PULL) end
	for _, m in ipairs(build_mounts(st, items, no_default)) do
		local v = volume_value(m)
		if v then push(out, "--volume", v) end
	end
	for _, e in ipairs(s.ENV_VARS) do push(out, "--env", e) end
	for _, e in ipairs(s.ENV_VARS_EXT[st.executor] or {}) do push(out, "--env", e) end
	if st.gpu_mode then
		-- last of the checks: host.gpus takes the machine-wide GPU lock
		st.gpus = tconcat(reserve_gpus(st), ",")
		push_gpu_options(st, out, st.gpus)
	elseif st.ctx.nv_gpu ~= nil then
		note(st, "NV_GPU ignored: the executor %s has no GPU mode (NV_EXECUTOR_MODES)", st.executor)
	end
	if s.USER_IN_CONTAINER then
		push(out, "--user", sformat("%d:%d", st.caller.uid, st.caller.gid))
	end
	for _, c in ipairs(s.CAPS_DROP) do push(out, "--cap-drop", c) end
	for _, c in ipairs(s.CAPS_ADD) do push(out, "--cap-add", c) end
	if s.NO_NEW_PRIVILEGES then push(out, "--security-opt", "no-new-privileges") end
	return out, args
end

--- pull: options, and the image must be allowed.  With --all-tags docker
--- takes a bare name, which is then matched as given.
local function decide_pull(st, req)
	local out = filter_options(st, req.options)
	local all_tags = false
	for _, o in ipairs(out) do
		if o.name == "--all-tags" then all_tags = o.value == "true" end
	end
	local args = {}
	for i, a in ipairs(req.args) do args[i] = a end
	if #args > 1 then deny("pull takes one image, got %s arguments", #args) end
	if args[1] and not all_tags then args[1] = normalize_image(args[1]) end
	check_image(st, args[1])
	return out, args
end

--- images, ps, load, version, attach, dockviz: options only; positionals
--- (images' REPOSITORY, attach's container) go on unchanged.
local function decide_plain(st, req)
	local args = {}
	for i, a in ipairs(req.args) do args[i] = a end
	return filter_options(st, req.options), args
end

--- ps: options, and only the caller's containers unless PS_SHOW_ALL.
--- userdocker's own --gpu-used, --gpu-used-mine and --gpu-free (not in
--- ARGS_AVAILABLE) print GPU tables instead when one of them is true;
--- given as false they are dropped.
local function decide_ps(st, req, ctx)
	local views, any, rest = {}, false, {}
	local is_view = set_of(PS_GPU_VIEWS)
	for _, o in ipairs(req.options) do
		if is_view[o.name] then
			if o.value ~= "true" and o.value ~= "false" then deny("option malformed: %s=%s", o.name, o.value) end
			views[o.name] = o.value == "true"
		else
			rest[#rest + 1] = o
		end
	end
	for _, name in ipairs(PS_GPU_VIEWS) do any = any or views[name] == true end
	local out, args = decide_plain(st, { options = rest, args = req.args })
	if any then return nil, nil, gpu_views_text(st, views) end
	if not st.settings.PS_SHOW_ALL then
		out[#out + 1] = { name = "--filter",
			value = "label=userdocker.owner.uid=" .. tostring(ctx.caller.uid) }
	end
	return out, args
end

local DECIDERS = { run = decide_run, pull = decide_pull, ps = decide_ps }

-- ===================================================================
-- Help
-- ===================================================================

--- One ARGS_AVAILABLE entry as shown in help: "-t, --tty", "--shm-size=1g".
local function help_entry(entry)
	if type(entry) == "table" then return tconcat(entry, ", ") end
	if sfind(entry, "=", 1, true) then return entry .. "  (only this value)" end
	return entry
end

--- Global help: userdocker's options and only the allowed subcommands.
local function help_global(s)
	local exes = {}
	for _, name in ipairs(sorted_keys(s.EXECUTORS)) do
		exes[#exes + 1] = name == s.EXECUTOR_DEFAULT and name .. " (default)" or name
	end
	local lines = {
		"Usage: userdocker [OPTIONS] SUBCOMMAND [ARGS...]",
		"",
		"Runs docker for you, within the limits your administrator set.",
		"",
		"Options:",
		"  -h, --help       show this help (SUBCOMMAND --help for a subcommand)",
		"  --version        show userdocker's version",
		"  -q, --quiet      show warnings and errors only",
		"  --debug          show the configuration files, settings and decision",
		"  -n, --dry-run    show the docker command instead of running it",
		"  --explain        show how the request is decided, rule by rule, and run nothing",
		"  --executor NAME  one of: " .. join(exes),
		"",
		"Subcommands:",
	}
	local subs = {}
	for _, name in ipairs(s.ALLOWED_SUBCOMMANDS) do subs[name] = true end
	for _, name in ipairs(sorted_keys(subs)) do
		lines[#lines + 1] = sformat("  %-9s %s", name, SUBCOMMANDS[name])
	end
	return tconcat(lines, "\n") .. "\n"
end

--- Usage line of a subcommand.
local USAGE = {
	run = "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
	pull = "pull [OPTIONS] NAME[:TAG|@DIGEST]",
	images = "images [OPTIONS] [REPOSITORY[:TAG]]",
	attach = "attach [OPTIONS] CONTAINER",
	exec = "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
	logs = "logs [OPTIONS] CONTAINER",
	top = "top CONTAINER",
	port = "port CONTAINER [PRIVATE_PORT[/PROTO]]",
}

--- True when an ARGS_AVAILABLE list has an entry for the option name
--- (as written: help has no flag table to resolve aliases).
local function lists_option(list, name)
	for _, entry in ipairs(list or {}) do
		for _, e in ipairs(type(entry) == "table" and entry or { entry }) do
			if split_assign(e) == name then return true end
		end
	end
	return false
end

--- The executors (of EXECUTORS) that have a GPU mode, sorted.
local function gpu_executors(s)
	local list = {}
	for _, name in ipairs(sorted_keys(s.EXECUTORS)) do
		if s.NV_EXECUTOR_MODES[name] then list[#list + 1] = name end
	end
	return list
end

--- The GPU section of run's help, when an executor has a GPU mode.
local function help_gpus(s, lines)
	local exes = gpu_executors(s)
	if #exes == 0 then return end
	local shown = {}
	for i, name in ipairs(exes) do
		shown[i] = "--executor " .. name .. (name == s.EXECUTOR_DEFAULT and " (the default)" or "")
	end
	local allowed = s.NV_ALLOWED_GPUS == "ALL" and "all" or join(s.NV_ALLOWED_GPUS)
	local n, max = s.NV_DEFAULT_GPU_COUNT_RESERVATION, s.NV_MAX_GPU_COUNT_RESERVATION
	lines[#lines + 1] = ""
	lines[#lines + 1] = "GPUs (with " .. join(shown) .. "):"
	lines[#lines + 1] = "  Choose them with NV_GPU in your environment: GPU indexes as nvidia-smi shows them,"
		.. " separated by commas, e.g."
	lines[#lines + 1] = "    NV_GPU=1,3 userdocker --executor " .. exes[1] .. " run ..."
	if n == 0 then
		lines[#lines + 1] = "  Without NV_GPU the container gets no GPU."
	else
		lines[#lines + 1] = sformat("  Without NV_GPU you get %d free GPU%s, the least used first.", n,
			n == 1 and "" or "s")
	end
	lines[#lines + 1] = "  GPUs you may use: " .. allowed
	lines[#lines + 1] = "  GPUs per container: " .. (max < 0 and "no limit" or "at most " .. max)
	if s.NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION then
		lines[#lines + 1] = "  A GPU a container uses is not given to another one."
	end
	if s.NV_ALLOW_OWN_GPU_REUSE then
		lines[#lines + 1] = "  A GPU only your own containers use is yours to share: name it in NV_GPU."
	end
	if s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED >= 0 then
		lines[#lines + 1] = sformat("  A GPU with more than %d MiB of memory in use is busy.",
			s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED)
	end
	lines[#lines + 1] = "  --gpus, --runtime and the GPU variables in -e are not allowed there."
	lines[#lines + 1] = "  See userdocker ps --gpu-free, --gpu-used, --gpu-used-mine."
end

--- The allowed and forced options of a subcommand, as help lines.
local function help_options(s, sub, lines)
	lines[#lines + 1] = "Options you may use:"
	local n = #lines
	for _, entry in ipairs(s.ARGS_AVAILABLE[sub] or {}) do
		local name = type(entry) == "table" and entry[#entry] or split_assign(entry)
		if not (sub == "run" and RUN_DEDICATED[name]) then
			lines[#lines + 1] = "  " .. help_entry(entry)
		end
	end
	if sub == "run" then
		lines[#lines + 1] = "  --no-default-mounts  do not add the default mounts"
		lines[#lines + 1] = "  -v, --volume HOST:CONTAINER[:ro|rw]  one of the mounts below"
		if #s.VOLUME_NAMED_REGEXPS > 0 then
			lines[#lines + 1] = "  -v, --volume NAME:CONTAINER[:ro|rw]  a named volume (names below)"
		end
		if s.VOLUME_ANONYMOUS then
			lines[#lines + 1] = "  -v, --volume CONTAINER  an anonymous volume (removed with the container by --rm)"
		end
		lines[#lines + 1] = "  --mount type=bind|volume,src=SOURCE,dst=CONTAINER[,readonly]  the same as -v"
		if lists_option(s.ARGS_AVAILABLE.run, "--tmpfs") then
			lines[#lines + 1] = "  --mount type=tmpfs,dst=CONTAINER[,...]  as --tmpfs allows"
		end
		lines[#lines + 1] = "  -e, --env KEY=VALUE  (not USERDOCKER*, NV_GPU, NVIDIA_VISIBLE_DEVICES,"
			.. " CUDA_VISIBLE_DEVICES, NVIDIA_DRIVER_CAPABILITIES)"
		if #s.ALLOWED_PORT_MAPPINGS > 0 then
			lines[#lines + 1] = "  -p, --publish MAPPING  see port mappings below"
		end
	end
	if sub == "ps" and #gpu_executors(s) > 0 then
		lines[#lines + 1] = "  --gpu-used       list the GPUs containers use, with their users' uids"
		lines[#lines + 1] = "  --gpu-used-mine  list the GPUs your containers use, with the containers"
		lines[#lines + 1] = "  --gpu-free       list the GPUs free for you"
	end
	if #lines == n then lines[#lines + 1] = "  none" end
	local always = s.ARGS_ALWAYS[sub] or {}
	if #always > 0 then lines[#lines + 1] = "Always added: " .. join(always) end
end

--- The run-specific sections: mounts, images, ports, pulling.
local function help_run(s, lines)
	lines[#lines + 1] = ""
	lines[#lines + 1] = "Mounts (HOST:CONTAINER[:FLAGS]; an empty CONTAINER is yours to choose,"
		.. " HOST/** allows any path below HOST):"
	for _, sec in ipairs({ { "always", "VOLUME_MOUNTS_ALWAYS" },
		{ "default", "VOLUME_MOUNTS_DEFAULT" }, { "available", "VOLUME_MOUNTS_AVAILABLE" } }) do
		lines[#lines + 1] = sformat("  %-10s %s", sec[1] .. ":", join(s[sec[2]]))
	end
	lines[#lines + 1] = ""
	if #s.VOLUME_NAMED_REGEXPS > 0 then
		lines[#lines + 1] = "Named volumes (-v NAME:CONTAINER, --mount type=volume,src=NAME,dst=CONTAINER):"
			.. " the name must match one of:"
		lines[#lines + 1] = "  " .. join(s.VOLUME_NAMED_REGEXPS)
	else
		lines[#lines + 1] = "Named volumes: not allowed"
	end
	lines[#lines + 1] = "Anonymous volumes (-v CONTAINER, --mount type=volume,dst=CONTAINER): "
		.. (s.VOLUME_ANONYMOUS and "allowed" or "not allowed")
	lines[#lines + 1] = "Never allowed: --volumes-from, --volume-driver, --mount volume-driver/volume-opt,"
		.. " relative host paths (./x, ~/x)"
	lines[#lines + 1] = ""
	lines[#lines + 1] = "Images (with :latest added when no tag is given) must match one of:"
	lines[#lines + 1] = "  " .. join(s.ALLOWED_IMAGE_REGEXPS)
	if #s.ALLOWED_PORT_MAPPINGS > 0 then
		lines[#lines + 1] = ""
		lines[#lines + 1] = "Port mappings (-p) must each match one of:"
		lines[#lines + 1] = "  " .. join(s.ALLOWED_PORT_MAPPINGS)
	end
	local pull = {
		default = "docker pulls images that are not present",
		never = "only images already present can be run",
		always = "the image is pulled before every run",
	}
	lines[#lines + 1] = ""
	lines[#lines + 1] = "Pulling (RUN_PULL=" .. s.RUN_PULL .. "): " .. pull[s.RUN_PULL]
	help_gpus(s, lines)
end

--- Help for one allowed subcommand.
local function help_subcommand(s, sub)
	local lines = {
		"Usage: userdocker " .. (USAGE[sub] or sub .. " [OPTIONS]"),
		"",
		SUBCOMMANDS[sub],
		"",
	}
	help_options(s, sub, lines)
	if sub == "run" then help_run(s, lines) end
	if sub == "pull" or sub == "images" then
		lines[#lines + 1] = ""
		lines[#lines + 1] = "Images must match one of: " .. join(s.ALLOWED_IMAGE_REGEXPS)
	end
	return tconcat(lines, "\n") .. "\n"
end

-- ===================================================================
-- decide
-- ===================================================================

--- Checks the subcommand against ALLOWED_SUBCOMMANDS.
local function check_subcommand(st, sub)
	local s = st.settings
	for _, name in ipairs(s.ALLOWED_SUBCOMMANDS) do
		if name == sub then return end
	end
	local allowed = {}
	for _, name in ipairs(s.ALLOWED_SUBCOMMANDS) do allowed[#allowed + 1] = name end
	tsort(allowed)
	deny("subcommand not allowed: %s (allowed: %s)", sub, join(allowed))
end

--- The executor name and path (--executor or EXECUTOR_DEFAULT).
local function pick_executor(st, name)
	local s = st.settings
	name = name or s.EXECUTOR_DEFAULT
	local path = s.EXECUTORS[name]
	if not path then deny("executor not allowed: %s (allowed: %s)", name, join(sorted_keys(s.EXECUTORS))) end
	note(st, "executor %s: %s, from %s", name, path, from(st, "EXECUTORS"))
	return name, path
end

--- Decision state shared by the rule functions.
local function new_state(settings, ctx)
	if type(ctx) ~= "table" or type(ctx.host) ~= "table" then error("ctx.host: table expected", 0) end
	if ctx.nv_gpu ~= nil and type(ctx.nv_gpu) ~= "string" then error("ctx.nv_gpu: string expected", 0) end
	return {
		settings = settings, ctx = ctx, host = ctx.host, caller = ctx.caller,
		debug = ctx.debug == true or settings.LOGLVL == "DEBUG",
		explain = ctx.explain == true,
		resolved = {},
	}
end

--- The request with its shape checked (the C parser builds it; anything
--- else is a bug, so it is an error, not a refusal).
local function check_request(req)
	if type(req) ~= "table" then error("request: table expected", 0) end
	local options, args = req.options or {}, req.args or {}
	if type(options) ~= "table" then error("request: options must be a table", 0) end
	if type(args) ~= "table" then error("request: args must be a table", 0) end
	for i, o in ipairs(options) do
		if type(o) ~= "table" or type(o.name) ~= "string" or type(o.value) ~= "string" then
			error(sformat("request: options[%d] must be { name = string, value = string }", i), 0)
		end
	end
	for i, a in ipairs(args) do
		if type(a) ~= "string" then error(sformat("request: args[%d] must be a string", i), 0) end
	end
	if req.subcommand ~= nil and type(req.subcommand) ~= "string" then
		error("request: subcommand must be a string", 0)
	end
	return { subcommand = req.subcommand, options = options, args = args, help = req.help == true }
end

--- The decision for a valid request, or a DENY error.
local function decide(settings, req, ctx)
	M.validate(settings)
	req = check_request(req)
	local st = new_state(settings, ctx)
	local sub = req.subcommand
	if sub == nil then return { action = "print", text = help_global(settings) } end
	check_subcommand(st, sub)
	if req.help then return { action = "print", text = help_subcommand(settings, sub) } end
	st.sub = sub
	st.executor, st.executor_path = pick_executor(st, ctx.executor)
	st.gpu_mode = sub == "run" and settings.NV_EXECUTOR_MODES[st.executor] or nil
	st.available, st.shown, st.exact = compile_available(st)
	st.always = compile_always(st)
	if sub == "run" then
		st.mount_lists = admin_mounts(settings)
		st.mount_entries = all_entries(st.mount_lists)
	end
	local options, args, text = (DECIDERS[sub] or decide_plain)(st, req, ctx)
	if text then return { action = "print", text = text } end
	local out = { subcommand = sub, options = options, args = args, help = false }
	if settings.EXEC_AS ~= "root" then
		note(st, "the docker command runs as %s, by %s", settings.EXEC_AS, from(st, "EXEC_AS"))
	end
	run_hooks(settings, out, st.caller, function(hooks, name)
		note(st, "policy.d hook hooks.%s of %s runs", name, HOOK_FILES[hooks] or "a policy.d file")
	end)
	out = check_request(out)
	out.subcommand = sub
	return {
		action = "exec", executor = st.executor, executor_path = st.executor_path,
		exec_as = settings.EXEC_AS, pam_session = settings.PAM_SESSION,
		request = out, gpus = st.gpus or "", gpu_mode = st.gpu_mode or "",
	}
end

--- The verdict for one request: exec, print (help) or deny.  Settings
--- mistakes and host failures are raised as errors (the C side fails closed).
function M.decide(settings, request, ctx)
	local ok, res = pcall(decide, settings, request, ctx)
	if ok then return res end
	if type(res) == "table" and getmetatable(res) == DENY then
		if ctx and ctx.host and ctx.explain then
			ctx.host.log("explain", "refused: " .. res.message)
		elseif ctx and ctx.host and (ctx.debug or settings.LOGLVL == "DEBUG") then
			ctx.host.log("debug", "deny: " .. res.message)
		end
		return { action = "deny", message = res.message }
	end
	error(res, 0)
end

return M
