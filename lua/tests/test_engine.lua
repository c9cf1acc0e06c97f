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
		"- gpus value", "- runtime value", "- device value",
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

--- A 64-digit container id made of one repeated hex digit.
local function cid(digit)
	return string.rep(digit, 64)
end

--- n idle GPUs, indexes 0..n-1, as host.gpus lists them.
local function idle_gpus(n)
	local list = {}
	for i = 0, n - 1 do list[#list + 1] = { index = i, memory_used = 0, users = {} } end
	return list
end

--- Deep copy (the engine must not depend on the host keeping its tables).
local function deep_copy(v)
	if type(v) ~= "table" then return v end
	local t = {}
	for k, x in pairs(v) do t[k] = deep_copy(x) end
	return t
end

--- A fresh mock host; its logs, probes and host.gpus calls are recorded.
--- host.gpu_list is what host.gpus returns (8 idle GPUs unless a test sets
--- it), or a string to raise as an error.
local function new_host()
	local host = { logs = {}, probes = {}, gpu_calls = {}, gpu_list = idle_gpus(8) }
	host.gpus = function(smi)
		host.gpu_calls[#host.gpu_calls + 1] = smi
		if type(host.gpu_list) == "string" then error(host.gpu_list, 0) end
		return deep_copy(host.gpu_list)
	end
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
--- ctx.gpus, when given, is what host.gpus returns.
local function decide(s, req, ctx)
	local host = new_host()
	ctx = ctx or {}
	ctx.caller = ctx.caller or ALICE
	ctx.host = host
	if ctx.gpus ~= nil then
		host.gpu_list = ctx.gpus
		ctx.gpus = nil
	end
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
	eq(s.ALLOWED_SUBCOMMANDS, { "attach", "dockviz", "images", "load", "ps", "pull", "run", "version",
		"exec", "inspect", "kill", "logs", "port", "restart", "rm", "start", "stats", "stop", "top", "wait" })
	eq(s.ARGS_ALWAYS, { run = { "--rm" } })
	eq(s.ARGS_AVAILABLE.run, { { "-t", "--tty" }, { "-i", "--interactive" }, "--read-only",
		{ "-P", "--publish-all" }, "--entrypoint", { "-w", "--workdir" } })
	eq(s.ARGS_AVAILABLE.ps, { { "-a", "--all" }, { "-l", "--latest" }, { "-s", "--size" },
		{ "-q", "--quiet" }, "--no-trunc" })
	eq(s.ARGS_AVAILABLE.version, {})
	eq(s.VOLUME_MOUNTS_DEFAULT, { "/home/alice:/home/alice" })
	eq(s.VOLUME_MOUNTS_ALWAYS, {})
	eq(s.VOLUME_MOUNTS_AVAILABLE, {})
	eq(s.VOLUME_NAMED_REGEXPS, {})
	eq(s.VOLUME_ANONYMOUS, true)
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
	eq(s.NV_EXECUTOR_MODES, { ["nvidia-docker"] = "legacy" })
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
	{ function(s) s.ALLOWED_SUBCOMMANDS = { "run", "build" } end,
		"ALLOWED_SUBCOMMANDS[2]: unsupported subcommand: build" },
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
	{ function(s) s.VOLUME_NAMED_REGEXPS = "^alice_" end, "VOLUME_NAMED_REGEXPS: must be a list" },
	{ function(s) s.VOLUME_NAMED_REGEXPS = { "^alice_", false } end,
		"VOLUME_NAMED_REGEXPS[2]: must be a string, got boolean" },
	{ function(s) s.VOLUME_NAMED_REGEXPS = nil end, "VOLUME_NAMED_REGEXPS: missing" },
	{ function(s) s.VOLUME_ANONYMOUS = "no" end, "VOLUME_ANONYMOUS: must be true or false, got string" },
	{ function(s) s.VOLUME_ANONYMOUS = nil end, "VOLUME_ANONYMOUS: missing" },
	{ function(s) s.USER_IN_CONTAINER = nil end, "USER_IN_CONTAINER: missing" },
	{ function(s) s.NO_NEW_PRIVILEGES = 1 end, "NO_NEW_PRIVILEGES: must be true or false" },
	{ function(s) s.PS_SHOW_ALL = nil end, "PS_SHOW_ALL: missing" },
	{ function(s) s.NV_EXECUTOR_MODES = nil end, "NV_EXECUTOR_MODES: missing" },
	{ function(s) s.NV_EXECUTOR_MODES = "legacy" end, "NV_EXECUTOR_MODES: must be a table" },
	{ function(s) s.NV_EXECUTOR_MODES = { "legacy" } end, "NV_EXECUTOR_MODES: keys must be strings" },
	{ function(s) s.NV_EXECUTOR_MODES = { ["nvidia-docker"] = "cdi" } end,
		"NV_EXECUTOR_MODES.nvidia-docker: must be one of legacy, gpus, runtime, got cdi" },
	{ function(s) s.NV_EXECUTOR_MODES = { docker = true } end,
		"NV_EXECUTOR_MODES.docker: must be one of legacy, gpus, runtime, got true" },
	{ function(s) s.NV_ALLOWED_GPUS = { 0, 2, 0 } end, "NV_ALLOWED_GPUS[3]: GPU 0 is listed twice" },
	{ function(s) s.NV_ALLOWED_GPUS = { -1 } end, "NV_ALLOWED_GPUS[1]: must be 0 or more" },
	{ function(s) s.NV_ALLOWED_GPUS = { 1.0 } end, "NV_ALLOWED_GPUS[1]: must be an integer, got float" },
	{ function(s) s.NV_ALLOWED_GPUS = { [2] = 1 } end, "NV_ALLOWED_GPUS: must be a list" },
	{ function(s) s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = -2 end,
		"NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED: must be -1 or more" },
	{ function(s) s.NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = "yes" end,
		"NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION: must be true or false" },
	{ function(s) s.NV_ALLOW_OWN_GPU_REUSE = nil end, "NV_ALLOW_OWN_GPU_REUSE: missing" },
	{ function(s) s.ENV_VARS = { "NVIDIA_VISIBLE_DEVICES=all" } end,
		"ENV_VARS[1]: GPUs are reserved by userdocker (NV_* settings), not via NVIDIA_VISIBLE_DEVICES" },
	{ function(s) s.ENV_VARS_EXT["nvidia-docker"][2] = "CUDA_VISIBLE_DEVICES=0" end,
		"ENV_VARS_EXT.nvidia-docker[2]: GPUs are reserved by userdocker (NV_* settings), not via CUDA_VISIBLE_DEVICES" },
	{ function(s) s.ENV_VARS = { "NV_GPU=0" } end, "ENV_VARS[1]: GPUs are reserved by userdocker" },
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
		s.VOLUME_NAMED_REGEXPS = { "^" .. "alice" .. "_", "^u1001_" }
		s.VOLUME_ANONYMOUS = false
		-- modes for executors a later file removed are fine
		s.NV_EXECUTOR_MODES = { ["nvidia-docker"] = "legacy", gpu = "gpus", rt = "runtime" }
		s.ENV_VARS_EXT["nvidia-docker"][2] = "NVIDIA_DRIVER_CAPABILITIES=compute,utility"
	end))
	M.validate(settings(function(s)
		s.NV_ALLOWED_GPUS = {}
		s.NV_EXECUTOR_MODES = {}
		s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = -1
		s.NV_DEFAULT_GPU_COUNT_RESERVATION = 0
		s.NV_MAX_GPU_COUNT_RESERVATION = 0
	end))
end)

-- ===================================================================
-- dump
-- ===================================================================

test("EXEC_AS: root by default, a user name, passed on with the verdict", function()
	eq(settings().EXEC_AS, "root")
	local s = settings(function(x) x.EXEC_AS = "docker-cli" end)
	eq(decide(s, run({})).exec_as, "docker-cli")
	for _, bad in ipairs({ "", "Root", "a b", "../x", 0 }) do
		local t = settings(function(x) x.EXEC_AS = bad end)
		raises(function() M.validate(t) end, "EXEC_AS: ")
	end
end)

test("dump lists every setting, one per line, in a stable order", function()
	local text = M.dump(settings())
	local lines = {}
	for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
	eq(#lines, 33, "one line per setting")
	eq(lines[1], 'LOGLVL = "INFO"')
	eq(lines[2], 'EXECUTORS = {docker = "/usr/bin/docker", ["nvidia-docker"] = "/usr/bin/nvidia-docker"}')
	eq(lines[5], 'ARGS_ALWAYS = {run = {"--rm"}}')
	contains(text, 'ALLOWED_PORT_MAPPINGS = {"^127\\\\.0\\\\.0\\\\.1::[0-9]+$", "^[0-9]+$"}')
	contains(text, "NV_MAX_GPU_COUNT_RESERVATION = -1\n")
	contains(text, '\nNV_EXECUTOR_MODES = {["nvidia-docker"] = "legacy"}\n')
	contains(text, "\nVOLUME_NAMED_REGEXPS = {}\nVOLUME_ANONYMOUS = true\nPROBE_USED_MOUNTS = true\n")
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
		decide(settings(function(s) s.ARGS_ALWAYS.run = { "--volumes-from=other" } end), run({}))
	end, "ARGS_ALWAYS.run: --volumes-from cannot be forced here, it is never allowed")
	raises(function()
		decide(settings(function(s) s.ARGS_ALWAYS.run = { "--volume-driver=local" } end), run({}))
	end, "ARGS_ALWAYS.run: --volume-driver cannot be forced here, it is never allowed")
	raises(function()
		decide(settings(function(s) s.ARGS_ALWAYS.run = { "--rm=yes" } end), run({}))
	end, "ARGS_ALWAYS.run: --rm takes true or false")
	raises(function()
		decide(settings(function(s) s.ARGS_ALWAYS.ps = { "--nope" } end), request("ps"))
	end, "ARGS_ALWAYS.ps: unknown option for ps: --nope")
end)

test("--volumes-from and --volume-driver are always denied, even when listed", function()
	local s = settings()
	denied(decide(s, run({ "--volumes-from", "other" })),
		"run option not allowed: --volumes-from (another container's mounts cannot be checked)")
	denied(decide(s, run({ "--volume-driver", "local" })),
		"run option not allowed: --volume-driver (a volume driver can mount any host path)")
	s.ARGS_AVAILABLE.run = { "--volumes-from", "--volume-driver=local", "--mount" }
	denied(decide(s, run({ "--volumes-from", "other:ro" })),
		"run option not allowed: --volumes-from (another container's mounts cannot be checked)")
	denied(decide(s, run({ "--volume-driver", "local" })),
		"run option not allowed: --volume-driver (a volume driver can mount any host path)")
end)

