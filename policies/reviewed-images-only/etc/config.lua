-- reviewed-images-only: config.lua.
--
-- Which images may run is decided by policy.d/10-reviewed-images.lua, from
-- a list of reviewed image references.  This file removes what would get
-- around that list.

-- No "load": an archive can carry any image under a reviewed name.  Users
-- cannot tag, build or commit images through userdocker either, so an
-- image name present here always came from a pull of that name.
ALLOWED_SUBCOMMANDS = {
	"attach", "images", "ps", "pull", "run", "version",
	"exec", "inspect", "kill", "logs", "port", "restart", "rm", "start",
	"stats", "stop", "top", "wait",
}

-- Any well-formed name gets as far as the hook, which has the last word.
-- (Written [=[...]=]: a [[...]] string would end at the first "]]".)
ALLOWED_IMAGE_REGEXPS = {
	[=[^[a-z0-9]]=],
}
