-- reviewed-images-only: run and pull only images from a reviewed list.
--
-- List each reviewed image once, as docker's full reference.  A tag can
-- be moved to other content upstream at any time: for images that must
-- stay what was reviewed, list the digest (name@sha256:...) and tell users
-- to run it by digest.
local reviewed_list = {
	"docker.io/library/debian:12",
	"docker.io/library/python:3.12-slim",
	"docker.io/library/alpine@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d",
	"nvcr.io/nvidia/pytorch:24.05-py3",
}

local reviewed = {}
for _, ref in ipairs(reviewed_list) do reviewed[ref] = true end

--- docker's full reference for an image name as users type it:
--- "debian:12" and "library/debian:12" are "docker.io/library/debian:12",
--- "someone/tool:1" is "docker.io/someone/tool:1"; a name whose first
--- component has a "." or ":" (or is "localhost") names its registry.
local function full_reference(name)
	local first, rest = name:match("^([^/]+)/(.+)$")
	if first == nil then
		return "docker.io/library/" .. name
	end
	if first == "index.docker.io" then first = "docker.io" end
	if first == "docker.io" then
		if not rest:find("/", 1, true) then rest = "library/" .. rest end
		return "docker.io/" .. rest
	end
	if first:find("[.:]") or first == "localhost" then
		return name
	end
	return "docker.io/" .. name
end

--- The image is the first argument of run and pull; userdocker has
--- already added ":latest" where it had neither tag nor digest (except
--- for pull --all-tags, which is refused here as a bare name).
local function check_image(request)
	local image = request.args[1]
	if image == nil then return end
	if not reviewed[full_reference(image)] then
		deny("image not reviewed: " .. image .. " (reviewed: "
			.. table.concat(reviewed_list, ", ") .. ")")
	end
end

hooks.run = check_image
hooks.pull = check_image