test("--tmpfs: denied unless listed; listed, its value is checked", function()
	local s = settings()
	denied(decide(s, run({ "--tmpfs", "/t" })), "run option not allowed: --tmpfs=/t (allowed: ", true)
	s.ARGS_AVAILABLE.run = { "--tmpfs" }
	eq(opts(decide(s, run({ "--tmpfs", "/t" })))[1], "--tmpfs=/t")
	eq(opts(decide(s, run({ "--tmpfs", "/t/./x/" })))[1], "--tmpfs=/t/x")
	eq(opts(decide(s, run({ "--tmpfs", "/t:" })))[1], "--tmpfs=/t")
	eq(opts(decide(s, run({ "--tmpfs", "/t:rw,noexec,nosuid,size=64m,mode=1777,uid=1001,gid=1001" })))[1],
		"--tmpfs=/t:rw,noexec,nosuid,size=64m,mode=1777,uid=1001,gid=1001")
	eq(opts(decide(s, run({ "--tmpfs", "/t:size=50%,nr_inodes=1k,ro,exec" })))[1],
		"--tmpfs=/t:size=50%,nr_inodes=1k,ro,exec")
	denied(decide(s, run({ "--tmpfs", "t" })), "tmpfs not allowed: t (container path must be absolute)")
	denied(decide(s, run({ "--tmpfs", "" })), "tmpfs not allowed:  (container path must be absolute)")
	denied(decide(s, run({ "--tmpfs", "./t:size=1m" })), "tmpfs not allowed: ./t:size=1m (container path", true)
	denied(decide(s, run({ "--tmpfs", "/" })), "tmpfs not allowed: / (container path must not be /)")
	denied(decide(s, run({ "--tmpfs", "/t/..:size=1m" })), "tmpfs not allowed: /t/..:size=1m (container path must not be /)")
	-- ':' only separates the path from the options
	denied(decide(s, run({ "--tmpfs", "/t:size=1m:/etc" })), "tmpfs option not allowed: /t:size=1m:/etc (size=1m:/etc)")
	denied(decide(s, run({ "--tmpfs", "/t::rw" })), "tmpfs option not allowed: /t::rw (:rw)")
	denied(decide(s, run({ "--tmpfs", "/t:rw,,noexec" })), "tmpfs malformed: /t:rw,,noexec (empty option)")
	denied(decide(s, run({ "--tmpfs", "/t:rw," })), "tmpfs malformed: /t:rw, (empty option)")
	denied(decide(s, run({ "--tmpfs", "/t\nx" })), "tmpfs malformed", true)
	for _, o in ipairs({ "bind", "rbind", "remount", "shared", "rslave", "private", "mand",
		"size=", "size=1x", "mode=999", "uid=-1", "mpol=default", "exec=1", "RO" }) do
		denied(decide(s, run({ "--tmpfs", "/t:" .. o })), "tmpfs option not allowed: /t:" .. o .. " (" .. o .. ")")
	end
	-- an exact entry allows exactly that value (after the path is normalised)
	s.ARGS_AVAILABLE.run = { "--tmpfs=/tmp:size=1g" }
	eq(opts(decide(s, run({ "--tmpfs", "/tmp/:size=1g" })))[1], "--tmpfs=/tmp:size=1g")
	denied(decide(s, run({ "--tmpfs", "/tmp:size=2g" })), "run option not allowed: --tmpfs=/tmp:size=2g", true)
	-- a forced value the user repeats is not duplicated
	s.ARGS_ALWAYS.run = { "--rm", "--tmpfs=/tmp" }
	local o = opts(decide(s, run({ "--tmpfs", "/tmp" })))
	eq(o[1], "--rm=true")
	eq(o[2], "--tmpfs=/tmp")
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
	eq(opts(res), { "--all=true", "--quiet=true", "--no-trunc=true",
		"--filter=label=userdocker.owner.uid=1001" })
	eq(res.request.args, {})
	local all = settings()
	all.PS_SHOW_ALL = true
	eq(opts(decide(all, request("ps", { "--all", "true" }))), { "--all=true" })
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
	eq(res.gpus, "0")
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
	for _, k in ipairs({ "NV_GPU", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
		"NVIDIA_DRIVER_CAPABILITIES" }) do
		denied(decide(s, run({ "--env", k .. "=0,1" })), "env not allowed: " .. k .. "=0,1", true)
		denied(decide(s, run({ "--env", k .. "=all" }), { executor = "nvidia-docker" }),
			"env not allowed: " .. k .. "=all (GPUs are assigned by userdocker, not via " .. k
			.. "; use NV_GPU in your environment with a GPU executor)")
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

test("mounts: malformed and relative -v values are denied", function()
	local s = with_mounts({ "/srv/data:" })
	denied(decide(s, run({ "--volume", "./data:/x" })),
		"mount not allowed: ./data:/x (host path must be absolute)")
	denied(decide(s, run({ "--volume", "../data:/x" })),
		"mount not allowed: ../data:/x (host path must be absolute)")
	denied(decide(s, run({ "--volume", "~/data:/x" })),
		"mount not allowed: ~/data:/x (host path must be absolute)")
	denied(decide(s, run({ "--volume", ".:/x" })), "mount not allowed: .:/x (host path must be absolute)")
	denied(decide(s, run({ "--volume", "/srv/data:/x:ro:z" })),
		"mount malformed: /srv/data:/x:ro:z (expected HOST:CONTAINER[:ro|rw], NAME:CONTAINER[:ro|rw] or CONTAINER)")
	denied(decide(s, run({ "--volume", "" })), "mount malformed:  (expected", true)
	denied(decide(s, run({ "--volume", ":/x" })), "mount malformed: :/x (expected", true)
	denied(decide(s, run({ "--volume", "/srv/data:" })), "mount malformed: /srv/data:", true)
	denied(decide(s, run({ "--volume", "/srv/data:/x:" })), "mount malformed: /srv/data:/x:", true)
	denied(decide(s, run({ "--volume", "/srv/data:/x:ro,,z" })), "mount malformed", true)
	denied(decide(s, run({ "--volume", "/srv/data:x" })),
		"mount not allowed: /srv/data:x (container path must be absolute)")
	denied(decide(s, run({ "--volume", "/srv/data:/" })),
		"mount not allowed: /srv/data:/ (container path must not be /)")
	denied(decide(s, run({ "--volume", "/srv/data:/x/.." })), "container path must not be /", true)
	-- docker reads "/x:ro" as source /x, target "ro"
	denied(decide(s, run({ "--volume", "/srv/data:ro" })),
		"mount not allowed: /srv/data:ro (container path must be absolute)")
end)

test("mounts: a host path with ':' (given or resolved) is denied", function()
	FS["/srv/a:b"] = "dir"
	FS["/home/alice/colon"] = { link = "/srv/a:b" }
	local ok, err = pcall(function()
		local s = with_mounts({ "/srv/**:", "/home/alice/**:" })
		denied(decide(s, run({ "--volume", "/home/alice/colon:/c" })),
			"mount not allowed: /home/alice/colon:/c (host path /srv/a:b contains ':')")
		denied(decide(s, run({ "--mount", "type=bind,src=/srv/a:b,dst=/c" })),
			"mount not allowed: type=bind,src=/srv/a:b,dst=/c (host path must not contain ':')")
		denied(decide(s, run({ "--mount", "type=bind,src=/home/alice/colon,dst=/c" })),
			"mount not allowed: type=bind,src=/home/alice/colon,dst=/c (host path /srv/a:b contains ':')")
	end)
	FS["/srv/a:b"], FS["/home/alice/colon"] = nil, nil
	assert(ok, err)
end)

--- Settings allowing alice's named volumes.
local function with_named(mod)
	return settings(function(s)
		s.VOLUME_NAMED_REGEXPS = { "^alice_", "^shared-ro$" }
		s.VOLUME_MOUNTS_AVAILABLE = { "/srv/data:" }
		if mod then mod(s) end
	end)
end

test("named volumes: none allowed by default", function()
	denied(decide(settings(), run({ "--volume", "myvol:/x" })),
		"named volume not allowed: myvol:/x (allowed names: none)")
	denied(decide(settings(), run({ "--mount", "type=volume,src=myvol,dst=/x" })),
		"named volume not allowed: type=volume,src=myvol,dst=/x (allowed names: none)")
end)

test("named volumes: -v NAME:CONTAINER[:ro|rw] must match VOLUME_NAMED_REGEXPS", function()
	local s = with_named()
	eq(volumes(decide(s, run({ "--volume", "alice_data:/data" }))),
		{ "/home/alice:/home/alice", "alice_data:/data" })
	eq(volumes(decide(s, run({ "--volume", "alice_data:/data/./x/:ro" }))),
		{ "/home/alice:/home/alice", "alice_data:/data/x:ro" })
	eq(volumes(decide(s, run({ "--volume", "alice_data:/data:rw" })))[2], "alice_data:/data:rw")
	eq(volumes(decide(s, run({ "--volume", "alice_data:/data:ro,nocopy" })))[2], "alice_data:/data:nocopy,ro")
	eq(volumes(decide(s, run({ "--volume", "shared-ro:/s:ro" })))[2], "shared-ro:/s:ro")
	denied(decide(s, run({ "--volume", "bob_data:/data" })),
		"named volume not allowed: bob_data:/data (allowed names: ^alice_, ^shared-ro$)")
	denied(decide(s, run({ "--volume", "shared-rox:/s" })), "named volume not allowed: shared-rox:/s", true)
	-- the pattern is anchored at the start
	denied(decide(s, run({ "--volume", "xalice_data:/data" })), "named volume not allowed", true)
	for _, f in ipairs({ "z", "Z", "shared", "ro,rw", "ro,ro", "nocopy,nocopy" }) do
		denied(decide(s, run({ "--volume", "alice_data:/data:" .. f })),
			"mount flags not allowed: alice_data:/data:" .. f .. " (allowed for volumes: ro, rw, nocopy)")
	end
	denied(decide(s, run({ "--volume", "alice_data:data" })),
		"mount not allowed: alice_data:data (container path must be absolute)")
	denied(decide(s, run({ "--volume", "alice_data:/" })),
		"mount not allowed: alice_data:/ (container path must not be /)")
end)

test("named volumes: names docker would not accept are malformed", function()
	local s = with_named(function(x) x.VOLUME_NAMED_REGEXPS = { "^" } end)
	for _, name in ipairs({ "a", "_alice", "-x", "alice/data", "alice data", "al$ce", "c" }) do
		denied(decide(s, run({ "--volume", name .. ":/x" })),
			"mount malformed: " .. name .. ":/x (volume name " .. name .. ": only [A-Za-z0-9][A-Za-z0-9_.-]+ is allowed)")
	end
	-- a Windows-looking drive letter is a one-letter name here, and refused
	denied(decide(s, run({ "--volume", "c:/foo:/x" })), "mount malformed: c:/foo:/x (volume name c:", true)
	eq(volumes(decide(s, run({ "--volume", "A1.b-c_d:/x" })))[2], "A1.b-c_d:/x")
end)

test("named volumes: names of anonymous volumes are refused whatever the patterns", function()
	local s = with_named(function(x) x.VOLUME_NAMED_REGEXPS = { "^[0-9a-f]" } end)
	local id = ("0123456789abcdef"):rep(4)
	denied(decide(s, run({ "--volume", id .. ":/x" })),
		"named volume not allowed: " .. id .. ":/x (" .. id .. " is the name of an anonymous volume)")
	denied(decide(s, run({ "--mount", "type=volume,src=" .. id .. ",dst=/x" })),
		"is the name of an anonymous volume", true)
	-- 63 or 65 hex digits are ordinary names
	eq(volumes(decide(s, run({ "--volume", id:sub(2) .. ":/x" })))[2], id:sub(2) .. ":/x")
	eq(volumes(decide(s, run({ "--volume", id .. "0:/x" })))[2], id .. "0:/x")
end)

test("named volumes: an invalid regexp is an error naming the setting", function()
	raises(function()
		decide(with_named(function(x) x.VOLUME_NAMED_REGEXPS = { "^[alice" } end),
			run({ "--volume", "alice_x:/x" }))
	end, "VOLUME_NAMED_REGEXPS: invalid regexp ^[alice")
end)

test("anonymous volumes: allowed by default, refused with VOLUME_ANONYMOUS = false", function()
	local s = settings()
	eq(volumes(decide(s, run({ "--volume", "/cache" }))), { "/home/alice:/home/alice", "/cache" })
	eq(volumes(decide(s, run({ "--volume", "/cache/./x/" })))[2], "/cache/x")
	eq(volumes(decide(s, run({ "--mount", "type=volume,dst=/cache" })))[2], "/cache")
	eq(volumes(decide(s, run({ "--mount", "dst=/cache" })))[2], "/cache", "type defaults to volume")
	eq(volumes(decide(s, run({ "--mount", "type=volume,src=,dst=/cache" })))[2], "/cache")
	denied(decide(s, run({ "--volume", "cache" })),
		"mount not allowed: cache (container path must be absolute)")
	denied(decide(s, run({ "--volume", "./cache" })),
		"mount not allowed: ./cache (container path must be absolute)")
	denied(decide(s, run({ "--volume", "/" })), "mount not allowed: / (container path must not be /)")
	s.VOLUME_ANONYMOUS = false
	denied(decide(s, run({ "--volume", "/cache" })),
		"anonymous volume not allowed: /cache (anonymous volumes are disabled here)")
	denied(decide(s, run({ "--mount", "type=volume,target=/cache" })),
		"anonymous volume not allowed: type=volume,target=/cache (anonymous volumes are disabled here)")
end)

test("volumes: container path clashes with binds are denied; same volume again replaces", function()
	local s = with_named()
	denied(decide(s, run({ "--volume", "alice_home:/home/alice" })),
		"mount not allowed: alice_home:/home/alice (container path /home/alice is already used by "
		.. "/home/alice:/home/alice)")
	denied(decide(s, run({ "--volume", "/home/alice" })),
		"mount not allowed: /home/alice (container path /home/alice is already used by "
		.. "/home/alice:/home/alice)")
	denied(decide(s, run({ "--volume", "alice_a:/x", "--volume", "alice_b:/x" })),
		"mount not allowed: alice_b:/x (container path /x is already used by alice_a:/x)")
	denied(decide(s, run({ "--volume", "alice_a:/x", "--volume", "/x" })),
		"mount not allowed: /x (container path /x is already used by alice_a:/x)")
	denied(decide(s, run({ "--volume", "/x", "--volume", "/srv/data:/x" })),
		"mount not allowed: /srv/data:/x (container path /x is already used by /x)")
	eq(volumes(decide(s, run({ "--volume", "alice_a:/x", "--volume", "alice_a:/x:ro" }))),
		{ "/home/alice:/home/alice", "alice_a:/x:ro" })
	eq(volumes(decide(s, run({ "--volume", "/x", "--mount", "type=volume,dst=/x/" }))),
		{ "/home/alice:/home/alice", "/x" })
	-- one volume at two places is fine
	eq(volumes(decide(s, run({ "--volume", "alice_a:/x", "--volume", "alice_a:/y:ro" }))),
		{ "/home/alice:/home/alice", "alice_a:/x", "alice_a:/y:ro" })
	-- volumes are not probed
	local _, host = decide(s, run({ "--volume", "alice_a:/x", "--volume", "/y" }))
	eq(host.probes, { "/home/alice" })
end)

-- --mount -------------------------------------------------------------

test("--mount type=bind: the -v rules, passed on as --volume", function()
	local s = with_mounts({ "/srv/data:", "/scratch/alice/**:/scratch" })
	local res = decide(s, run({ "--tty", "true", "--mount", "type=bind,src=/srv/data,dst=/in" }))
	eq(opts(res), cat({ "--tty=true", "--rm=true", "--volume=/home/alice:/home/alice",
		"--volume=/srv/data:/in" }, FORCED))
	eq(volumes(decide(s, run({ "--mount", "type=bind,source=/data,target=/in/./x/" })))[2],
		"/srv/data:/in/x", "resolved source, normalised target")
	eq(volumes(decide(s, run({ "--mount", "type=bind,src=/scratch/alice/x/y,destination=/scratch/x/y" })))[2],
		"/scratch/alice/x/y:/scratch/x/y")
	denied(decide(s, run({ "--mount", "type=bind,src=/scratch/alice/x/y,dst=/scratch/y" })),
		"mount not allowed: type=bind,src=/scratch/alice/x/y,dst=/scratch/y (allowed: "
		.. "/home/alice:/home/alice, /srv/data:, /scratch/alice/**:/scratch)")
	denied(decide(s, run({ "--mount", "type=bind,src=/etc,dst=/etc" })),
		"mount not allowed: type=bind,src=/etc,dst=/etc (allowed: ", true)
	denied(decide(s, run({ "--mount", "type=bind,src=/home/alice/etc,dst=/e" })),
		"mount not allowed: type=bind,src=/home/alice/etc,dst=/e (it resolves to /etc; allowed: ", true)
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/nope,dst=/n" })),
		"mount source not found: /srv/nope (No such file or directory)")
	denied(decide(s, run({ "--mount", "type=bind,src=/net/locked,dst=/n" })), "mount not allowed", true)
	-- probed like any bind
	local _, host = decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/in" }))
	eq(host.probes, { "/home/alice", "/srv/data" })
end)

