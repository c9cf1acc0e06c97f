-- group-extra-rights: config.lua, what everyone gets.
--
-- The built-in defaults, narrowed a little: only images built or mirrored
-- here, and no ports published to the world.  The members of one group
-- get more in group/config_50_lab.lua.

ALLOWED_IMAGE_REGEXPS = {
	[[^local/]],
	[[^registry\.example\.org/]],
}

-- -p 127.0.0.1::PORT only: reachable from this machine, on a random port.
ALLOWED_PORT_MAPPINGS = {
	[[^127\.0\.0\.1::[0-9]+$]],
}
