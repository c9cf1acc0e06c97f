--- Unit tests for lua/engine.lua.
--
-- Run: lua5.4 lua/tests/test_engine.lua
-- Prints TAP (ok N - name / not ok N - name, then 1..N); exits 1 on failure.
-- The engine is loaded the way the C side loads it: as a text chunk whose
-- globals are only the sandbox's.  The host table is a mock over a small
-- fake filesystem with symlinks, so path resolution is real enough to test
-- "..", symlink escapes and whole-component prefix checks.

-- ===================================================================
-- Runner and assertions
-- ===================================================================

local count, failures = 0, 0

--- Runs one test and prints its TAP line (and the error as diagnostics).
local function test(name, fn)
	count = count + 1
	local ok, err = xpcall(fn, debug.traceback)
	if ok then
		print(("ok %d - %s"):format(count, name))
	else
		failures = failures + 1
		print(("not ok %d - %s"):format(count, name))
		for line in tostring(err):gmatch("[^\n]+") do print("#   " .. line) end
	end
end

--- A value as readable text, tables included (sorted keys).
local function show(v, depth)
	depth = depth or 0
	if type(v) == "string" then
		if #v > 200 then v = v:sub(1, 200) .. "..." end
		return ("%q"):format(v)
	end
	if type(v) ~= "table" or depth > 5 then return tostring(v) end
	local keys = {}
	for k in pairs(v) do keys[#keys + 1] = k end
	table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
	local parts = {}
	for _, k in ipairs(keys) do
		parts[#parts + 1] = "[" .. show(k) .. "]=" .. show(v[k], depth + 1)
	end
	return "{" .. table.concat(parts, ", ") .. "}"
end

--- Deep equality.
local function same(a, b)
	if type(a) ~= "table" or type(b) ~= "table" then return a == b end
	for k, v in pairs(a) do
		if not same(v, b[k]) then return false end
	end
	for k in pairs(b) do
		if a[k] == nil then return false end
	end
	return true
end

local function eq(got, want, what)
	if not same(got, want) then
		error(("%s:\n  got:  %s\n  want: %s"):format(what or "values differ", show(got), show(want)), 2)
	end
end

local function contains(s, sub, what)
	if type(s) ~= "string" or not s:find(sub, 1, true) then
		error(("%s: %s does not contain %q"):format(what or "text", show(s), sub), 2)
	end
end

local function lacks(s, sub, what)
	if type(s) ~= "string" or s:find(sub, 1, true) then
		error(("%s: %s contains %q"):format(what or "text", show(s), sub), 2)
	end
end

--- Calls fn and checks that it raises an error containing text.
local function raises(fn, text)
	local ok, err = pcall(fn)
	if ok then error("expected an error containing " .. ("%q"):format(text), 2) end
	if type(err) ~= "string" or not err:find(text, 1, true) then
		error(("error %s does not contain %q"):format(show(err), text), 2)
	end
	return err
end

-- ===================================================================
-- Load the engine like the C sandbox does
-- ===================================================================

local SANDBOX_FUNCTIONS = {
	"assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "select",
	"tonumber", "tostring", "type", "rawequal", "rawlen", "rawget", "rawset",
	"setmetatable", "getmetatable",
}

--- The globals the C side gives the engine chunk.
local function sandbox_globals()
	local g = {}
	for _, name in ipairs(SANDBOX_FUNCTIONS) do g[name] = _G[name] end
	local s = {}
	for k, v in pairs(string) do s[k] = v end
	s.dump = nil
	g.string, g.table, g.math, g.utf8 = s, table, math, utf8
	return g
end

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local chunk = assert(loadfile(here .. "/../engine.lua", "t", sandbox_globals()))
local M = chunk()

-- ===================================================================
-- Mock host: a fake filesystem, docker's flag table, a regex subset
-- ===================================================================

--- Path -> "dir" | "file" | "other" | { link = target }.
local FS = {
	["/"] = "dir",
	["/home"] = "dir",
	["/home/alice"] = "dir",
	["/home/alice/data"] = "dir",
	["/home/alice/data/sub"] = "dir",
	["/home/alice/notes.txt"] = "file",
	["/home/alice/etc"] = { link = "/etc" },
	["/home/alice/d"] = { link = "data" },
	["/home/alice/loop"] = { link = "loop" },
	["/home/bob"] = "dir",
	["/home/carol"] = { link = "/export/home/carol" },
	["/export"] = "dir",
	["/export/home"] = "dir",
	["/export/home/carol"] = "dir",
	["/etc"] = "dir",
	["/etc/passwd"] = "file",
	["/scratch"] = "dir",
	["/scratch/alice"] = "dir",
	["/scratch/alice/x"] = "dir",
	["/scratch/alice/x/y"] = "dir",
	["/scratch/alice/out"] = { link = "/scratch/alice2" },
	["/scratch/alice2"] = "dir",
	["/srv"] = "dir",
	["/srv/data"] = "dir",
	["/data"] = { link = "/srv/data" },
	["/run"] = "dir",
	["/run/app.sock"] = "other",
	["/net"] = "dir",
	["/net/locked"] = "dir",
}

--- Directories whose listing fails.
local UNLISTABLE = { ["/net/locked"] = true }

--- realpath(3) over FS: nil, errmsg when a component is missing.
local function fake_resolve(path, depth)
	if type(path) ~= "string" or path:sub(1, 1) ~= "/" then return nil, "not absolute" end
	depth = depth or 0
	if depth > 20 then return nil, "Too many levels of symbolic links" end
	local comps = {}
	for c in path:gmatch("[^/]+") do comps[#comps + 1] = c end
	local cur = {}
	for i, c in ipairs(comps) do
		if c == ".." then
			cur[#cur] = nil
		elseif c ~= "." then
			cur[#cur + 1] = c
			local entry = FS["/" .. table.concat(cur, "/")]
			if entry == nil then return nil, "No such file or directory" end
			if type(entry) == "table" then
				local target = entry.link
				if target:sub(1, 1) ~= "/" then
					target = "/" .. table.concat(cur, "/", 1, #cur - 1) .. "/" .. target
				end
				local real, err = fake_resolve(target, depth + 1)
				if not real then return nil, err end
				cur = {}
				for x in real:gmatch("[^/]+") do cur[#cur + 1] = x end
				entry = FS[real]
			end
			if i < #comps and entry ~= "dir" then return nil, "Not a directory" end
		end
	end
	return "/" .. table.concat(cur, "/")
end

--- Flag table per subcommand: "short long kind[=canonical]".
local FLAG_DEFS = {
	run = {
		"t tty bool", "i interactive bool", "- read-only bool", "P publish-all bool",
		"- entrypoint value", "w workdir value", "- rm bool", "- privileged bool",
		"v volume value", "p publish value", "e env value", "l label value",
		"u user value", "- shm-size value", "- pull value", "- mount value",
		"- volumes-from value", "- tmpfs value", "- volume-driver value",
		"- network value", "- net value=network", "- name value",
		"- no-default-mounts bool", "- cap-add value", "- cap-drop value",
		"- security-opt value", "d detach bool", "- init bool", "m memory value",
	},
	ps = { "a all bool", "l latest bool", "s size bool", "q quiet bool",
		"- no-trunc bool", "f filter value", "- format value" },
	images = { "a all bool", "- digests bool", "- no-trunc bool", "q quiet bool",
		"f filter value" },
	load = { "q quiet bool", "i input value" },
	pull = { "a all-tags bool", "- platform value", "q quiet bool" },
	attach = { "- no-stdin bool", "- detach-keys value", "- sig-proxy bool" },
	version = { "f format value" },
	dockviz = {},
}

local FLAGS = {}
for sub, defs in pairs(FLAG_DEFS) do
	local t = {}
	for _, d in ipairs(defs) do
		local short, long, kind, canon = d:match("^(%S) (%S+) (%a+)=?(%S*)$")
		local entry = { "--" .. (canon ~= "" and canon or long), kind }
		t["--" .. long] = entry
		if short ~= "-" then t["-" .. short] = entry end
	end
	FLAGS[sub] = t
end

--- POSIX ERE subset -> Lua pattern, anchored at the start like re.match.
local function ere_to_lua(re)
	local out, i, n, in_class = { "^" }, 1, #re, false
	if re:sub(1, 1) == "^" then i = 2 end
	while i <= n do
		local c = re:sub(i, i)
		if in_class then
			if c == "]" then in_class = false end
			out[#out + 1] = (c == "%") and "%%" or c
		elseif c == "\\" then
			i = i + 1
			local d = re:sub(i, i)
			if d == "" then error("trailing backslash in regex") end
			out[#out + 1] = d:match("%w") and d or "%" .. d
		elseif c == "[" then
			in_class = true
			out[#out + 1] = "["
		elseif c == "(" or c == ")" or c == "|" or c == "{" then
			error("mock regex does not support " .. c)
		elseif c == "%" or c == "-" then
			out[#out + 1] = "%" .. c
		else
			out[#out + 1] = c
		end
		i = i + 1
	end
	if in_class then error("brackets ([ ]) not balanced") end
	return table.concat(out)
end

--- A fresh mock host; its logs and probes are recorded.
local function new_host()
	local host = { logs = {}, probes = {} }
	host.resolve = function(path) return fake_resolve(path) end
	host.kind = function(path)
		local e = FS[path]
		if e == nil then return nil, "No such file or directory" end
		if type(e) == "table" then return nil, "is a symlink" end
		return e
	end
	host.probe = function(dir)
		host.probes[#host.probes + 1] = dir
		if UNLISTABLE[dir] then return nil, "Permission denied" end
		return true
	end
	host.match = function(re, s) return s:find(ere_to_lua(re)) ~= nil end
	host.flag = function(sub, name)
		local e = FLAGS[sub] and FLAGS[sub][name]
		if not e then return nil end
		return e[1], e[2]
	end
	host.log = function(level, msg) host.logs[#host.logs + 1] = level .. ": " .. msg end
	return host
end

-- ===================================================================
-- Fixtures
-- ===================================================================

local function caller_for(name, uid, home)
	return {
		uid = uid, gid = uid, user_name = name, group_name = name,
		user_home = home, group_names = { name, "lab" }, gids = { uid, 1002 },
	}
end

local ALICE = caller_for("alice", 1001, "/home/alice")

--- Default settings for a caller, edited by mod(s).
local function settings(mod, caller)
	local s = M.defaults(caller or ALICE)
	if mod then mod(s) end
	return s
end

--- A request from a flat option list { "--tty", "true", "--volume", "/a:/b" }.
local function request(sub, flat, args, help)
	local opts = {}
	for i = 1, #(flat or {}), 2 do opts[#opts + 1] = { name = flat[i], value = flat[i + 1] } end
	return { subcommand = sub, options = opts, args = args or {}, help = help or false }
end

--- decide with a fresh mock host; returns the result and the host.
local function decide(s, req, ctx)
	local host = new_host()
	ctx = ctx or {}
	ctx.caller = ctx.caller or ALICE
	ctx.host = host
	return M.decide(s, req, ctx), host
end

--- The options of an exec result as "name=value" strings.
local function opts(res)
	if res.action ~= "exec" then error("expected exec, got " .. show(res), 2) end
	local out = {}
	for _, o in ipairs(res.request.options) do out[#out + 1] = o.name .. "=" .. o.value end
	return out
end

--- Only the --volume values of an exec result.
local function volumes(res)
	local out = {}
	for _, o in ipairs(opts(res)) do
		local v = o:match("^%-%-volume=(.*)$")
		if v then out[#out + 1] = v end
	end
	return out
end

--- Checks a deny result and its message (exactly, or containing part).
local function denied(res, message, partial)
	if res.action ~= "deny" then error("expected deny, got " .. show(res), 2) end
	if partial then
		if not res.message:find(message, 1, true) then
			error(("message %q does not contain %q"):format(res.message, message), 2)
		end
	elseif res.message ~= message then
		error(("message:\n  got:  %q\n  want: %q"):format(res.message, message), 2)
	end
end

--- A run request for local/busybox with the given options.
local function run(flat, args)
	return request("run", flat, args or { "local/busybox", "id" })
end

--- The trailing options every default run gets.
local FORCED = {
	"--env=HOME=/home/alice", "--user=1001:1001", "--cap-drop=ALL",
	"--security-opt=no-new-privileges",
}

--- list1 .. list2 .. ...
local function cat(...)
	local out = {}
	for _, l in ipairs({ ... }) do
		for _, v in ipairs(l) do out[#out + 1] = v end
	end
	return out
end

--- Runs a config chunk in env; returns ok, err.
local function run_config(env, src, name)
	local fn, err = load(src, "@" .. (name or "config.lua"), "t", env)
	if not fn then return false, err end
	return pcall(fn)
end

-- ===================================================================
-- defaults
-- ===================================================================

test("defaults hold the reference values, Lua-ified", function()
	local s = settings()
	eq(s.LOGLVL, "INFO")
	eq(s.EXECUTORS, { docker = "/usr/bin/docker", ["nvidia-docker"] = "/usr/bin/nvidia-docker" })
	eq(s.EXECUTOR_DEFAULT, "docker")
	eq(s.ALLOWED_SUBCOMMANDS, { "attach", "dockviz", "images", "load", "ps", "pull", "run", "version" })
	eq(s.ARGS_ALWAYS, { run = { "--rm" } })
	eq(s.ARGS_AVAILABLE.run, { { "-t", "--tty" }, { "-i", "--interactive" }, "--read-only",
		{ "-P", "--publish-all" }, "--entrypoint", { "-w", "--workdir" } })
	eq(s.ARGS_AVAILABLE.ps, { { "-a", "--all" }, { "-l", "--latest" }, { "-s", "--size" },
		{ "-q", "--quiet" }, "--no-trunc" })
	eq(s.ARGS_AVAILABLE.version, {})
	eq(s.VOLUME_MOUNTS_DEFAULT, { "/home/alice:/home/alice" })
	eq(s.VOLUME_MOUNTS_ALWAYS, {})
	eq(s.VOLUME_MOUNTS_AVAILABLE, {})
	eq(s.PROBE_USED_MOUNTS, true)
	eq(s.ALLOWED_IMAGE_REGEXPS, { "^[A-Za-z_].*" })
	eq(s.RUN_PULL, "default")
	eq(s.USER_IN_CONTAINER, true)
	eq(s.CAPS_DROP, { "ALL" })
	eq(s.CAPS_ADD, {})
	eq(s.ALLOWED_PORT_MAPPINGS, { [[^127\.0\.0\.1::[0-9]+$]], "^[0-9]+$" })
	eq(s.ENV_VARS, { "HOME=/home/alice" })
	eq(s.ENV_VARS_EXT, { ["nvidia-docker"] = { "NCCL_TOPOLOGY=CUBEMESH" } })
	eq(s.NVIDIA_SMI, "/usr/bin/nvidia-smi")
	eq(s.NV_ALLOWED_GPUS, "ALL")
	eq(s.NV_DEFAULT_GPU_COUNT_RESERVATION, 1)
	eq(s.NV_MAX_GPU_COUNT_RESERVATION, -1)
	eq(s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED, 0)
	eq(s.NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION, true)
	eq(s.NV_ALLOW_OWN_GPU_REUSE, true)
	eq(s.DOCKER_SOCKET, "/var/run/docker.sock")
	eq(s.NO_NEW_PRIVILEGES, true)
	eq(s.PS_SHOW_ALL, false)
end)

test("defaults are fresh tables each call and validate", function()
	local a, b = settings(), settings()
	a.ARGS_AVAILABLE.run[1] = "--privileged"
	a.CAPS_DROP[1] = nil
	eq(b.ARGS_AVAILABLE.run[1], { "-t", "--tty" })
	eq(b.CAPS_DROP, { "ALL" })
	M.validate(b)
	M.validate(settings(nil, caller_for("bob", 1002, "/home/bob")))
end)

test("defaults refuse a malformed caller", function()
	raises(function() M.defaults({ uid = "1001" }) end, "caller: uid must be an integer")
	raises(function() M.defaults(nil) end, "caller: table expected")
end)

-- ===================================================================
-- config_env
-- ===================================================================

test("config_env reads settings, then caller variables, then safe globals", function()
	local s = settings()
	local env = M.config_env(s, ALICE)
	eq(env.RUN_PULL, "default")
	eq(env.uid, 1001)
	eq(env.gid, 1001)
	eq(env.user_name, "alice")
	eq(env.group_name, "alice")
	eq(env.user_home, "/home/alice")
	eq(env.group_names, { "alice", "lab" })
	eq(env.gids, { 1001, 1002 })
	eq(type(env.pairs), "function")
	eq(type(env.string.format), "function")
	eq(type(env.math.max), "function")
	eq(type(env.table.insert), "function")
	eq(type(env.utf8.char), "function")
	eq(type(env.pcall), "function")
end)

test("config_env exposes no io, os, require, load, print, debug, string.dump", function()
	local env = M.config_env(settings(), ALICE)
	for _, name in ipairs({ "io", "os", "require", "load", "loadfile", "dofile", "print",
		"debug", "package", "collectgarbage", "_G" }) do
		eq(env[name], nil, name)
	end
	eq(env.string.dump, nil, "string.dump")
end)

test("config_env assignments store into settings", function()
	local s = settings()
	local ok, err = run_config(M.config_env(s, ALICE), [[
ALLOWED_IMAGE_REGEXPS = {"^local/"}
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--name"
VOLUME_MOUNTS_AVAILABLE = { "/scratch/" .. user_name .. "/**:/scratch" }
scratch_root = "/scratch"
if user_name == "alice" then CAPS_ADD = { "NET_ADMIN" } end
for _, g in ipairs(group_names) do
  if g == "lab" then ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--shm-size=1g" end
end
]])
	assert(ok, err)
	eq(s.ALLOWED_IMAGE_REGEXPS, { "^local/" })
	eq(s.ARGS_AVAILABLE.run[7], "--name")
	eq(s.ARGS_AVAILABLE.run[8], "--shm-size=1g")
	eq(s.VOLUME_MOUNTS_AVAILABLE, { "/scratch/alice/**:/scratch" })
	eq(s.scratch_root, "/scratch")
	eq(s.CAPS_ADD, { "NET_ADMIN" })
	M.validate(s)
end)

test("config files run in sequence see earlier changes", function()
	local s = settings()
	assert(run_config(M.config_env(s, ALICE), 'RUN_PULL = "never"\nlab_images = "^lab/"', "config.lua"))
	local ok, err = run_config(M.config_env(s, ALICE), [[
assert(RUN_PULL == "never")
ALLOWED_IMAGE_REGEXPS[#ALLOWED_IMAGE_REGEXPS + 1] = lab_images
RUN_PULL = "always"
]], "group/config_50_lab.lua")
	assert(ok, err)
	eq(s.RUN_PULL, "always")
	eq(s.ALLOWED_IMAGE_REGEXPS, { "^[A-Za-z_].*", "^lab/" })
	-- one env shared by both files works the same way
	local s2 = settings()
	local env = M.config_env(s2, ALICE)
	assert(run_config(env, 'CAPS_ADD = {"CHOWN"}'))
	assert(run_config(env, 'CAPS_ADD[#CAPS_ADD + 1] = "FOWNER"'))
	eq(s2.CAPS_ADD, { "CHOWN", "FOWNER" })
end)

test("config_env: caller variables cannot be assigned (error names it, file:line)", function()
	for _, name in ipairs({ "uid", "gid", "user_name", "group_name", "user_home", "group_names", "gids" }) do
		local s = settings()
		local ok, err = run_config(M.config_env(s, ALICE), "local x = 1\n" .. name .. " = 0\n", "config.lua")
		eq(ok, false, name)
		contains(err, "config.lua:2:", name)
		contains(err, name .. ": ", name)
		eq(s[name], nil, name)
	end
	local s = settings()
	local env = M.config_env(s, ALICE)
	local ok, err = run_config(env, 'rawset(_ENV, "uid", 0)', "user/config_alice.lua")
	eq(ok, false)
	contains(err, "user/config_alice.lua:1:")
	contains(err, "uid")
	eq(env.uid, 1001)
end)

test("config_env: caller tables are copies, metatable protected", function()
	local caller = caller_for("alice", 1001, "/home/alice")
	local env = M.config_env(settings(), caller)
	assert(run_config(env, 'table.insert(group_names, "root"); gids[1] = 0'))
	eq(caller.group_names, { "alice", "lab" })
	eq(caller.gids, { 1001, 1002 })
	assert(run_config(env, "assert(getmetatable(_ENV) == false)"))
	local ok, err = run_config(env, "setmetatable(_ENV, {})")
	eq(ok, false)
	contains(err, "protected metatable")
end)

test("config_env: a file patching a library does not reach the engine or other files", function()
	local s = settings()
	assert(run_config(M.config_env(s, ALICE), "string.find = nil; string.format = nil; table.concat = nil"))
	local ok, err = run_config(M.config_env(s, ALICE), 'x = string.format("%d", 1); assert(string.find("ab", "b"))')
	assert(ok, err)
	local res = decide(s, run({ "--tty", "true" }))
	eq(res.action, "exec")
end)

test("config_env: syntax and runtime errors keep file:line", function()
	local ok, err = run_config(M.config_env(settings(), ALICE), "\n\nRUN_PULL = nil .. 1", "config.lua")
	eq(ok, false)
	contains(err, "config.lua:3:")
end)

test("etc/config.lua.example runs in config_env, validates and equals the defaults", function()
	local f = assert(io.open(here .. "/../../etc/config.lua.example"))
	local src = f:read("a")
	f:close()
	local s = settings()
	s.RUN_PULL, s.CAPS_DROP, s.ARGS_AVAILABLE = "never", {}, {}
	local ok, err = run_config(M.config_env(s, ALICE), src, "config.lua.example")
	assert(ok, err)
	M.validate(s)
	eq(s, settings(), "every setting written with its default")
	for line in M.dump(settings()):gmatch("[^\n]+") do
		local name = line:match("^([%w_]+) = ")
		contains(src, "\n" .. name .. " = ", "example assigns " .. name)
	end
end)

-- ===================================================================
-- validate
-- ===================================================================

--- Settings edits and the error each must raise.
local BAD_SETTINGS = {
	{ function(s) s.RUN_PULL = "sometimes" end, "RUN_PULL: must be one of default, never, always" },
	{ function(s) s.LOGLVL = "VERBOSE" end, "LOGLVL: must be one of DEBUG, INFO, WARNING, ERROR" },
	{ function(s) s.EXECUTORS.docker = "docker" end, "EXECUTORS.docker: must be an absolute path" },
	{ function(s) s.EXECUTORS = {} end, "EXECUTORS: must name at least one executor" },
	{ function(s) s.EXECUTOR_DEFAULT = "podman" end, "EXECUTOR_DEFAULT: podman is not a key of EXECUTORS" },
	{ function(s) s.ALLOWED_SUBCOMMANDS = { "run", "exec" } end,
		"ALLOWED_SUBCOMMANDS[2]: unsupported subcommand: exec" },
	{ function(s) s.ALLOWED_SUBCOMMANDS = { run = true } end, "ALLOWED_SUBCOMMANDS: must be a list" },
	{ function(s) s.ALLOWED_IMAGE_REGEXPS = { 1 } end, "ALLOWED_IMAGE_REGEXPS[1]: must be a string" },
	{ function(s) s.ALLOWED_PORT_MAPPINGS = "^80$" end, "ALLOWED_PORT_MAPPINGS: must be a list" },
	{ function(s) s.VOLUME_MOUNTS_AVAILABLE = { "data:/data" } end,
		"VOLUME_MOUNTS_AVAILABLE[1]: host path must be absolute" },
	{ function(s) s.VOLUME_MOUNTS_AVAILABLE = { 42 } end, "VOLUME_MOUNTS_AVAILABLE[1]: must be a string" },
	{ function(s) s.VOLUME_MOUNTS_AVAILABLE = { "/data" } end,
		"VOLUME_MOUNTS_AVAILABLE[1]: expected HOST:CONTAINER[:FLAGS]" },
	{ function(s) s.VOLUME_MOUNTS_AVAILABLE = { "/data:data" } end,
		"VOLUME_MOUNTS_AVAILABLE[1]: container path must be absolute or empty" },
	{ function(s) s.VOLUME_MOUNTS_AVAILABLE = { "/data:/d:bogus" } end,
		"VOLUME_MOUNTS_AVAILABLE[1]: unknown mount flag bogus" },
	{ function(s) s.VOLUME_MOUNTS_AVAILABLE = { "/data:/" } end,
		"VOLUME_MOUNTS_AVAILABLE[1]: container path must not be /" },
	{ function(s) s.VOLUME_MOUNTS_AVAILABLE = { "/da*ta:" } end,
		"VOLUME_MOUNTS_AVAILABLE[1]: '*' is only allowed as a final /**" },
	{ function(s) s.VOLUME_MOUNTS_DEFAULT = { "/data:" } end,
		"VOLUME_MOUNTS_DEFAULT[1]: a mount added automatically needs" },
	{ function(s) s.VOLUME_MOUNTS_ALWAYS = { "/scratch/**:/scratch" } end,
		"VOLUME_MOUNTS_ALWAYS[1]: a mount added automatically needs" },
	{ function(s) s.DOCKER_SOCKET = "docker.sock" end, "DOCKER_SOCKET: must be an absolute path" },
	{ function(s) s.NVIDIA_SMI = false end, "NVIDIA_SMI: must be an absolute path" },
	{ function(s) s.ALLOWD_SUBCOMMANDS = { "run" } end, "ALLOWD_SUBCOMMANDS: unknown setting" },
	{ function(s) s.PRIVILEGED = false end, "PRIVILEGED: no longer supported" },
	{ function(s) s.ALLOWED_PUBLISH_PORTS_ALL = true end,
		'ALLOWED_PUBLISH_PORTS_ALL: no longer supported: list {"-P", "--publish-all"}' },
	{ function(s) s.VOLUME_MOUNTS_DEFAULT = { "{HOME}:{HOME}" } end,
		"VOLUME_MOUNTS_DEFAULT[1]: write user_home / user_name instead of {HOME}" },
	{ function(s) s.ARGS_AVAILABLE.runn = {} end, "ARGS_AVAILABLE.runn: unknown subcommand" },
	{ function(s) s.ARGS_AVAILABLE.run = { "tty" } end, "ARGS_AVAILABLE.run[1]: not an option: tty" },
	{ function(s) s.ARGS_AVAILABLE.run = { { "-t", "--tty=true" } } end,
		"ARGS_AVAILABLE.run[1][2]: an alias group cannot carry a value" },
	{ function(s) s.ARGS_AVAILABLE.run = { {} } end,
		"ARGS_AVAILABLE.run[1]: an alias group must be a non-empty list" },
	{ function(s) s.ARGS_ALWAYS.run = { { "-t", "--tty" } } end, "ARGS_ALWAYS.run[1]: must be a string" },
	{ function(s) s.ARGS_ALWAYS = { run = "--rm" } end, "ARGS_ALWAYS.run: must be a list" },
	{ function(s) s.CAPS_ADD = { "NET ADMIN" } end, "CAPS_ADD[1]: not a capability name" },
	{ function(s) s.CAPS_DROP = "ALL" end, "CAPS_DROP: must be a list" },
	{ function(s) s.ENV_VARS = { "HOME" } end, "ENV_VARS[1]: must be KEY=VALUE" },
	{ function(s) s.ENV_VARS = { "USERDOCKER_UID=0" } end, "ENV_VARS[1]: USERDOCKER* names are reserved" },
	{ function(s) s.ENV_VARS_EXT = { ["nvidia-docker"] = "X=1" } end, "ENV_VARS_EXT.nvidia-docker: must be a list" },
	{ function(s) s.NV_ALLOWED_GPUS = { "0" } end, "NV_ALLOWED_GPUS[1]: must be an integer" },
	{ function(s) s.NV_ALLOWED_GPUS = "all" end, "NV_ALLOWED_GPUS: must be \"ALL\" or a list" },
	{ function(s) s.NV_MAX_GPU_COUNT_RESERVATION = -2 end, "NV_MAX_GPU_COUNT_RESERVATION: must be -1 or more" },
	{ function(s) s.NV_DEFAULT_GPU_COUNT_RESERVATION = 1.5 end,
		"NV_DEFAULT_GPU_COUNT_RESERVATION: must be an integer, got float" },
	{ function(s) s.NV_DEFAULT_GPU_COUNT_RESERVATION = 2; s.NV_MAX_GPU_COUNT_RESERVATION = 1 end,
		"NV_MAX_GPU_COUNT_RESERVATION: 1 is below NV_DEFAULT_GPU_COUNT_RESERVATION (2)" },
	{ function(s) s.PROBE_USED_MOUNTS = "yes" end, "PROBE_USED_MOUNTS: must be true or false, got string" },
	{ function(s) s.USER_IN_CONTAINER = nil end, "USER_IN_CONTAINER: missing" },
	{ function(s) s.NO_NEW_PRIVILEGES = 1 end, "NO_NEW_PRIVILEGES: must be true or false" },
	{ function(s) s.PS_SHOW_ALL = nil end, "PS_SHOW_ALL: missing" },
}

for _, case in ipairs(BAD_SETTINGS) do
	test("validate refuses: " .. case[2], function()
		raises(function() M.validate(settings(case[1])) end, case[2])
	end)
end

test("validate: error messages start with the setting name", function()
	local err = raises(function() M.validate(settings(function(s) s.RUN_PULL = "x" end)) end, "RUN_PULL")
	eq(err:sub(1, 10), "RUN_PULL: ")
end)

test("validate accepts helper variables and the documented alternatives", function()
	M.validate(settings(function(s)
		s.scratch = "/scratch"
		s.my_helper = function() end
		s.Mixed_Case = 1
		s.NV_ALLOWED_GPUS = { 0, 2 }
		s.NV_MAX_GPU_COUNT_RESERVATION = 2
		s.RUN_PULL = "never"
		s.LOGLVL = "DEBUG"
		s.VOLUME_MOUNTS_AVAILABLE = { "/srv/data:", "/scratch/alice/**:/scratch",
			"/home/alice/**:", "/data:/input:ro,z" }
		s.ARGS_AVAILABLE.run[#s.ARGS_AVAILABLE.run + 1] = "--shm-size=1g"
		s.ARGS_ALWAYS.run = { "--rm", "--shm-size=1g", "-t" }
		s.EXECUTORS = { docker = "/usr/bin/docker" }
	end))
end)

-- ===================================================================
-- dump
-- ===================================================================

test("dump lists every setting, one per line, in a stable order", function()
	local text = M.dump(settings())
	local lines = {}
	for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
	eq(#lines, 28, "one line per setting")
	eq(lines[1], 'LOGLVL = "INFO"')
	eq(lines[2], 'EXECUTORS = {docker = "/usr/bin/docker", ["nvidia-docker"] = "/usr/bin/nvidia-docker"}')
	eq(lines[5], 'ARGS_ALWAYS = {run = {"--rm"}}')
	contains(text, 'ALLOWED_PORT_MAPPINGS = {"^127\\\\.0\\\\.0\\\\.1::[0-9]+$", "^[0-9]+$"}')
	contains(text, "NV_MAX_GPU_COUNT_RESERVATION = -1\n")
	contains(text, "PS_SHOW_ALL = false\n")
	eq(M.dump(settings()), text, "stable")
end)

test("dump keeps odd values on one line and skips helpers", function()
	local text = M.dump(settings(function(s)
		s.ENV_VARS = { "MOTD=a\nb" }
		s.helper = "x"
	end))
	contains(text, 'ENV_VARS = {"MOTD=a\\nb"}')
	lacks(text, "helper")
end)

-- ===================================================================
-- decide: subcommands and executors
-- ===================================================================

test("subcommand not in ALLOWED_SUBCOMMANDS is denied, allowed ones listed", function()
	local s = settings(function(x) x.ALLOWED_SUBCOMMANDS = { "version", "run", "ps", "images" } end)
	denied(decide(s, request("exec", {}, { "c1", "sh" })),
		"subcommand not allowed: exec (allowed: images, ps, run, version)")
	denied(decide(s, request("pull", {}, { "busybox" })),
		"subcommand not allowed: pull (allowed: images, ps, run, version)")
end)

test("executor: default, --executor choice, unknown executor denied", function()
	local s = settings()
	local res = decide(s, request("ps"))
	eq(res.executor, "docker")
	eq(res.executor_path, "/usr/bin/docker")
	res = decide(s, request("ps"), { executor = "nvidia-docker" })
	eq(res.executor, "nvidia-docker")
	eq(res.executor_path, "/usr/bin/nvidia-docker")
	s.EXECUTORS = { docker = "/usr/bin/docker" }
	denied(decide(s, request("ps"), { executor = "foo" }), "executor not allowed: foo (allowed: docker)")
	denied(decide(s, request("ps"), { executor = "nvidia-docker" }),
		"executor not allowed: nvidia-docker (allowed: docker)")
end)

-- ===================================================================
-- decide: run, the whole rewrite
-- ===================================================================

test("run -it --rm -v $HOME:$HOME:ro: exact canonical rewrite", function()
	local res = decide(settings(), run({ "--tty", "true", "--interactive", "true", "--rm", "true",
		"--volume", "/home/alice:/home/alice:ro" }))
	eq(res.action, "exec")
	eq(res.request.subcommand, "run")
	eq(res.request.help, false)
	eq(opts(res), cat({ "--tty=true", "--interactive=true", "--rm=true",
		"--volume=/home/alice:/home/alice:ro" }, FORCED))
	eq(res.request.args, { "local/busybox:latest", "id" })
end)

test("run with no options: --rm, default mount, env, user, caps, no-new-privileges", function()
	local res, host = decide(settings(), run({}))
	eq(opts(res), cat({ "--rm=true", "--volume=/home/alice:/home/alice" }, FORCED))
	eq(host.probes, { "/home/alice" })
end)

test("decide does not modify the request it is given", function()
	local req = run({ "--tty", "true", "--volume", "/home/alice/d:/d" }, { "busybox" })
	decide(settings(function(s) s.VOLUME_MOUNTS_AVAILABLE = { "/home/alice/**:" } end), req)
	eq(req, run({ "--tty", "true", "--volume", "/home/alice/d:/d" }, { "busybox" }))
end)

test("no ownership labels or USERDOCKER env are added by the engine", function()
	for _, o in ipairs(opts(decide(settings(), run({})))) do
		lacks(o, "--label", "option")
		lacks(o, "USERDOCKER", "option")
	end
end)

-- ===================================================================
-- decide: ARGS_AVAILABLE / ARGS_ALWAYS
-- ===================================================================

test("run option not in ARGS_AVAILABLE is denied with the allowed list", function()
	denied(decide(settings(), run({ "--privileged", "true" })),
		"run option not allowed: --privileged (allowed: --tty, --interactive, --read-only, "
		.. "--publish-all, --entrypoint, --workdir)")
	denied(decide(settings(), run({ "--tty", "true", "--name", "x" })),
		"run option not allowed: --name=x (allowed: --tty, --interactive, --read-only, "
		.. "--publish-all, --entrypoint, --workdir)")
end)

test("bool options given as false are always allowed", function()
	local res = decide(settings(), run({ "--privileged", "false", "--init", "false" }))
	eq(opts(res), cat({ "--privileged=false", "--init=false", "--rm=true",
		"--volume=/home/alice:/home/alice" }, FORCED))
end)

test("alias groups and short-only entries resolve to the canonical name", function()
	local s = settings(function(x)
		x.ARGS_AVAILABLE.run = { "-d", { "--interactive", "-i" }, "--net" }
	end)
	local res = decide(s, run({ "--detach", "true", "--interactive", "true", "--network", "host" }))
	eq(opts(res), cat({ "--detach=true", "--interactive=true", "--network=host", "--rm=true",
		"--volume=/home/alice:/home/alice" }, FORCED))
	denied(decide(s, run({ "--tty", "true" })),
		"run option not allowed: --tty (allowed: --detach, --interactive, --network)")
end)

test("admin mistakes in ARGS_AVAILABLE are errors naming the setting", function()
	raises(function()
		decide(settings(function(s) s.ARGS_AVAILABLE.run = { { "-t", "-i" } } end), run({}))
	end, "ARGS_AVAILABLE.run: alias group names different options: -t, -i")
	raises(function()
		decide(settings(function(s) s.ARGS_AVAILABLE.run = { "--bogus" } end), run({}))
	end, "ARGS_AVAILABLE.run: unknown option for run: --bogus")
	raises(function()
		decide(settings(function(s) s.ARGS_AVAILABLE.ps = { "--tty" } end), request("ps"))
	end, "ARGS_AVAILABLE.ps: unknown option for ps: --tty")
end)

test("exact assignment allows only that value", function()
	local s = settings(function(x) x.ARGS_AVAILABLE.run = { "--shm-size=1g", { "-t", "--tty" } } end)
	eq(opts(decide(s, run({ "--shm-size", "1g" })))[1], "--shm-size=1g")
	denied(decide(s, run({ "--shm-size", "2g" })),
		"run option not allowed: --shm-size=2g (allowed: --shm-size=1g, --tty)")
	s.ARGS_AVAILABLE.run = { "--shm-size=1g", "--shm-size=2g" }
	eq(opts(decide(s, run({ "--shm-size", "2g" })))[1], "--shm-size=2g")
	s.ARGS_AVAILABLE.run = { "--shm-size=1g", "--shm-size" }
	eq(opts(decide(s, run({ "--shm-size", "8g" })))[1], "--shm-size=8g")
end)

test("ARGS_ALWAYS entries are canonicalised and appended after user options", function()
	local s = settings(function(x) x.ARGS_ALWAYS.run = { "--rm", "--shm-size=1g", "-t" } end)
	eq(opts(decide(s, run({ "--interactive", "true" }))), cat({ "--interactive=true", "--rm=true",
		"--shm-size=1g", "--tty=true", "--volume=/home/alice:/home/alice" }, FORCED))
end)

test("user may repeat a forced option (no duplicate); false loses to the forced value", function()
	local s = settings(function(x) x.ARGS_ALWAYS.run = { "--rm", "--shm-size=1g" } end)
	eq(opts(decide(s, run({ "--rm", "true", "--shm-size", "1g" }))), cat({ "--rm=true",
		"--shm-size=1g", "--volume=/home/alice:/home/alice" }, FORCED))
	eq(opts(decide(s, run({ "--rm", "false" }))), cat({ "--rm=false", "--rm=true",
		"--shm-size=1g", "--volume=/home/alice:/home/alice" }, FORCED))
	denied(decide(s, run({ "--shm-size", "64g" })),
		"run option not allowed: --shm-size=64g (allowed: --tty, --interactive, --read-only, "
		.. "--publish-all, --entrypoint, --workdir)")
end)

test("admin mistakes in ARGS_ALWAYS are errors naming the setting", function()
	raises(function()
		decide(settings(function(s) s.ARGS_ALWAYS.run = { "--shm-size" } end), run({}))
	end, "ARGS_ALWAYS.run: --shm-size needs a value")
	raises(function()
		decide(settings(function(s) s.ARGS_ALWAYS.run = { "--volume=/:/host" } end), run({}))
	end, "ARGS_ALWAYS.run: --volume cannot be forced here, use VOLUME_MOUNTS_ALWAYS")
	raises(function()
		decide(settings(function(s) s.ARGS_ALWAYS.run = { "--env=A=1" } end), run({}))
	end, "ARGS_ALWAYS.run: --env cannot be forced here, use ENV_VARS")
	raises(function()
		decide(settings(function(s) s.ARGS_ALWAYS.run = { "--rm=yes" } end), run({}))
	end, "ARGS_ALWAYS.run: --rm takes true or false")
	raises(function()
		decide(settings(function(s) s.ARGS_ALWAYS.ps = { "--nope" } end), request("ps"))
	end, "ARGS_ALWAYS.ps: unknown option for ps: --nope")
end)

test("--mount, --volumes-from, --tmpfs, --volume-driver denied unless listed", function()
	local s = settings()
	for _, o in ipairs({ { "--mount", "type=bind,src=/,dst=/h" }, { "--volumes-from", "other" },
		{ "--tmpfs", "/t" }, { "--volume-driver", "x" } }) do
		denied(decide(s, run(o)), "run option not allowed: " .. o[1] .. "=" .. o[2], true)
	end
	s.ARGS_AVAILABLE.run = { "--tmpfs", "--mount" }
	eq(opts(decide(s, run({ "--tmpfs", "/t" })))[1], "--tmpfs=/t")
end)

test("dedicated options listed in ARGS_AVAILABLE do not bypass their rules", function()
	local s = settings(function(x)
		x.ARGS_AVAILABLE.run = { { "-v", "--volume" }, "--env", "--publish" }
	end)
	denied(decide(s, run({ "--volume", "/etc:/x" })),
		"mount not allowed: /etc:/x (allowed: /home/alice:/home/alice)")
	denied(decide(s, run({ "--env", "NV_GPU=0" })), "env not allowed: NV_GPU=0", true)
	denied(decide(s, run({ "--publish", "80:80" })), "port mapping not allowed: 80:80", true)
end)

test("--user: denied unless available; the forced --user comes last", function()
	denied(decide(settings(), run({ "--user", "0" })), "run option not allowed: --user=0", true)
	local s = settings(function(x) x.ARGS_AVAILABLE.run = { { "-u", "--user" } } end)
	local o = opts(decide(s, run({ "--user", "0:0" })))
	eq(o[1], "--user=0:0")
	local last_user
	for i, v in ipairs(o) do if v:find("^%-%-user=") then last_user = i end end
	eq(o[last_user], "--user=1001:1001")
	assert(last_user > 1)
	s.USER_IN_CONTAINER = false
	o = opts(decide(s, run({ "--user", "1001:100" })))
	eq(o, { "--user=1001:100", "--rm=true", "--volume=/home/alice:/home/alice",
		"--env=HOME=/home/alice", "--cap-drop=ALL", "--security-opt=no-new-privileges" })
end)

test("forced tail: CAPS_DROP, CAPS_ADD, NO_NEW_PRIVILEGES", function()
	local s = settings(function(x)
		x.CAPS_DROP = { "ALL" }
		x.CAPS_ADD = { "CHOWN", "FOWNER" }
	end)
	local o = opts(decide(s, run({})))
	eq({ table.unpack(o, #o - 4) }, { "--user=1001:1001", "--cap-drop=ALL", "--cap-add=CHOWN",
		"--cap-add=FOWNER", "--security-opt=no-new-privileges" })
	s.CAPS_DROP, s.CAPS_ADD, s.NO_NEW_PRIVILEGES = {}, {}, false
	o = opts(decide(s, run({})))
	eq(o, { "--rm=true", "--volume=/home/alice:/home/alice", "--env=HOME=/home/alice",
		"--user=1001:1001" })
end)

-- ===================================================================
-- decide: other subcommands
-- ===================================================================

test("ps: aliases allowed, others denied with ps's list", function()
	local res = decide(settings(), request("ps", { "--all", "true", "--quiet", "true", "--no-trunc", "true" }))
	eq(opts(res), { "--all=true", "--quiet=true", "--no-trunc=true" })
	eq(res.request.args, {})
	denied(decide(settings(), request("ps", { "--filter", "status=exited" })),
		"ps option not allowed: --filter=status=exited (allowed: --all, --latest, --size, --quiet, --no-trunc)")
end)

test("images: REPOSITORY argument passes, options checked", function()
	local res = decide(settings(), request("images", { "--digests", "true" }, { "debian" }))
	eq(opts(res), { "--digests=true" })
	eq(res.request.args, { "debian" })
	denied(decide(settings(), request("images", { "--filter", "dangling=true" })),
		"images option not allowed: --filter=dangling=true (allowed: --all, --digests, --no-trunc, --quiet)")
end)

test("version: no options allowed by default", function()
	eq(opts(decide(settings(), request("version"))), {})
	denied(decide(settings(), request("version", { "--format", "{{.Server}}" })),
		"version option not allowed: --format={{.Server}} (allowed: none)")
end)

test("attach: container argument unchanged, --no-stdin allowed", function()
	local res = decide(settings(), request("attach", { "--no-stdin", "true" }, { "my-container" }))
	eq(opts(res), { "--no-stdin=true" })
	eq(res.request.args, { "my-container" })
	denied(decide(settings(), request("attach", { "--detach-keys", "ctrl-a" }, { "c" })),
		"attach option not allowed: --detach-keys=ctrl-a (allowed: --no-stdin)")
end)

test("load: --quiet allowed, --input denied", function()
	eq(opts(decide(settings(), request("load", { "--quiet", "true" }))), { "--quiet=true" })
	denied(decide(settings(), request("load", { "--input", "/etc/shadow" })),
		"load option not allowed: --input=/etc/shadow (allowed: --quiet)")
end)

test("dockviz: allowed as a plain subcommand without options", function()
	local res = decide(settings(), request("dockviz"))
	eq(res.action, "exec")
	eq(opts(res), {})
end)

test("pull: image normalised and matched; --all-tags keeps the bare name", function()
	local s = settings(function(x) x.ALLOWED_IMAGE_REGEXPS = { "^local/" } end)
	local res = decide(s, request("pull", {}, { "local/busybox" }))
	eq(res.request.args, { "local/busybox:latest" })
	denied(decide(s, request("pull", {}, { "evil/x" })), "image not allowed: evil/x:latest (allowed: ^local/)")
	res = decide(s, request("pull", { "--all-tags", "true" }, { "local/busybox" }))
	eq(opts(res), { "--all-tags=true" })
	eq(res.request.args, { "local/busybox" })
	s.ALLOWED_IMAGE_REGEXPS = { "^local/[a-z]+:stable$" }
	denied(decide(s, request("pull", { "--all-tags", "true" }, { "local/busybox" })),
		"image not allowed: local/busybox (allowed: ^local/[a-z]+:stable$)")
	denied(decide(s, request("pull", {}, {})), "image missing: pull needs an image name")
	denied(decide(s, request("pull", {}, { "local/a:stable", "local/b:stable" })),
		"pull takes one image, got 2 arguments")
end)

-- ===================================================================
-- decide: run image, pull policy
-- ===================================================================

test("image names: :latest added only without tag or digest", function()
	local cases = {
		{ "busybox", "busybox:latest" },
		{ "local/busybox:1.0", "local/busybox:1.0" },
		{ "localhost:5000/foo", "localhost:5000/foo:latest" },
		{ "localhost:5000/foo:2", "localhost:5000/foo:2" },
		{ "foo@sha256:abcd", "foo@sha256:abcd" },
		{ "reg.example/a/b", "reg.example/a/b:latest" },
	}
	for _, c in ipairs(cases) do
		local res = decide(settings(), run({}, { c[1], "--", "-x" }))
		eq(res.request.args, { c[2], "--", "-x" }, c[1])
	end
end)

test("image must match ALLOWED_IMAGE_REGEXPS (anchored at the start)", function()
	local s = settings(function(x) x.ALLOWED_IMAGE_REGEXPS = { "^local/", "lab/" } end)
	eq(decide(s, run({}, { "local/busybox" })).action, "exec")
	eq(decide(s, run({}, { "lab/x" })).action, "exec")
	denied(decide(s, run({}, { "evil/lab/x" })), "image not allowed: evil/lab/x:latest (allowed: ^local/, lab/)")
	denied(decide(s, run({}, { "evil/x" })), "image not allowed: evil/x:latest (allowed: ^local/, lab/)")
	denied(decide(settings(), run({}, { "1image" })), "image not allowed: 1image:latest (allowed: ^[A-Za-z_].*)")
	denied(decide(s, run({ "--tty", "true" }, {})), "image missing: run needs an image name")
end)

test("invalid image regexp is an error naming the setting", function()
	raises(function()
		decide(settings(function(s) s.ALLOWED_IMAGE_REGEXPS = { "^[local" } end), run({}))
	end, "ALLOWED_IMAGE_REGEXPS: invalid regexp ^[local")
end)

test("RUN_PULL adds --pull=never / --pull=always, default adds nothing", function()
	for _, mode in ipairs({ "never", "always" }) do
		local o = opts(decide(settings(function(s) s.RUN_PULL = mode end), run({})))
		eq(o[2], "--pull=" .. mode, mode)
	end
	for _, o in ipairs(opts(decide(settings(), run({})))) do lacks(o, "--pull", "default") end
	denied(decide(settings(), run({ "--pull", "always" })), "run option not allowed: --pull=always", true)
	local s = settings(function(x)
		x.RUN_PULL = "never"
		x.ARGS_AVAILABLE.run = { "--pull" }
	end)
	eq(opts(decide(s, run({ "--pull", "always" })))[1], "--pull=always")
	eq(opts(decide(s, run({ "--pull", "always" })))[3], "--pull=never", "forced value comes later")
end)

-- ===================================================================
-- decide: ports
-- ===================================================================

test("ports: each --publish must match ALLOWED_PORT_MAPPINGS", function()
	local res = decide(settings(), run({ "--publish", "127.0.0.1::8080", "--publish", "8888" }))
	eq(opts(res), cat({ "--publish=127.0.0.1::8080", "--publish=8888", "--rm=true",
		"--volume=/home/alice:/home/alice" }, FORCED))
	denied(decide(settings(), run({ "--publish", "8888", "--publish", "80:80" })),
		[[port mapping not allowed: 80:80 (allowed: ^127\.0\.0\.1::[0-9]+$, ^[0-9]+$)]])
	denied(decide(settings(), run({ "--publish", "0.0.0.0::8080" })),
		"port mapping not allowed: 0.0.0.0::8080", true)
	denied(decide(settings(), run({ "--publish", "8080x" })), "port mapping not allowed: 8080x", true)
end)

test("ports: an empty ALLOWED_PORT_MAPPINGS forbids --publish entirely", function()
	local s = settings(function(x) x.ALLOWED_PORT_MAPPINGS = {} end)
	denied(decide(s, run({ "--publish", "8080" })),
		"run option not allowed: --publish=8080 (allowed: --tty, --interactive, --read-only, "
		.. "--publish-all, --entrypoint, --workdir)")
	s.ALLOWED_PORT_MAPPINGS = { "^8080:80$" }
	eq(opts(decide(s, run({ "--publish", "8080:80" })))[1], "--publish=8080:80")
end)

-- ===================================================================
-- decide: env and labels
-- ===================================================================

test("env: KEY=VALUE allowed; admin ENV_VARS and ENV_VARS_EXT appended after", function()
	local res = decide(settings(), run({ "--env", "FOO=bar", "--env", "HOME=/tmp", "--env", "EMPTY=" }))
	eq(opts(res), cat({ "--env=FOO=bar", "--env=HOME=/tmp", "--env=EMPTY=", "--rm=true",
		"--volume=/home/alice:/home/alice" }, FORCED))
	res = decide(settings(), run({}), { executor = "nvidia-docker" })
	eq(opts(res), { "--rm=true", "--volume=/home/alice:/home/alice", "--env=HOME=/home/alice",
		"--env=NCCL_TOPOLOGY=CUBEMESH", "--user=1001:1001", "--cap-drop=ALL",
		"--security-opt=no-new-privileges" })
end)

test("env: reserved, GPU and value-less variables are denied", function()
	local s = settings()
	denied(decide(s, run({ "--env", "USERDOCKER_UID=0" })),
		"env not allowed: USERDOCKER_UID=0 (USERDOCKER* is reserved)")
	denied(decide(s, run({ "--env", "USERDOCKER=1" })), "env not allowed: USERDOCKER=1", true)
	denied(decide(s, run({ "--env", "userdocker_user=bob" })), "env not allowed: userdocker_user=bob", true)
	for _, k in ipairs({ "NV_GPU", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES" }) do
		denied(decide(s, run({ "--env", k .. "=0,1" })), "env not allowed: " .. k .. "=0,1", true)
	end
	denied(decide(s, run({ "--env", "SECRET" })), "env value missing: SECRET")
	denied(decide(s, run({ "--env", "=x" })), "env not allowed: =x (a name is required)")
end)

test("labels: need ARGS_AVAILABLE; userdocker.* keys always denied", function()
	denied(decide(settings(), run({ "--label", "a=b" })), "run option not allowed: --label=a=b", true)
	local s = settings(function(x) x.ARGS_AVAILABLE.run = { { "-l", "--label" } } end)
	eq(opts(decide(s, run({ "--label", "project=x" })))[1], "--label=project=x")
	eq(opts(decide(s, run({ "--label", "plain" })))[1], "--label=plain")
	for _, v in ipairs({ "userdocker.owner=1001", "userdocker.uid", "UserDocker.owner=0",
		" userdocker.owner=0" }) do
		denied(decide(s, run({ "--label", v })), "label not allowed: " .. v, true)
	end
end)

test("messages escape control characters", function()
	denied(decide(settings(), run({ "--env", "A\nB" })), "env value missing: A\\x0aB")
end)

-- ===================================================================
-- decide: mounts
-- ===================================================================

--- Settings with extra available mounts.
local function with_mounts(available, mod)
	return settings(function(s)
		s.VOLUME_MOUNTS_AVAILABLE = available
		if mod then mod(s) end
	end)
end

test("mounts: user mount outside the lists is denied with the allowed list", function()
	denied(decide(with_mounts({ "/srv/data:" }), run({ "--volume", "/etc:/x" })),
		"mount not allowed: /etc:/x (allowed: /home/alice:/home/alice, /srv/data:)")
	denied(decide(settings(function(s) s.VOLUME_MOUNTS_DEFAULT = {} end), run({ "--volume", "/etc:/x" })),
		"mount not allowed: /etc:/x (allowed: none)")
end)

test("mounts: --no-default-mounts drops defaults and is consumed", function()
	local res = decide(settings(), run({ "--no-default-mounts", "true" }))
	eq(opts(res), { "--rm=true", "--env=HOME=/home/alice", "--user=1001:1001", "--cap-drop=ALL",
		"--security-opt=no-new-privileges" })
	res = decide(settings(), run({ "--no-default-mounts", "true", "--no-default-mounts", "false" }))
	eq(volumes(res), { "/home/alice:/home/alice" })
	-- the default entry stays usable on request
	res = decide(settings(), run({ "--volume", "/home/alice:/home/alice", "--no-default-mounts", "true" }))
	eq(volumes(res), { "/home/alice:/home/alice" })
end)

test("mounts: :ro upgrades a default mount in place, no duplicates", function()
	local s = with_mounts({ "/srv/data:/data" })
	local res = decide(s, run({ "--volume", "/srv/data:/data", "--volume", "/home/alice:/home/alice:ro" }))
	eq(volumes(res), { "/home/alice:/home/alice:ro", "/srv/data:/data" })
	res = decide(s, run({ "--volume", "/home/alice:/home/alice" }))
	eq(volumes(res), { "/home/alice:/home/alice" })
	res = decide(s, run({ "--volume", "/home/alice/:/home/alice//" }))
	eq(volumes(res), { "/home/alice:/home/alice" })
end)

test("mounts: VOLUME_MOUNTS_ALWAYS are added even with --no-default-mounts, and may get :ro", function()
	local s = settings(function(x) x.VOLUME_MOUNTS_ALWAYS = { "/srv/data:/data" } end)
	local res = decide(s, run({ "--no-default-mounts", "true" }))
	eq(volumes(res), { "/srv/data:/data" })
	res = decide(s, run({ "--volume", "/srv/data:/data:ro" }))
	eq(volumes(res), { "/srv/data:/data:ro", "/home/alice:/home/alice" })
end)

test("mounts: empty admin container path lets the user choose it", function()
	local s = with_mounts({ "/srv/data:" })
	eq(volumes(decide(s, run({ "--volume", "/srv/data:/input" }))),
		{ "/home/alice:/home/alice", "/srv/data:/input" })
	eq(volumes(decide(s, run({ "--volume", "/srv/data:/in/./x/../y/" }))),
		{ "/home/alice:/home/alice", "/srv/data:/in/y" })
	-- a symlink to the allowed source is fine; docker sees the resolved path
	eq(volumes(decide(s, run({ "--volume", "/data:/input:ro" }))),
		{ "/home/alice:/home/alice", "/srv/data:/input:ro" })
	-- an admin entry naming the symlink matches the resolved source too
	s = with_mounts({ "/data:/input" })
	eq(volumes(decide(s, run({ "--volume", "/srv/data:/input" }))),
		{ "/home/alice:/home/alice", "/srv/data:/input" })
end)

test("mounts: a fixed admin container path must be used (after normalising)", function()
	local s = with_mounts({ "/srv/data:/data" })
	eq(volumes(decide(s, run({ "--volume", "/srv/data:/data/" })))[2], "/srv/data:/data")
	eq(volumes(decide(s, run({ "--volume", "/srv//data/:/data" })))[2], "/srv/data:/data")
	denied(decide(s, run({ "--volume", "/srv/data:/other" })),
		"mount not allowed: /srv/data:/other (allowed: /home/alice:/home/alice, /srv/data:/data)")
	-- the subdirectory is not the entry
	denied(decide(with_mounts({ "/home/alice:/h" }), run({ "--volume", "/home/alice/data:/h" })),
		"mount not allowed: /home/alice/data:/h", true)
end)

test("mounts: flags (admin flags fixed; otherwise ro or rw; others denied)", function()
	local s = with_mounts({ "/srv/data:/data:ro" })
	eq(volumes(decide(s, run({ "--volume", "/srv/data:/data" })))[2], "/srv/data:/data:ro")
	eq(volumes(decide(s, run({ "--volume", "/srv/data:/data:ro" })))[2], "/srv/data:/data:ro")
	denied(decide(s, run({ "--volume", "/srv/data:/data:rw" })),
		"mount flags not allowed: /srv/data:/data:rw (allowed: ro)")
	s = with_mounts({ "/srv/data:" })
	eq(volumes(decide(s, run({ "--volume", "/srv/data:/d:rw" })))[2], "/srv/data:/d:rw")
	for _, f in ipairs({ "z", "Z", "shared", "rshared", "nocopy", "ro,z", "ro,rw" }) do
		denied(decide(s, run({ "--volume", "/srv/data:/d:" .. f })),
			"mount flags not allowed: /srv/data:/d:" .. f .. " (allowed: ro, rw)")
	end
	s = with_mounts({ "/srv/data:/d:ro,z" })
	eq(volumes(decide(s, run({ "--volume", "/srv/data:/d:z,ro" })))[2], "/srv/data:/d:ro,z")
	eq(volumes(decide(s, run({ "--volume", "/srv/data:/d" })))[2], "/srv/data:/d:ro,z")
	denied(decide(s, run({ "--volume", "/srv/data:/d:z" })), "mount flags not allowed", true)
end)

test("mounts: sub-path entry with a container path appends the sub-path", function()
	local s = with_mounts({ "/scratch/alice/**:/scratch" })
	eq(volumes(decide(s, run({ "--volume", "/scratch/alice/x/y:/scratch/x/y" })))[2],
		"/scratch/alice/x/y:/scratch/x/y")
	eq(volumes(decide(s, run({ "--volume", "/scratch/alice:/scratch" })))[2], "/scratch/alice:/scratch")
	eq(volumes(decide(s, run({ "--volume", "/scratch/alice/x/../x/y:/scratch/x/y:ro" })))[2],
		"/scratch/alice/x/y:/scratch/x/y:ro")
	denied(decide(s, run({ "--volume", "/scratch/alice/x/y:/scratch/y" })),
		"mount not allowed: /scratch/alice/x/y:/scratch/y (allowed: /home/alice:/home/alice, "
		.. "/scratch/alice/**:/scratch)")
	denied(decide(s, run({ "--volume", "/scratch/alice/x:/elsewhere" })), "mount not allowed", true)
end)

test("mounts: sub-path compares whole components (/scratch/alice2 is not below /scratch/alice)", function()
	local s = with_mounts({ "/scratch/alice/**:" })
	denied(decide(s, run({ "--volume", "/scratch/alice2:/s" })), "mount not allowed: /scratch/alice2:/s", true)
	denied(decide(s, run({ "--volume", "/scratch/alice/../alice2:/s" })),
		"mount not allowed: /scratch/alice/../alice2:/s", true)
	-- a symlink inside the root that points out of it is judged by its target
	denied(decide(s, run({ "--volume", "/scratch/alice/out:/s" })), "mount not allowed: /scratch/alice/out:/s", true)
	denied(decide(s, run({ "--volume", "/scratch:/s" })), "mount not allowed: /scratch:/s", true)
end)

test("mounts: home sub-path with user-chosen container path; escapes denied", function()
	local s = with_mounts({ "/home/alice/**:" })
	local res, host = decide(s, run({ "--volume", "/home/alice/data:/data", "--volume", "/home/alice/notes.txt:/n.txt:ro" }))
	eq(volumes(res), { "/home/alice:/home/alice", "/home/alice/data:/data", "/home/alice/notes.txt:/n.txt:ro" })
	eq(host.probes, { "/home/alice", "/home/alice/data" }, "files are not probed")
	eq(volumes(decide(s, run({ "--volume", "/home/alice/d/sub:/sub" })))[2], "/home/alice/data/sub:/sub")
	denied(decide(s, run({ "--volume", "/home/alice/etc:/e" })), "mount not allowed: /home/alice/etc:/e", true)
	denied(decide(s, run({ "--volume", "/home/alice/../bob:/b" })), "mount not allowed: /home/alice/../bob:/b", true)
	denied(decide(s, run({ "--volume", "/home/alice/data/../../bob:/b" })), "mount not allowed", true)
end)

test("mounts: missing sources are reported, not silently skipped", function()
	denied(decide(settings(), run({ "--volume", "/home/alice/nope:/n" })),
		"mount source not found: /home/alice/nope (No such file or directory)")
	denied(decide(settings(), run({ "--volume", "/home/alice/loop:/n" })),
		"mount source not found: /home/alice/loop (Too many levels of symbolic links)")
	denied(decide(settings(nil, caller_for("dave", 1005, "/home/dave")), run({}), {
		caller = caller_for("dave", 1005, "/home/dave") }),
		"mount source not found: /home/dave (No such file or directory)")
	-- a missing available root simply matches nothing
	denied(decide(with_mounts({ "/scratch/zoe/**:" }), run({ "--volume", "/scratch/alice:/s" })),
		"mount not allowed: /scratch/alice:/s", true)
end)

test("mounts: malformed, anonymous, named and relative volumes are denied", function()
	local s = with_mounts({ "/srv/data:" })
	denied(decide(s, run({ "--volume", "/x" })), "mount not allowed: /x (allowed: ", true)
	denied(decide(s, run({ "--volume", "myvol:/x" })), "mount not allowed: myvol:/x (allowed: ", true)
	denied(decide(s, run({ "--volume", "./data:/x" })), "mount not allowed: ./data:/x (allowed: ", true)
	denied(decide(s, run({ "--volume", "/srv/data:/x:ro:z" })),
		"mount malformed: /srv/data:/x:ro:z (expected HOST:CONTAINER[:ro|rw])")
	denied(decide(s, run({ "--volume", "/srv/data:" })), "mount malformed: /srv/data:", true)
	denied(decide(s, run({ "--volume", "/srv/data:/x:" })), "mount malformed: /srv/data:/x:", true)
	denied(decide(s, run({ "--volume", "/srv/data:/x:ro,,z" })), "mount malformed", true)
	denied(decide(s, run({ "--volume", "/srv/data:x" })),
		"mount not allowed: /srv/data:x (container path must be absolute)")
	denied(decide(s, run({ "--volume", "/srv/data:/" })),
		"mount not allowed: /srv/data:/ (container path must not be /)")
	denied(decide(s, run({ "--volume", "/srv/data:/x/.." })), "container path must not be /", true)
end)

test("mounts: a symlinked home is mounted by its real path", function()
	local carol = caller_for("carol", 1003, "/home/carol")
	local s = settings(nil, carol)
	local res = decide(s, run({}), { caller = carol })
	eq(volumes(res), { "/export/home/carol:/home/carol" })
	res = decide(s, run({ "--volume", "/export/home/carol:/home/carol:ro" }), { caller = carol })
	eq(volumes(res), { "/export/home/carol:/home/carol:ro" })
end)

test("mounts: host messages lose a repeated path prefix", function()
	local s = settings()
	local host = new_host()
	host.resolve = function(p) return nil, p .. ": Permission denied" end
	denied(M.decide(s, run({}), { caller = ALICE, host = host }),
		"mount source not found: /home/alice (Permission denied)")
end)

test("mounts: PROBE_USED_MOUNTS lists every mounted dir; failure denies", function()
	local s = with_mounts({ "/srv/data:", "/net/locked:/l" })
	local res, host = decide(s, run({ "--volume", "/data:/d" }))
	eq(res.action, "exec")
	eq(host.probes, { "/home/alice", "/srv/data" })
	denied(decide(s, run({ "--volume", "/net/locked:/l" })),
		"mount source not readable: /net/locked (Permission denied)")
	s.PROBE_USED_MOUNTS = false
	res, host = decide(s, run({ "--volume", "/net/locked:/l" }))
	eq(res.action, "exec")
	eq(host.probes, {})
end)

test("mounts: sockets and devices are not mountable", function()
	denied(decide(with_mounts({ "/run/**:" }), run({ "--volume", "/run/app.sock:/s" })),
		"mount not allowed: /run/app.sock:/s (/run/app.sock is not a file or directory)")
end)

test("mounts: a second source on a used container path is denied", function()
	local s = with_mounts({ "/srv/data:" })
	denied(decide(s, run({ "--volume", "/srv/data:/home/alice" })),
		"mount not allowed: /srv/data:/home/alice (container path /home/alice is already used by "
		.. "/home/alice:/home/alice)")
	eq(volumes(decide(s, run({ "--no-default-mounts", "true", "--volume", "/srv/data:/home/alice" }))),
		{ "/srv/data:/home/alice" })
end)

test("mounts: order is always, default, then user mounts in argv order", function()
	local s = settings(function(x)
		x.VOLUME_MOUNTS_ALWAYS = { "/srv/data:/data:ro" }
		x.VOLUME_MOUNTS_AVAILABLE = { "/scratch/alice/**:/scratch", "/etc/passwd:/etc/passwd:ro" }
	end)
	local res = decide(s, run({ "--volume", "/etc/passwd:/etc/passwd", "--tty", "true",
		"--volume", "/scratch/alice/x:/scratch/x" }))
	eq(opts(res), cat({ "--tty=true", "--rm=true", "--volume=/srv/data:/data:ro",
		"--volume=/home/alice:/home/alice", "--volume=/etc/passwd:/etc/passwd:ro",
		"--volume=/scratch/alice/x:/scratch/x" }, FORCED))
end)

-- ===================================================================
-- help
-- ===================================================================

test("global help lists userdocker options and only allowed subcommands", function()
	local s = settings(function(x) x.ALLOWED_SUBCOMMANDS = { "run", "ps" } end)
	local res = decide(s, { subcommand = nil, options = {}, args = {}, help = true })
	eq(res.action, "print")
	local t = res.text
	for _, w in ipairs({ "-h, --help", "--version", "-q, --quiet", "--debug", "-n, --dry-run",
		"--executor NAME", "docker (default), nvidia-docker", "  run ", "  ps " }) do
		contains(t, w)
	end
	for _, w in ipairs({ "pull", "images", "attach", "load", "dockviz", "\n  version" }) do lacks(t, w) end
end)

test("run help: allowed args with aliases, mounts, images, ports, RUN_PULL", function()
	local s = settings(function(x)
		x.ARGS_AVAILABLE.run[#x.ARGS_AVAILABLE.run + 1] = "--shm-size=1g"
		x.VOLUME_MOUNTS_AVAILABLE = { "/srv/data:", "/scratch/alice/**:/scratch" }
		x.VOLUME_MOUNTS_ALWAYS = { "/etc/passwd:/etc/passwd:ro" }
		x.ALLOWED_IMAGE_REGEXPS = { "^local/" }
		x.RUN_PULL = "never"
	end)
	local res = decide(s, request("run", {}, {}, true))
	eq(res.action, "print")
	local t = res.text
	for _, w in ipairs({ "Usage: userdocker run", "-t, --tty", "-i, --interactive", "--read-only",
		"-P, --publish-all", "--entrypoint", "-w, --workdir", "--shm-size=1g", "Always added: --rm",
		"--no-default-mounts", "-v, --volume", "-e, --env", "-p, --publish",
		"always:    /etc/passwd:/etc/passwd:ro", "default:   /home/alice:/home/alice",
		"available: /srv/data:, /scratch/alice/**:/scratch", "^local/",
		[[^127\.0\.0\.1::[0-9]+$, ^[0-9]+$]], "RUN_PULL=never" }) do
		contains(t, w)
	end
	lacks(t, "--privileged")
end)

test("run help omits ports when ALLOWED_PORT_MAPPINGS is empty", function()
	local t = decide(settings(function(x) x.ALLOWED_PORT_MAPPINGS = {} end),
		request("run", {}, {}, true)).text
	lacks(t, "--publish ")
	lacks(t, "Port mappings")
	contains(t, "-P, --publish-all")
end)

test("subcommand help lists that subcommand's args; disallowed subcommand denied", function()
	local t = decide(settings(), request("ps", {}, {}, true)).text
	for _, w in ipairs({ "Usage: userdocker ps", "-a, --all", "-l, --latest", "-s, --size",
		"-q, --quiet", "--no-trunc" }) do contains(t, w) end
	lacks(t, "--tty")
	contains(decide(settings(), request("version", {}, {}, true)).text, "none")
	local s = settings(function(x) x.ALLOWED_SUBCOMMANDS = { "run" } end)
	denied(decide(s, request("ps", {}, {}, true)), "subcommand not allowed: ps (allowed: run)")
end)

-- ===================================================================
-- debug logging, robustness
-- ===================================================================

test("ctx.debug logs each decision through host.log", function()
	local s = settings(function(x) x.ALLOWED_IMAGE_REGEXPS = { "^local/" } end)
	local res, host = decide(s, run({ "--tty", "true" }), { debug = true })
	eq(res.action, "exec")
	local all = table.concat(host.logs, "\n")
	contains(all, "debug: mount /home/alice:/home/alice: default")
	contains(all, "debug: image local/busybox:latest matches ^local/")
	contains(all, "debug: executor docker: /usr/bin/docker")
	contains(all, "debug: option --tty: in ARGS_AVAILABLE.run")
	res, host = decide(s, run({ "--privileged", "true" }), { debug = true })
	contains(table.concat(host.logs, "\n"), "debug: deny: run option not allowed: --privileged")
	res, host = decide(s, run({ "--tty", "true" }))
	eq(host.logs, {}, "quiet without debug")
end)

test("invalid settings and malformed requests are errors, not denials", function()
	raises(function() decide(settings(function(s) s.RUN_PULL = "x" end), run({})) end, "RUN_PULL: ")
	raises(function() decide(settings(), { subcommand = "run", options = { { name = "--tty" } } }) end,
		"request: options[1]")
	raises(function() decide(settings(), { subcommand = "run", args = { 1 } }) end, "request: args[1]")
	raises(function() M.decide(settings(), run({}), { caller = ALICE }) end, "ctx.host")
end)

test("host failures inside decide propagate as errors (fail closed)", function()
	local s = settings()
	local host = new_host()
	host.resolve = function() error("resolver crashed") end
	raises(function() M.decide(s, run({}), { caller = ALICE, host = host }) end, "resolver crashed")
end)

print("1.." .. count)
os.exit(failures == 0 and 0 or 1)