test("--mount type=bind: readonly forms give :ro; admin flags still apply", function()
	local s = with_mounts({ "/srv/data:" })
	for _, ro in ipairs({ "readonly", "ro", "RO", "ReadOnly", "readonly=true", "ro=1", "ro=t",
		"ro=T", "ro=TRUE", "ro=True" }) do
		eq(volumes(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/d," .. ro })))[2],
			"/srv/data:/d:ro", ro)
	end
	for _, rw in ipairs({ "readonly=false", "ro=0", "ro=f", "ro=F", "ro=FALSE", "ro=False", "readonly,ro=false" }) do
		eq(volumes(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/d," .. rw })))[2],
			"/srv/data:/d", rw)
	end
	for _, bad in ipairs({ "ro=yes", "readonly=", "ro=2", "ro=tRUE" }) do
		denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/d," .. bad })),
			"mount malformed: type=bind,src=/srv/data,dst=/d," .. bad .. " (invalid value for ", true)
	end
	s = with_mounts({ "/srv/data:/d:ro" })
	eq(volumes(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/d" })))[2], "/srv/data:/d:ro")
	s = with_mounts({ "/srv/data:/d:ro,z" })
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/d,ro" })),
		"mount flags not allowed: type=bind,src=/srv/data,dst=/d,ro (allowed: ro,z)")
	-- readonly upgrades the default mount in place, as -v ...:ro does
	eq(volumes(decide(settings(), run({ "--mount", "type=bind,src=/home/alice,dst=/home/alice,readonly" }))),
		{ "/home/alice:/home/alice:ro" })
end)

test("--mount: keys are case-insensitive, a later key overrides an earlier one", function()
	local s = with_mounts({ "/srv/data:" })
	eq(volumes(decide(s, run({ "--mount", "TYPE=BIND,SRC=/srv/data,DST=/x,RO" })))[2], "/srv/data:/x:ro")
	eq(volumes(decide(s, run({ "--mount", "Type=Bind,Source=/srv/data,Target=/x" })))[2], "/srv/data:/x")
	-- the later type wins: this is a bind
	eq(volumes(decide(s, run({ "--mount", "type=volume,target=/x,type=bind,src=/srv/data" })))[2],
		"/srv/data:/x")
	denied(decide(s, run({ "--mount", "type=volume,target=/x,type=bind,src=/etc" })),
		"mount not allowed: type=volume,target=/x,type=bind,src=/etc (allowed: ", true)
	-- ... and the later source and target
	eq(volumes(decide(s, run({ "--mount", "type=bind,src=/etc,dst=/e,src=/srv/data,target=/y" })))[2],
		"/srv/data:/y")
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/x,source=/etc" })),
		"mount not allowed: type=bind,src=/srv/data,dst=/x,source=/etc (allowed: ", true)
	-- the later type the other way round: a volume named /srv/data, not a bind
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/x,type=volume" })),
		"mount malformed: type=bind,src=/srv/data,dst=/x,type=volume (volume name /srv/data: only", true)
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/x,bind-propagation=rprivate,type=volume" })),
		"(cannot mix 'bind-*' options with type=volume)", true)
	eq(volumes(decide(s, run({ "--mount", "ro,type=bind,src=/srv/data,dst=/x,readonly=0" })))[2], "/srv/data:/x")
	-- values are case-sensitive except type, consistency and bind-propagation
	denied(decide(s, run({ "--mount", "type=bind,src=/SRV/data,dst=/x" })), "mount source not found: /SRV/data", true)
end)

test("--mount: Go encoding/csv quoting", function()
	local s = with_mounts({ "/srv/data:" })
	eq(volumes(decide(s, run({ "--mount", 'type=bind,"source=/srv/data",target=/x' })))[2], "/srv/data:/x")
	eq(volumes(decide(s, run({ "--mount", '"type=bind","src=/srv/data","dst=/x,y"' })))[2], "/srv/data:/x,y")
	eq(volumes(decide(s, run({ "--mount", '"type=bind",src=/srv/data,"dst=/a""b"' })))[2], '/srv/data:/a"b')
	eq(volumes(decide(s, run({ "--mount", 'type=bind,src=/srv/data,dst=/x,"ro"' })))[2], "/srv/data:/x:ro")
	-- an empty quoted field is an empty field
	denied(decide(s, run({ "--mount", 'type=bind,src=/srv/data,dst=/x,""' })),
		"mount malformed: type=bind,src=/srv/data,dst=/x,\"\" ('' must be a key=value pair)")
	-- quoting hides the comma from the field splitter: one field, src=/etc,dst=/x
	denied(decide(s, run({ "--mount", 'type=bind,"src=/srv/data,dst=/x"' })),
		"mount malformed: type=bind,\"src=/srv/data,dst=/x\" (target is required)")
	for _, case in ipairs({
		{ 'type=bind,src="/srv/data",dst=/x', "a quote inside an unquoted field" },
		{ 'type=bind,src=/srv/data,dst=/x"', "a quote inside an unquoted field" },
		{ ' "type=bind",src=/srv/data,dst=/x', "a quote inside an unquoted field" },
		{ '"type=bind,src=/srv/data,dst=/x', "a quoted field is not closed" },
		{ '"type=bind"x,src=/srv/data,dst=/x', "text after the closing quote of a field" },
		{ '"type=bind" ,src=/srv/data,dst=/x', "text after the closing quote of a field" },
		{ 'type=bind,src=/srv/data,dst=/x\n', "control characters" },
		{ 'type=bind,src=/srv/data,dst=/x\ntype=bind,src=/etc,dst=/y', "control characters" },
		{ '\ntype=bind,src=/srv/data,dst=/x', "control characters" },
		{ 'type=bind,src=/srv/data,dst=/x\r', "control characters" },
		{ '', "empty" },
	}) do
		denied(decide(s, run({ "--mount", case[1] })), "(" .. case[2] .. ")", true)
		denied(decide(s, run({ "--mount", case[1] })), "mount malformed: ", true)
	end
end)

test("--mount: unknown keys, bare keys and missing parts are malformed", function()
	local s = with_mounts({ "/srv/data:" })
	for _, case in ipairs({
		{ "type=bind,src=/srv/data,dst=/x,foo=1", "unknown key 'foo'" },
		{ "type=bind,src=/srv/data,dst=/x, ro", "' ro' must be a key=value pair" },
		{ "type=bind,src=/srv/data, dst=/x", "unknown key ' dst'" },
		{ "type=bind,src=/srv/data,dst=/x,bind-create-src", "'bind-create-src' must be a key=value pair" },
		{ "type=bind,src=/srv/data,dst=/x,relabel=shared", "unknown key 'relabel'" },
		{ "type=bind,src=/srv/data,dst=/x,=x", "unknown key ''" },
		{ "type=bind,src=/srv/data,dst=/x,", "'' must be a key=value pair" },
		{ "type=bind,src=/srv/data,dst=/x,,ro", "'' must be a key=value pair" },
		{ "type,src=/srv/data,dst=/x", "'type' must be a key=value pair" },
		{ "type=bind,src=/srv/data", "target is required" },
		{ "type=bind,src=/srv/data,dst=", "target is required" },
		{ "type=,src=/srv/data,dst=/x", "type is required" },
		{ "type=bind,dst=/x", "type=bind needs a source" },
		{ "type=bind,src=,dst=/x", "type=bind needs a source" },
		{ "type=bind,src=/srv/data,dst=/x,volume-nocopy", "cannot mix 'volume-*' options with type=bind" },
		{ "type=bind,src=/srv/data,dst=/x,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with type=bind" },
		{ "type=volume,dst=/x,bind-propagation=rprivate", "cannot mix 'bind-*' options with type=volume" },
		{ "type=tmpfs,dst=/x,bind-nonrecursive=false", "cannot mix 'bind-*' options with type=tmpfs" },
		{ "type=bind,src=/srv/data,dst=/x,image-subpath=a", "cannot mix 'image-*' options with type=bind" },
		{ "type=bind,src=/srv/data,dst=/x,consistency=sometimes", "invalid value for consistency: sometimes" },
		{ "type=bind,src=/srv/data,dst=/x,bind-recursive=Enabled", "invalid value for bind-recursive: Enabled" },
		{ "type=bind,src=/srv/data,dst=/x,bind-nonrecursive=maybe", "invalid value for bind-nonrecursive: maybe" },
		{ "type=volume,dst=/x,volume-nocopy=2", "invalid value for volume-nocopy: 2" },
		{ "type=tmpfs,dst=/x,tmpfs-size=big", "invalid value for tmpfs-size: big" },
		{ "type=tmpfs,dst=/x,tmpfs-mode=0999", "invalid value for tmpfs-mode: 0999" },
		{ "type=tmpfs,dst=/x,tmpfs-mode=777777777777", "invalid value for tmpfs-mode: 777777777777" },
		{ "type=tmpfs,dst=/x,src=/srv/data", "type=tmpfs takes no source" },
	}) do
		denied(decide(s, run({ "--mount", case[1] })), "mount malformed: " .. case[1] .. " (" .. case[2] .. ")")
	end
end)

test("--mount type=bind: options -v cannot express are denied; no-op ones dropped", function()
	local s = with_mounts({ "/srv/data:" })
	local base = "type=bind,src=/srv/data,dst=/x,"
	for _, o in ipairs({ "bind-propagation=shared", "bind-propagation=rshared", "bind-propagation=slave",
		"bind-propagation=rslave", "bind-propagation=private", "bind-propagation=bogus",
		"bind-nonrecursive", "bind-nonrecursive=true", "bind-recursive=disabled",
		"bind-recursive=writable", "bind-recursive=readonly" }) do
		denied(decide(s, run({ "--mount", base .. o })),
			"mount not allowed: " .. base .. o .. " (" .. o:gsub("=true$", "") .. " cannot be passed on as a -v mount)")
	end
	denied(decide(s, run({ "--mount", base .. "BIND-PROPAGATION=RSHARED" })),
		"(bind-propagation=rshared cannot be passed on as a -v mount)", true)
	-- the later value counts
	denied(decide(s, run({ "--mount", base .. "bind-propagation=rprivate,bind-propagation=shared" })),
		"bind-propagation=shared cannot be passed on", true)
	for _, o in ipairs({ "bind-propagation=rprivate", "bind-propagation=RPRIVATE", "bind-nonrecursive=false",
		"bind-nonrecursive=0", "bind-recursive=enabled", "consistency=cached", "consistency=Delegated",
		"consistency=default", "bind-propagation=shared,bind-propagation=rprivate" }) do
		eq(volumes(decide(s, run({ "--mount", base .. o })))[2], "/srv/data:/x", o)
	end
end)

test("--mount type=bind: relative and odd paths are denied", function()
	local s = with_mounts({ "/srv/data:", "/home/alice/**:" })
	for _, src in ipairs({ "./data", ".", "../srv/data", "~/data", "data", "srv/data" }) do
		denied(decide(s, run({ "--mount", "type=bind,src=" .. src .. ",dst=/x" })),
			"mount not allowed: type=bind,src=" .. src .. ",dst=/x (host path must be absolute)")
	end
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=x" })),
		"mount not allowed: type=bind,src=/srv/data,dst=x (container path must be absolute)")
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/" })),
		"mount not allowed: type=bind,src=/srv/data,dst=/ (container path must not be /)")
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/x/.." })), "container path must not be /", true)
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/x:ro" })),
		"mount not allowed: type=bind,src=/srv/data,dst=/x:ro (container path must not contain ':')")
	denied(decide(s, run({ "--mount", "type=bind,src=/srv/data,dst=/a:/b:rw" })),
		"(container path must not contain ':')", true)
end)

test("--mount: volume-opt and volume-driver are never allowed (the local driver binds host paths)", function()
	local s = with_named(function(x) x.VOLUME_NAMED_REGEXPS = { "^" } end)
	local escape = "type=volume,src=alice_etc,dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc"
	denied(decide(s, run({ "--mount", escape })),
		"mount not allowed: " .. escape .. " (volume-driver and volume-opt are never allowed:"
		.. " a volume driver can mount any host path)")
	for _, v in ipairs({
		"type=volume,src=alice_x,dst=/x,volume-driver=local",
		"type=volume,dst=/x,volume-driver=local",
		"type=volume,src=alice_x,dst=/x,volume-opt=o=bind",
		"src=alice_x,dst=/x,VOLUME-OPT=device=/etc",
		'src=alice_x,dst=/x,"volume-opt=o=bind,ro"',
		"type=bind,src=/srv/data,dst=/x,volume-opt=device=/etc",
		"type=tmpfs,dst=/x,volume-driver=x",
		"type=volume,src=alice_x,dst=/x,volume-opt=",
		"type=volume,src=alice_x,dst=/x,volume-driver=",
	}) do
		denied(decide(s, run({ "--mount", v })), "(volume-driver and volume-opt are never allowed", true)
	end
	-- Go lower-cases keys by Unicode rules ("İ" becomes "i"): keys that are
	-- not plain ASCII are unknown here, so they are refused, never misread
	denied(decide(s, run({ "--mount", "type=volume,src=alice_x,dst=/x,volume-dr\u{130}ver=x" })),
		"mount malformed: type=volume,src=alice_x,dst=/x,volume-dr\u{130}ver=x (unknown key", true)
	denied(decide(s, run({ "--mount", "type=b\u{130}nd,src=/srv/data,dst=/x" })),
		"(type=b\u{130}nd is not allowed", true)
end)

test("--mount type=volume: named and anonymous volumes as -v", function()
	local s = with_named()
	eq(volumes(decide(s, run({ "--mount", "type=volume,src=alice_data,dst=/data" })))[2], "alice_data:/data")
	eq(volumes(decide(s, run({ "--mount", "source=alice_data,target=/data/,readonly" })))[2],
		"alice_data:/data:ro")
	eq(volumes(decide(s, run({ "--mount", "type=volume,src=alice_data,dst=/data,volume-nocopy" })))[2],
		"alice_data:/data:nocopy")
	eq(volumes(decide(s, run({ "--mount", "type=volume,src=alice_data,dst=/data,volume-nocopy=true,ro=1" })))[2],
		"alice_data:/data:nocopy,ro")
	eq(volumes(decide(s, run({ "--mount", "type=volume,src=alice_data,dst=/data,volume-nocopy=false,consistency=cached" })))[2],
		"alice_data:/data")
	denied(decide(s, run({ "--mount", "type=volume,src=bob_data,dst=/data" })),
		"named volume not allowed: type=volume,src=bob_data,dst=/data (allowed names: ^alice_, ^shared-ro$)")
	-- a volume source is a name, never a path
	denied(decide(s, run({ "--mount", "type=volume,src=/srv/data,dst=/data" })),
		"mount malformed: type=volume,src=/srv/data,dst=/data (volume name /srv/data: only", true)
	denied(decide(s, run({ "--mount", "type=volume,src=./alice_x,dst=/data" })),
		"mount malformed: type=volume,src=./alice_x,dst=/data (volume name", true)
	denied(decide(s, run({ "--mount", "type=volume,src=alice_data,dst=/data,volume-label=a=b" })),
		"(volume-label cannot be passed on as a -v mount)", true)
	denied(decide(s, run({ "--mount", "type=volume,src=alice_data,dst=/data,volume-subpath=x" })),
		"(volume-subpath cannot be passed on as a -v mount)", true)
	denied(decide(s, run({ "--mount", "type=volume,dst=/data,readonly" })),
		"mount not allowed: type=volume,dst=/data,readonly (a read-only anonymous volume cannot be passed on as a -v mount)")
	denied(decide(s, run({ "--mount", "type=volume,dst=/data,volume-nocopy" })),
		"(volume-nocopy on an anonymous volume cannot be passed on as a -v mount)", true)
	denied(decide(s, run({ "--mount", "type=volume,src=alice_data,dst=/a:b" })),
		"(container path must not contain ':')", true)
end)

test("--mount: types other than bind, volume and tmpfs are denied", function()
	local s = with_mounts({ "/srv/data:" })
	for _, t in ipairs({ "image", "npipe", "cluster", "glob", "devpts" }) do
		denied(decide(s, run({ "--mount", "type=" .. t .. ",src=x,dst=/x" })),
			"mount not allowed: type=" .. t .. ",src=x,dst=/x (type=" .. t
			.. " is not allowed; use bind, volume or tmpfs)")
	end
	denied(decide(s, run({ "--mount", "type=image,src=local/busybox,dst=/x,image-subpath=/etc" })),
		"(type=image is not allowed", true)
end)

test("--mount type=tmpfs: only where --tmpfs is allowed; canonical CSV goes on", function()
	local s = settings()
	denied(decide(s, run({ "--mount", "type=tmpfs,dst=/t" })),
		"mount not allowed: type=tmpfs,dst=/t (tmpfs mounts need --tmpfs, which is not allowed here)")
	s.ARGS_AVAILABLE.run = { "--tmpfs" }
	local res = decide(s, run({ "--tty", "false", "--mount", "type=tmpfs,dst=/t" }))
	eq(opts(res), cat({ "--tty=false", "--mount=type=tmpfs,target=/t", "--rm=true",
		"--volume=/home/alice:/home/alice" }, FORCED))
	local function mount_of(v) return opts(decide(s, run({ "--mount", v })))[1] end
	eq(mount_of("TYPE=TMPFS,Destination=/t/./x/,RO,Tmpfs-Size=64m,TMPFS-MODE=1777"),
		"--mount=type=tmpfs,target=/t/x,readonly,tmpfs-size=64m,tmpfs-mode=1777")
	eq(mount_of('type=tmpfs,"dst=/a,b",tmpfs-size=1.5GiB'), '--mount=type=tmpfs,"target=/a,b",tmpfs-size=1.5GiB')
	eq(mount_of('type=tmpfs,"dst=/a""b"'), '--mount=type=tmpfs,"target=/a""b"')
	eq(mount_of("type=tmpfs,dst=/t,readonly=false,consistency=cached,src="), "--mount=type=tmpfs,target=/t")
	eq(mount_of("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-size=2m"), "--mount=type=tmpfs,target=/t,tmpfs-size=2m")
	eq(mount_of("type=volume,type=tmpfs,dst=/t"), "--mount=type=tmpfs,target=/t")
	denied(decide(s, run({ "--mount", "type=tmpfs,dst=t" })),
		"mount not allowed: type=tmpfs,dst=t (container path must be absolute)")
	denied(decide(s, run({ "--mount", "type=tmpfs,dst=/" })), "container path must not be /", true)
	-- a tmpfs on a bind's container path clashes
	denied(decide(s, run({ "--mount", "type=tmpfs,dst=/home/alice" })),
		"mount not allowed: type=tmpfs,dst=/home/alice (container path /home/alice is already used by "
		.. "/home/alice:/home/alice)")
	denied(decide(s, run({ "--tmpfs", "/home/alice:size=1m" })),
		"mount not allowed: /home/alice:size=1m (container path /home/alice is already used by", true)
	denied(decide(s, run({ "--tmpfs", "/x", "--volume", "/x" })),
		"mount not allowed: /x (container path /x is already used by /x)")
	eq(#opts(decide(s, run({ "--tmpfs", "/x", "--tmpfs", "/x:size=1m" }))), 2 + 2 + #FORCED)
	-- an exact --tmpfs entry allows the same tmpfs without options only
	s.ARGS_AVAILABLE.run = { "--tmpfs=/tmp", "--tmpfs=/run:size=1m" }
	eq(mount_of("type=tmpfs,dst=/tmp/"), "--mount=type=tmpfs,target=/tmp")
	denied(decide(s, run({ "--mount", "type=tmpfs,dst=/tmp,tmpfs-size=1m" })),
		"mount not allowed: type=tmpfs,dst=/tmp,tmpfs-size=1m (tmpfs mounts are limited to "
		.. "--tmpfs=/run:size=1m, --tmpfs=/tmp)")
	denied(decide(s, run({ "--mount", "type=tmpfs,dst=/var" })), "tmpfs mounts are limited to", true)
end)

test("dedicated mount options listed in ARGS_AVAILABLE do not bypass their rules", function()
	local s = settings(function(x) x.ARGS_AVAILABLE.run = { "--mount", "--volumes-from", "--volume-driver" } end)
	denied(decide(s, run({ "--mount", "type=bind,src=/,dst=/h" })),
		"mount not allowed: type=bind,src=/,dst=/h (allowed: /home/alice:/home/alice)")
	denied(decide(s, run({ "--mount", "type=tmpfs,dst=/t" })), "tmpfs mounts need --tmpfs", true)
	local t = decide(s, request("run", {}, {}, true)).text
	lacks(t, "  --volumes-from")
	lacks(t, "  --volume-driver\n")
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

test("run help: named-volume patterns, anonymous volumes, --mount, what is never allowed", function()
	local t = decide(settings(), request("run", {}, {}, true)).text
	contains(t, "Named volumes: not allowed")
	lacks(t, "NAME:CONTAINER[:ro|rw]")
	contains(t, "  -v, --volume CONTAINER  an anonymous volume")
	contains(t, "Anonymous volumes (-v CONTAINER, --mount type=volume,dst=CONTAINER): allowed")
	contains(t, "  --mount type=bind|volume,src=SOURCE,dst=CONTAINER[,readonly]  the same as -v")
	lacks(t, "--mount type=tmpfs")
	contains(t, "Never allowed: --volumes-from, --volume-driver, --mount volume-driver/volume-opt")
	t = decide(settings(function(x)
		x.VOLUME_NAMED_REGEXPS = { "^alice_", "^lab-" }
		x.VOLUME_ANONYMOUS = false
		x.ARGS_AVAILABLE.run = { "--tmpfs=/tmp" }
	end), request("run", {}, {}, true)).text
	contains(t, "  -v, --volume NAME:CONTAINER[:ro|rw]  a named volume (names below)")
	contains(t, "Named volumes (-v NAME:CONTAINER, --mount type=volume,src=NAME,dst=CONTAINER):"
		.. " the name must match one of:\n  ^alice_, ^lab-\n")
	lacks(t, "  -v, --volume CONTAINER ")
	contains(t, "Anonymous volumes (-v CONTAINER, --mount type=volume,dst=CONTAINER): not allowed")
	contains(t, "  --tmpfs=/tmp  (only this value)")
	contains(t, "  --mount type=tmpfs,dst=CONTAINER[,...]  as --tmpfs allows")
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
-- GPUs
-- ===================================================================

local BOB = caller_for("bob", 1002, "/home/bob")

--- One GPU as host.gpus lists it; users are { uid, id digit } pairs.
local function gpu(index, mem, users)
	local list = {}
	for i, u in ipairs(users or {}) do list[i] = { uid = u[1], id = cid(u[2]) } end
	return { index = index, memory_used = mem or 0, users = list }
end

--- A run with the nvidia-docker executor (mode legacy unless s says
--- otherwise), NV_GPU = nv_gpu, and host.gpus answering gpus (default: 8 idle).
local function grun(s, nv_gpu, gpus, flat, ctx)
	ctx = ctx or {}
	ctx.executor = ctx.executor or "nvidia-docker"
	ctx.nv_gpu = nv_gpu
	ctx.gpus = gpus
	return decide(s, run(flat or {}), ctx)
end

--- The trailing options a default nvidia-docker run gets.
local NV_BASE = { "--rm=true", "--volume=/home/alice:/home/alice", "--env=HOME=/home/alice",
	"--env=NCCL_TOPOLOGY=CUBEMESH" }
local NV_TAIL = { "--user=1001:1001", "--cap-drop=ALL", "--security-opt=no-new-privileges" }

local ALL8 = "allowed GPUs: 0, 1, 2, 3, 4, 5, 6, 7"

test("gpu: NV_GPU picks GPUs; reserved indexes ascending; host.gpus gets NVIDIA_SMI", function()
	local s = settings()
	local res, host = grun(s, "1,3")
	eq(res.action, "exec")
	eq(res.gpus, "1,3")
	eq(res.gpu_mode, "legacy")
	eq(host.gpu_calls, { "/usr/bin/nvidia-smi" })
	eq(grun(s, "3,1").gpus, "1,3")
	eq(grun(s, "0").gpus, "0")
	eq(grun(s, "7").gpus, "7")
	eq(grun(s, "7,0,5,2").gpus, "0,2,5,7")
	eq(grun(s, "11,10", idle_gpus(12)).gpus, "10,11")
	s.NVIDIA_SMI = "/opt/nvidia/bin/nvidia-smi"
	res, host = grun(s, "2")
	eq(host.gpu_calls, { "/opt/nvidia/bin/nvidia-smi" })
end)

test("gpu: malformed NV_GPU values are denied, never split or trimmed", function()
	local s = settings()
	local malformed = "expected GPU indexes separated by commas, e.g. 1,3"
	for _, v in ipairs({ "1 ,2", " 1", "1 ", "1, 2", "-1", "+1", "08", "00", "01,2", "1,", ",1",
		"1,,2", ",", "a", "0x1", "1.0", "1e1", "1;2", "1 2", "all", "none", "GPU-1234", "1\n", "0,-0",
		"\u{661}" }) do
		denied(grun(s, v), "NV_GPU not allowed: " .. v:gsub("\n", "\\x0a")
			.. " (" .. malformed .. "; " .. ALL8 .. ")")
	end
	denied(grun(s, ""), "NV_GPU not allowed:  (empty; unset it for the default; " .. ALL8 .. ")")
	denied(grun(s, "1,1"), "NV_GPU not allowed: 1,1 (GPU 1 is given twice; " .. ALL8 .. ")")
	denied(grun(s, "2,5,2"), "NV_GPU not allowed: 2,5,2 (GPU 2 is given twice; " .. ALL8 .. ")")
	denied(grun(s, "9"), "NV_GPU not allowed: 9 (there is no GPU 9; " .. ALL8 .. ")")
	denied(grun(s, "0,8"), "NV_GPU not allowed: 0,8 (there is no GPU 8; " .. ALL8 .. ")")
	denied(grun(s, "99999999999999999999"),
		"NV_GPU not allowed: 99999999999999999999 (there is no GPU 99999999999999999999; " .. ALL8 .. ")")
	-- a machine with gaps in its indexes
	denied(grun(s, "1", { gpu(0), gpu(2) }), "NV_GPU not allowed: 1 (there is no GPU 1; allowed GPUs: 0, 2)")
	denied(grun(s, "0", {}), "NV_GPU not allowed: 0 (there is no GPU 0; allowed GPUs: none)")
end)

test("gpu: NV_ALLOWED_GPUS limits NV_GPU and the default choice", function()
	local s = settings(function(x) x.NV_ALLOWED_GPUS = { 5, 1, 3, 9 } end)
	eq(grun(s, "1,3").gpus, "1,3")
	denied(grun(s, "2"), "NV_GPU not allowed: 2 (GPU 2 is not allowed; allowed GPUs: 1, 3, 5)")
	denied(grun(s, "1,2"), "NV_GPU not allowed: 1,2 (GPU 2 is not allowed; allowed GPUs: 1, 3, 5)")
	denied(grun(s, "9"), "NV_GPU not allowed: 9 (there is no GPU 9; allowed GPUs: 1, 3, 5)")
	eq(grun(s, nil).gpus, "1")
	s.NV_ALLOWED_GPUS = {}
	denied(grun(s, "0"), "NV_GPU not allowed: 0 (GPU 0 is not allowed; allowed GPUs: none)")
	denied(grun(s, nil), "not enough free GPUs: wanted 1 (free: none)")
end)

test("gpu: NV_MAX_GPU_COUNT_RESERVATION caps NV_GPU; -1 is no limit", function()
	local s = settings(function(x) x.NV_MAX_GPU_COUNT_RESERVATION = 2 end)
	eq(grun(s, "0,1").gpus, "0,1")
	denied(grun(s, "0,1,2"), "NV_GPU not allowed: 0,1,2 (3 GPUs requested, at most 2 allowed; " .. ALL8 .. ")")
	s.NV_MAX_GPU_COUNT_RESERVATION = -1
	eq(grun(s, "0,1,2,3,4,5,6,7").gpus, "0,1,2,3,4,5,6,7")
	s.NV_DEFAULT_GPU_COUNT_RESERVATION, s.NV_MAX_GPU_COUNT_RESERVATION = 0, 0
	denied(grun(s, "0"), "NV_GPU not allowed: 0 (1 GPUs requested, at most 0 allowed; " .. ALL8 .. ")")
end)

test("gpu: exclusive reservation: a GPU another container uses is not available", function()
	local gpus = { gpu(0), gpu(1), gpu(2), gpu(3, 0, { { 1002, "b" } }) }
	local s = settings(function(x) x.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = -1 end)
	denied(grun(s, "3", gpus), "GPU not available: 3 (in use by another container)")
	denied(grun(s, "0,3", gpus), "GPU not available: 3 (in use by another container)")
	eq(grun(s, "0,2", gpus).gpus, "0,2")
	-- the default choice skips it
	s.NV_DEFAULT_GPU_COUNT_RESERVATION = 3
	eq(grun(s, nil, gpus).gpus, "0,1,2")
	s.NV_DEFAULT_GPU_COUNT_RESERVATION = 4
	denied(grun(s, nil, gpus), "not enough free GPUs: wanted 4 (free: 0, 1, 2)")
	-- not exclusive: shared
	s.NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = false
	eq(grun(s, "3", gpus).gpus, "3")
	eq(grun(s, nil, gpus).gpus, "0,1,2,3")
end)

test("gpu: own reuse: a GPU only the caller's containers use, when named in NV_GPU", function()
	local gpus = { gpu(0), gpu(1, 3000, { { 1001, "a" } }), gpu(2, 100, { { 1001, "a" }, { 1002, "b" } }),
		gpu(3, 3000, { { 1001, "a" }, { 1001, "c" } }) }
	local s = settings()
	-- the memory its own containers use does not count either
	eq(grun(s, "1", gpus).gpus, "1")
	eq(grun(s, "1,3", gpus).gpus, "1,3")
	eq(grun(s, "0,1", gpus).gpus, "0,1")
	denied(grun(s, "2", gpus), "GPU not available: 2 (in use by another container)")
	-- never for the default choice
	eq(grun(s, nil, gpus).gpus, "0")
	s.NV_DEFAULT_GPU_COUNT_RESERVATION = 2
	denied(grun(s, nil, gpus), "not enough free GPUs: wanted 2 (free: 0)")
	-- bob cannot use alice's GPU
	denied(grun(s, "1", gpus, nil, { caller = BOB }), "GPU not available: 1 (in use by another container)")
	-- switched off
	s.NV_ALLOW_OWN_GPU_REUSE = false
	denied(grun(s, "1", gpus), "GPU not available: 1 (in use by another container)")
	s.NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = false
	denied(grun(s, "1", gpus), "GPU not available: 1 (memory used 3000 MiB > 0)")
	-- reuse without exclusivity still ignores the memory its containers use
	s.NV_ALLOW_OWN_GPU_REUSE = true
	eq(grun(s, "1", gpus).gpus, "1")
	denied(grun(s, "2", gpus), "GPU not available: 2 (memory used 100 MiB > 0)")
end)

test("gpu: memory threshold: -1 ignores memory, 0 means any use, N allows up to N MiB", function()
	local gpus = { gpu(0, 0), gpu(1, 1), gpu(2, 1000), gpu(3, 1001) }
	local s = settings(function(x) x.NV_DEFAULT_GPU_COUNT_RESERVATION = 4 end)
	s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = -1
	eq(grun(s, nil, gpus).gpus, "0,1,2,3")
	eq(grun(s, "3", gpus).gpus, "3")
	s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = 0
	denied(grun(s, "1", gpus), "GPU not available: 1 (memory used 1 MiB > 0)")
	denied(grun(s, nil, gpus), "not enough free GPUs: wanted 4 (free: 0)")
	eq(grun(s, "0", gpus).gpus, "0")
	s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = 1000
	eq(grun(s, "2", gpus).gpus, "2")
	denied(grun(s, "2,3", gpus), "GPU not available: 3 (memory used 1001 MiB > 1000)")
	denied(grun(s, nil, gpus), "not enough free GPUs: wanted 4 (free: 0, 1, 2)")
	-- a GPU both used and over the threshold: the container is named first
	s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = 0
	denied(grun(s, "0", { gpu(0, 50, { { 1002, "b" } }) }), "GPU not available: 0 (in use by another container)")
end)

test("gpu: the default choice takes the least used: fewest containers, least memory, lowest index", function()
	local gpus = {
		gpu(0, 500, { { 1002, "b" } }),
		gpu(1, 900),
		gpu(2, 100, { { 1002, "b" }, { 1003, "c" } }),
		gpu(3, 200),
		gpu(4, 200),
		gpu(5, 10, { { 1003, "d" } }),
		gpu(6, 900),
	}
	local s = settings(function(x)
		x.NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = false
		x.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = -1
	end)
	local function pick(n)
		s.NV_DEFAULT_GPU_COUNT_RESERVATION = n
		return grun(s, nil, gpus).gpus
	end
	eq(pick(1), "3")
	eq(pick(2), "3,4")
	eq(pick(3), "1,3,4")
	eq(pick(4), "1,3,4,6")
	eq(pick(5), "1,3,4,5,6")
	eq(pick(6), "0,1,3,4,5,6")
	eq(pick(7), "0,1,2,3,4,5,6")
	s.NV_DEFAULT_GPU_COUNT_RESERVATION = 8
	denied(grun(s, nil, gpus), "not enough free GPUs: wanted 8 (free: 0, 1, 2, 3, 4, 5, 6)")
	-- memory only breaks ties between equally used GPUs, and the order
	-- host.gpus gives does not matter beyond the index
	s.NV_DEFAULT_GPU_COUNT_RESERVATION = 1
	eq(grun(s, nil, { gpu(0, 7), gpu(1, 5), gpu(2, 5) }).gpus, "1")
end)

test("gpu: count 0 without NV_GPU: no GPU, host.gpus not asked, no GPU option", function()
	local s = settings(function(x) x.NV_DEFAULT_GPU_COUNT_RESERVATION = 0 end)
	local res, host = grun(s, nil)
	eq(res.gpus, "")
	eq(res.gpu_mode, "legacy")
	eq(host.gpu_calls, {})
	eq(opts(res), cat(NV_BASE, NV_TAIL))
	-- NV_GPU still works
	res, host = grun(s, "2")
	eq(res.gpus, "2")
	eq(#host.gpu_calls, 1)
	for _, mode in ipairs({ "gpus", "runtime" }) do
		s.NV_EXECUTOR_MODES["nvidia-docker"] = mode
		res = grun(s, nil)
		eq(res.gpu_mode, mode)
		eq(opts(res), cat(NV_BASE, NV_TAIL), mode)
	end
end)

test("gpu: each mode's output", function()
	local s = settings()
	-- legacy: nothing in the request (the C side gives NV_GPU to the executor)
	local res = grun(s, "3,1")
	eq(res.executor, "nvidia-docker")
	eq(res.executor_path, "/usr/bin/nvidia-docker")
	eq(res.gpus, "1,3")
	eq(res.gpu_mode, "legacy")
	eq(opts(res), cat(NV_BASE, NV_TAIL))
	-- gpus: --gpus with the quoted CSV field docker expects
	s.NV_EXECUTOR_MODES["nvidia-docker"] = "gpus"
	res = grun(s, "3,1")
	eq(res.gpu_mode, "gpus")
	eq(res.gpus, "1,3")
	eq(opts(res), cat(NV_BASE, { '--gpus="device=1,3"' }, NV_TAIL))
	eq(res.request.options[#NV_BASE + 1], { name = "--gpus", value = '"device=1,3"' })
	eq(opts(grun(s, nil))[#NV_BASE + 1], '--gpus="device=0"')
	-- runtime
	s.NV_EXECUTOR_MODES["nvidia-docker"] = "runtime"
	res = grun(s, "3,1")
	eq(res.gpu_mode, "runtime")
	eq(opts(res), cat(NV_BASE, { "--runtime=nvidia", "--env=NVIDIA_VISIBLE_DEVICES=1,3" }, NV_TAIL))
	-- an executor of any name, with its own ENV_VARS_EXT
	s = settings(function(x)
		x.EXECUTORS.gpu = "/usr/bin/docker"
		x.NV_EXECUTOR_MODES.gpu = "gpus"
		x.ENV_VARS_EXT.gpu = { "NVIDIA_DRIVER_CAPABILITIES=compute,utility" }
	end)
	res = grun(s, "4", nil, { "--tty", "true" }, { executor = "gpu" })
	eq(res.executor, "gpu")
	eq(opts(res), { "--tty=true", "--rm=true", "--volume=/home/alice:/home/alice", "--env=HOME=/home/alice",
		"--env=NVIDIA_DRIVER_CAPABILITIES=compute,utility", '--gpus="device=4"', table.unpack(NV_TAIL) })
end)

test("gpu: executors without a mode have no GPU handling", function()
	local s = settings()
	local res, host = decide(s, run({}), { nv_gpu = "1,3" })
	eq(res.action, "exec")
	eq(res.gpus, "")
	eq(res.gpu_mode, "")
	eq(host.gpu_calls, {})
	eq(opts(res), cat({ "--rm=true", "--volume=/home/alice:/home/alice" }, FORCED))
	-- a malformed NV_GPU does not matter there either
	eq(decide(s, run({}), { nv_gpu = "x" }).action, "exec")
	-- a mode for a removed executor changes nothing
	s.NV_EXECUTOR_MODES.gone = "gpus"
	eq(decide(s, run({})).gpu_mode, "")
	-- nvidia-docker without a mode is a plain executor
	s.NV_EXECUTOR_MODES = {}
	res, host = grun(s, "1")
	eq(res.gpus, "")
	eq(res.gpu_mode, "")
	eq(host.gpu_calls, {})
	eq(opts(res), cat(NV_BASE, NV_TAIL))
end)

test("gpu: --gpus and --runtime are never the user's with a GPU executor", function()
	local s = settings(function(x)
		x.ARGS_AVAILABLE.run = { "--gpus", "--runtime", { "-t", "--tty" } }
	end)
	for _, mode in ipairs({ "legacy", "gpus", "runtime" }) do
		s.NV_EXECUTOR_MODES["nvidia-docker"] = mode
		local res, host = grun(s, nil, nil, { "--gpus", "all" })
		denied(res, "run option not allowed: --gpus=all (GPUs are reserved by userdocker with the executor"
			.. " nvidia-docker: set NV_GPU=1,3 in your environment instead)")
		eq(host.gpu_calls, {}, "denied before host.gpus")
		denied(grun(s, "1", nil, { "--runtime", "nvidia" }), "run option not allowed: --runtime=nvidia (GPUs are", true)
		denied(grun(s, "1", nil, { "--runtime", "runc" }), "run option not allowed: --runtime=runc (GPUs are", true)
		denied(grun(s, nil, nil, { "--gpus", '"device=0,1,2"' }), "run option not allowed: --gpus=", true)
	end
	-- with a plain executor ARGS_AVAILABLE decides, as for any option
	eq(opts(decide(s, run({ "--gpus", "all" })))[1], "--gpus=all")
	s.ARGS_AVAILABLE.run = {}
	denied(decide(s, run({ "--gpus", "all" })), "run option not allowed: --gpus=all (allowed: none)")
end)

test("gpu: --device with a GPU executor only with a value listed exactly", function()
	local s = settings(function(x) x.ARGS_AVAILABLE.run = { "--device" } end)
	denied(grun(s, nil, nil, { "--device", "/dev/nvidia3" }),
		"option not allowed: --device=/dev/nvidia3 (GPUs come from the reservation)")
	denied(grun(s, nil, nil, { "--device", "/dev/fuse" }),
		"run option not allowed: --device=/dev/fuse (with the GPU executor nvidia-docker only the exact"
		.. " --device values of the admin are allowed: GPUs are reserved by userdocker)")
	denied(grun(s, nil, nil, { "--device", "/tmp/link-to-gpu:/dev/x" }), "only the exact --device values", true)
	-- docker allows any device
	eq(opts(decide(s, run({ "--device", "/dev/nvidia3" })))[1], "--device=/dev/nvidia3")
	s.ARGS_AVAILABLE.run = { "--device=/dev/fuse" }
	eq(opts(grun(s, nil, nil, { "--device", "/dev/fuse" }))[1], "--device=/dev/fuse")
	denied(grun(s, nil, nil, { "--device", "/dev/nvidia0" }), "GPUs come from the reservation", true)
	s.ARGS_AVAILABLE.run = { "--device", "--device=/dev/fuse" }
	eq(opts(grun(s, nil, nil, { "--device", "/dev/fuse" }))[1], "--device=/dev/fuse")
	denied(grun(s, nil, nil, { "--device", "/dev/kvm" }), "only the exact --device values", true)
	-- not listed at all: the usual message
	s.ARGS_AVAILABLE.run = {}
	denied(grun(s, nil, nil, { "--device", "/dev/fuse" }), "run option not allowed: --device=/dev/fuse (allowed: none)")
end)

test("gpu: ARGS_ALWAYS.run may not force --gpus or --runtime for a GPU executor", function()
	local s = settings(function(x) x.ARGS_ALWAYS.run = { "--rm", "--runtime=nvidia" } end)
	raises(function() grun(s, "1") end, "ARGS_ALWAYS.run: --runtime cannot be forced for the GPU executor"
		.. " nvidia-docker: userdocker reserves its GPUs (NV_EXECUTOR_MODES)")
	s.ARGS_ALWAYS.run = { "--gpus=all" }
	raises(function() grun(s, "1") end, "ARGS_ALWAYS.run: --gpus cannot be forced")
	-- for a plain executor it is the admin's choice
	eq(opts(decide(s, run({})))[1], "--gpus=all")
end)

test("gpu: host.gpus is not asked before the other checks pass, nor for other subcommands", function()
	local s = settings(function(x) x.ALLOWED_IMAGE_REGEXPS = { "^local/" } end)
	local res, host = decide(s, run({}, { "evil/image" }), { executor = "nvidia-docker", nv_gpu = "1" })
	denied(res, "image not allowed", true)
	eq(host.gpu_calls, {})
	res, host = grun(s, "1", nil, { "--volume", "/etc:/etc" })
	denied(res, "mount not allowed", true)
	eq(host.gpu_calls, {})
	res, host = grun(s, "1", nil, { "--privileged", "true" })
	denied(res, "run option not allowed: --privileged", true)
	eq(host.gpu_calls, {})
	for _, req in ipairs({ request("ps"), request("ps", { "--all", "true" }), request("images"),
		request("pull", {}, { "local/x" }), request("version"), request("attach", {}, { "c1" }),
		request("run", {}, {}, true), request("ps", {}, {}, true), { options = {}, args = {} } }) do
		res, host = decide(s, req, { executor = "nvidia-docker", nv_gpu = "1" })
		eq(host.gpu_calls, {}, show(req))
		if res.action == "exec" then
			eq(res.gpus, "", "gpus")
			eq(res.gpu_mode, "", "gpu_mode")
		end
	end
	res, host = decide(settings(function(x) x.ALLOWED_SUBCOMMANDS = { "ps" } end), run({}),
		{ executor = "nvidia-docker", nv_gpu = "1" })
	denied(res, "subcommand not allowed: run (allowed: ps)")
	eq(host.gpu_calls, {})
end)

test("gpu: host.gpus failures and malformed answers are errors (fail closed)", function()
	local s = settings()
	raises(function() grun(s, "1", "nvidia-smi: /usr/bin/nvidia-smi: not found") end,
		"nvidia-smi: /usr/bin/nvidia-smi: not found")
	raises(function() grun(s, nil, "nvidia-smi: unexpected output") end, "nvidia-smi: unexpected output")
	for _, case in ipairs({
		{ 42, "host.gpus: a list expected" },
		{ { [2] = gpu(0) }, "host.gpus: a list expected" },
		{ { gpu(1), gpu(0) }, "host.gpus: GPU entry 2: indexes must be ascending and unique" },
		{ { gpu(0), gpu(0) }, "host.gpus: GPU entry 2: indexes must be ascending and unique" },
		{ { gpu(-1) }, "host.gpus: GPU entry 1: index must be a non-negative integer" },
		{ { { index = "0", memory_used = 0, users = {} } }, "index must be a non-negative integer" },
		{ { { index = 0.5, memory_used = 0, users = {} } }, "index must be a non-negative integer" },
		{ { { index = 0, memory_used = -1, users = {} } }, "memory_used must be a non-negative integer" },
		{ { { index = 0, memory_used = 1 } }, "host.gpus: GPU entry 1: users must be a list" },
		{ { { index = 0, memory_used = 1, users = { { uid = "1001", id = cid("a") } } } },
			"users[1].uid must be an integer" },
		{ { { index = 0, memory_used = 1, users = { { uid = 1001, id = "abc" } } } },
			"users[1].id must be a 64-digit container id" },
		{ { { index = 0, memory_used = 1, users = { { uid = 1001, id = cid("A") } } } },
			"users[1].id must be a 64-digit container id" },
		{ { "x" }, "host.gpus: GPU entry 1: table expected" },
	}) do
		local host = new_host()
		host.gpu_list = case[1]
		raises(function() M.decide(s, run({}), { caller = ALICE, host = host, executor = "nvidia-docker" }) end,
			case[2])
	end
	-- integral floats are integers
	eq(grun(s, "1", { { index = 0.0, memory_used = 0.0, users = {} }, { index = 1.0, memory_used = 0, users = {} } }).gpus,
		"1")
	-- no host.gpus at all
	local host = new_host()
	host.gpus = nil
	raises(function() M.decide(s, run({}), { caller = ALICE, host = host, executor = "nvidia-docker" }) end,
		"host.gpus: not provided")
	raises(function() grun(s, 1) end, "ctx.nv_gpu: string expected")
end)

--- A machine for the ps views: GPU 0 alice's, 1 free, 2 bob's and alice's,
--- 3 busy by memory, 4 bob's.
local PS_GPUS = {
	gpu(0, 1200, { { 1001, "a" } }),
	gpu(1, 0),
	gpu(2, 300, { { 1002, "b" }, { 1001, "c" }, { 1002, "d" } }),
	gpu(3, 40),
	gpu(4, 5000, { { 1002, "e" } }),
	gpu(5, 0),
}

test("gpu: ps --gpu-used lists used GPUs with their users' uids", function()
	local res, host = decide(settings(), request("ps", { "--gpu-used", "true" }), { gpus = PS_GPUS })
	eq(res.action, "print")
	eq(res.text, "GPUs used by containers (users' uids):\n"
		.. "GPU 0  1200 MiB  used by: 1001\n"
		.. "GPU 2  300 MiB  used by: 1001, 1002\n"
		.. "GPU 4  5000 MiB  used by: 1002\n")
	eq(host.gpu_calls, { "/usr/bin/nvidia-smi" })
	eq(decide(settings(), request("ps", { "--gpu-used", "true" }), { gpus = idle_gpus(2) }).text,
		"GPUs used by containers (users' uids):\nnone\n")
end)

test("gpu: ps --gpu-used-mine lists the caller's GPUs with short container ids", function()
	local res = decide(settings(), request("ps", { "--gpu-used-mine", "true" }), { gpus = PS_GPUS })
	eq(res.text, "GPUs used by your containers:\n"
		.. "GPU 0  1200 MiB  your containers: aaaaaaaaaaaa\n"
		.. "GPU 2  300 MiB  your containers: cccccccccccc\n")
	res = decide(settings(nil, BOB), request("ps", { "--gpu-used-mine", "true" }), { gpus = PS_GPUS, caller = BOB })
	eq(res.text, "GPUs used by your containers:\n"
		.. "GPU 2  300 MiB  your containers: bbbbbbbbbbbb, dddddddddddd\n"
		.. "GPU 4  5000 MiB  your containers: eeeeeeeeeeee\n")
	res = decide(settings(), request("ps", { "--gpu-used-mine", "true" }), { gpus = idle_gpus(1) })
	eq(res.text, "GPUs used by your containers:\nnone\n")
end)

test("gpu: ps --gpu-free lists what a default reservation could take", function()
	local s = settings()
	eq(decide(s, request("ps", { "--gpu-free", "true" }), { gpus = PS_GPUS }).text,
		"GPUs free for you (memory used):\nGPU 1  0 MiB\nGPU 5  0 MiB\n")
	s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = -1
	eq(decide(s, request("ps", { "--gpu-free", "true" }), { gpus = PS_GPUS }).text,
		"GPUs free for you (memory used):\nGPU 1  0 MiB\nGPU 3  40 MiB\nGPU 5  0 MiB\n")
	s.NV_ALLOWED_GPUS = { 3, 4 }
	eq(decide(s, request("ps", { "--gpu-free", "true" }), { gpus = PS_GPUS }).text,
		"GPUs free for you (memory used):\nGPU 3  40 MiB\n")
	s.NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = false
	eq(decide(s, request("ps", { "--gpu-free", "true" }), { gpus = PS_GPUS }).text,
		"GPUs free for you (memory used):\nGPU 3  40 MiB\nGPU 4  5000 MiB\n")
	s.NV_ALLOWED_GPUS = {}
	eq(decide(s, request("ps", { "--gpu-free", "true" }), { gpus = PS_GPUS }).text,
		"GPUs free for you (memory used):\nnone\n")
end)

test("gpu: ps views combine in a fixed order; false drops them; not in ARGS_AVAILABLE", function()
	local s = settings(function(x) x.ARGS_AVAILABLE.ps = {} end)
	local res, host = decide(s, request("ps", { "--gpu-free", "true", "--gpu-used", "true",
		"--gpu-used-mine", "true" }), { gpus = PS_GPUS })
	eq(res.action, "print")
	contains(res.text, "GPUs used by containers (users' uids):\nGPU 0")
	local used = res.text:find("GPUs used by containers", 1, true)
	local mine = res.text:find("GPUs used by your containers", 1, true)
	local free = res.text:find("GPUs free for you", 1, true)
	assert(used < mine and mine < free, res.text)
	eq(#host.gpu_calls, 1, "host.gpus asked once")
	-- false: dropped, plain ps, no host.gpus
	res, host = decide(s, request("ps", { "--gpu-used", "false", "--gpu-free", "false" }))
	eq(res.action, "exec")
	eq(opts(res), { "--filter=label=userdocker.owner.uid=1001" })
	eq(host.gpu_calls, {})
	-- the last value counts
	res = decide(s, request("ps", { "--gpu-used", "true", "--gpu-used", "false" }))
	eq(res.action, "exec")
	eq(decide(s, request("ps", { "--gpu-used", "false", "--gpu-used", "true" })).action, "print")
	denied(decide(s, request("ps", { "--gpu-used", "yes" })), "option malformed: --gpu-used=yes")
	-- the other options are still checked
	res, host = decide(s, request("ps", { "--gpu-used", "true", "--all", "true" }))
	denied(res, "ps option not allowed: --all (allowed: none)")
	eq(host.gpu_calls, {})
	-- ps must be allowed
	res, host = decide(settings(function(x) x.ALLOWED_SUBCOMMANDS = { "run" } end),
		request("ps", { "--gpu-free", "true" }))
	denied(res, "subcommand not allowed: ps (allowed: run)")
	eq(host.gpu_calls, {})
	-- a failing nvidia-smi is an error
	raises(function() decide(s, request("ps", { "--gpu-free", "true" }), { gpus = "nvidia-smi failed" }) end,
		"nvidia-smi failed")
	-- only under ps: run has no such option
	denied(decide(s, run({ "--gpu-used", "true" })), "run option not allowed: --gpu-used", true)
end)

test("gpu: help explains NV_GPU and the limits when a GPU executor exists", function()
	local s = settings()
	local t = decide(s, request("run", {}, {}, true)).text
	for _, w in ipairs({ "GPUs (with --executor nvidia-docker):", "NV_GPU=1,3 userdocker --executor nvidia-docker run",
		"Without NV_GPU you get 1 free GPU, the least used first.", "GPUs you may use: all",
		"GPUs per container: no limit", "A GPU a container uses is not given to another one.\n",
		"A GPU only your own containers use is yours to share: name it in NV_GPU.",
		"A GPU with more than 0 MiB of memory in use is busy.", "--gpus, --runtime",
		"userdocker ps --gpu-free, --gpu-used, --gpu-used-mine", "NVIDIA_DRIVER_CAPABILITIES" }) do
		contains(t, w)
	end
	contains(decide(s, request("ps", {}, {}, true)).text, "  --gpu-used-mine")
	s.NV_ALLOWED_GPUS = { 0, 2 }
	s.NV_MAX_GPU_COUNT_RESERVATION = 2
	s.NV_DEFAULT_GPU_COUNT_RESERVATION = 0
	s.NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = -1
	s.NV_ALLOW_OWN_GPU_REUSE = false
	s.EXECUTOR_DEFAULT = "nvidia-docker"
	t = decide(s, request("run", {}, {}, true)).text
	for _, w in ipairs({ "GPUs (with --executor nvidia-docker (the default)):", "Without NV_GPU the container gets no GPU.",
		"GPUs you may use: 0, 2", "GPUs per container: at most 2", "A GPU a container uses is not given to another one.\n" }) do
		contains(t, w)
	end
	lacks(t, "MiB of memory")
	lacks(t, "yours to share")
	s.NV_DEFAULT_GPU_COUNT_RESERVATION = 2
	contains(decide(s, request("run", {}, {}, true)).text, "Without NV_GPU you get 2 free GPUs")
	-- no GPU executor: no GPU help
	s = settings(function(x) x.EXECUTORS = { docker = "/usr/bin/docker" } end)
	lacks(decide(s, request("run", {}, {}, true)).text, "NV_GPU=1,3")
	lacks(decide(s, request("ps", {}, {}, true)).text, "--gpu-")
end)

test("gpu: debug notes the GPU decision", function()
	local res, host = grun(settings(), "1,3", nil, nil, { debug = true })
	eq(res.action, "exec")
	local all = table.concat(host.logs, "\n")
	contains(all, "debug: GPUs: 8 found by /usr/bin/nvidia-smi")
	contains(all, "debug: GPUs: NV_GPU=1,3 reserved")
	contains(all, "debug: GPUs: 1,3 (mode legacy)")
	res, host = decide(settings(), run({}), { debug = true, nv_gpu = "0" })
	contains(table.concat(host.logs, "\n"), "debug: NV_GPU ignored: the executor docker has no GPU mode")
end)

-- ===================================================================
-- debug logging, robustness
-- ===================================================================

test("explain: each setting's file:line is recorded and named in the trail", function()
	local s = settings()
	local snap = M.snapshot(s)
	s.ALLOWED_IMAGE_REGEXPS = { "^local/" }
	s.ARGS_AVAILABLE.run[#s.ARGS_AVAILABLE.run + 1] = { "-d", "--detach" }
	M.record_origins(s, snap, "/etc/userdocker/config.lua",
		"-- ALLOWED_IMAGE_REGEXPS in a comment\nALLOWED_IMAGE_REGEXPS = { \"^local/\" }\n"
		.. "ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = { \"-d\", \"--detach\" }\n-- ARGS_AVAILABLE\n")
	local res, host = decide(s, run({ "--detach", "true" }), { explain = true })
	eq(res.action, "exec")
	local all = table.concat(host.logs, "\n")
	contains(all, "explain: option --detach: allowed by ARGS_AVAILABLE.run (/etc/userdocker/config.lua:3)")
	contains(all, "explain: image local/busybox:latest: allowed, matches ^local/ in ALLOWED_IMAGE_REGEXPS"
		.. " (/etc/userdocker/config.lua:2)")
	contains(all, "explain: option --rm=true: added by ARGS_ALWAYS.run (built-in default)")
	res, host = decide(s, run({ "--privileged", "true" }), { explain = true })
	eq(res.action, "deny")
	all = table.concat(host.logs, "\n")
	contains(all, "explain: option --privileged: not in ARGS_AVAILABLE.run (/etc/userdocker/config.lua:3)")
	contains(all, "explain: refused: run option not allowed: --privileged")
end)

test("bool flags that default to true: =false needs ARGS_AVAILABLE", function()
	local s = settings()
	denied(decide(s, run({ "--disable-content-trust", "false" })),
		"run option not allowed: --disable-content-trust=false", true)
	eq(decide(s, run({ "--rm", "false" })).action, "exec")
end)

test("ctx.debug logs each decision through host.log", function()
	local s = settings(function(x) x.ALLOWED_IMAGE_REGEXPS = { "^local/" } end)
	local res, host = decide(s, run({ "--tty", "true" }), { debug = true })
	eq(res.action, "exec")
	local all = table.concat(host.logs, "\n")
	contains(all, "debug: mount /home/alice:/home/alice: added by VOLUME_MOUNTS_DEFAULT (built-in default)")
	contains(all, "debug: image local/busybox:latest: allowed, matches ^local/ in ALLOWED_IMAGE_REGEXPS")
	contains(all, "debug: executor docker: /usr/bin/docker")
	contains(all, "debug: option --tty: allowed by ARGS_AVAILABLE.run (built-in default)")
	s.VOLUME_NAMED_REGEXPS = { "^alice_" }
	res, host = decide(s, run({ "--volume", "alice_x:/x", "--volume", "/y" }), { debug = true })
	all = table.concat(host.logs, "\n")
	contains(all, "debug: mount alice_x:/x: volume alice_x matches ^alice_ in VOLUME_NAMED_REGEXPS")
	contains(all, "debug: mount /y: anonymous volume")
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

-- ===================================================================
-- policy.d hooks
-- ===================================================================

test("check: bad regexps, hooks and settings are named with their file:line", function()
	local host = new_host()
	host.match = function(re, str)
		if re:find("[", 1, true) and not re:find("]", 1, true) then error("Unmatched [", 0) end
		return true
	end
	local s = settings()
	local snap = M.snapshot(s)
	s.ALLOWED_IMAGE_REGEXPS = { "^[a" }
	M.record_origins(s, snap, "/etc/userdocker/config.lua", "-- x\nALLOWED_IMAGE_REGEXPS = { \"^[a\" }\n")
	raises(function() M.check(s, host) end,
		"ALLOWED_IMAGE_REGEXPS: invalid regexp ^[a: Unmatched [ (/etc/userdocker/config.lua:2)")
	s = settings()
	snap = M.snapshot(s)
	s.ALOWED_IMAGE_REGEXPS = {}
	M.record_origins(s, snap, "/etc/userdocker/group/config_50_lab.lua", "ALOWED_IMAGE_REGEXPS = {}\n")
	raises(function() M.check(s, host) end,
		"ALOWED_IMAGE_REGEXPS: unknown setting (/etc/userdocker/group/config_50_lab.lua:1)")
	s = settings()
	snap = M.snapshot(s)
	assert(run_config(M.policy_env(s, ALICE), "hooks.run = 3\n", "policy.d/10-x.lua"))
	M.record_origins(s, snap, "/etc/userdocker/policy.d/10-x.lua", "hooks.run = 3\n")
	raises(function() M.check(s, host) end,
		"/etc/userdocker/policy.d/10-x.lua: hooks.run must be a function, not a number")
	s = settings()
	snap = M.snapshot(s)
	assert(run_config(M.policy_env(s, ALICE), "hooks.pul = function() end\n", "policy.d/20-y.lua"))
	M.record_origins(s, snap, "/etc/userdocker/policy.d/20-y.lua", "hooks.pul = function() end\n")
	raises(function() M.check(s, host) end, "/etc/userdocker/policy.d/20-y.lua: hooks.pul: no such subcommand")
	M.check(settings(), host)
end)

test("policy.d: a hook can refuse with its own message", function()
	local s = settings()
	assert(run_config(M.policy_env(s, ALICE), [[
hooks.run = function(request, caller)
	for _, o in ipairs(request.options) do
		if o.name == "--name" then return end
	end
	deny("every container needs a --name here (uid " .. caller.uid .. ")")
end
]], "policy.d/10-name.lua"))
	denied(decide(s, request("run", {}, { "local/busybox" })),
		"every container needs a --name here (uid 1001)")
end)

test("policy.d: hooks edit the approved request in place, in load order, any before the subcommand", function()
	local s = settings()
	assert(run_config(M.policy_env(s, ALICE), [[
hooks.any = function(r) r.args[#r.args + 1] = "any" end
hooks.run = function(r) r.options[#r.options + 1] = { name = "--shm-size", value = "1g" } end
]], "policy.d/10-a.lua"))
	assert(run_config(M.policy_env(s, ALICE), [[
hooks.run = function(r) r.args[#r.args + 1] = "second" end
]], "policy.d/20-b.lua"))
	local res = decide(s, request("run", {}, { "local/busybox", "echo" }))
	eq(res.request.args, { "local/busybox:latest", "echo", "any", "second" })
	eq(opts(res)[#opts(res)], "--shm-size=1g")
	-- other subcommands only get hooks.any
	eq(decide(s, request("ps", {})).request.args, { "any" })
end)

test("policy.d: hooks and deny cannot be replaced; a broken hook fails closed", function()
	local s = settings()
	local ok, err = run_config(M.policy_env(s, ALICE), "hooks = {}", "policy.d/x.lua")
	assert(not ok and err:find("hooks cannot be replaced", 1, true), tostring(err))
	s = settings()
	assert(run_config(M.policy_env(s, ALICE), "hooks.run = 42", "policy.d/y.lua"))
	raises(function() decide(s, request("run", {}, { "local/busybox" })) end, "hooks.run must be a function")
	s = settings()
	assert(run_config(M.policy_env(s, ALICE), "hooks.run = function(r) r.options = 7 end", "policy.d/z.lua"))
	raises(function() decide(s, request("run", {}, { "local/busybox" })) end, "request")
end)

test("policy.d: files still read and write settings like config files", function()
	local s = settings()
	assert(run_config(M.policy_env(s, ALICE), 'RUN_PULL = "never"\nassert(user_name == "alice")', "policy.d/p.lua"))
	eq(s.RUN_PULL, "never")
end)

print("1.." .. count)
os.exit(failures == 0 and 0 or 1)
