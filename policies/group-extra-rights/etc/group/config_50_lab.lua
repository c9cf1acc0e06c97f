-- group-extra-rights: extra rights for the members of the group "lab".
--
-- The file name chooses the group: group/config_NN_<group>.lua is loaded
-- for the members of <group>, after config.lua, in ascending NN among all
-- the caller's group files.  Everything here adds to config.lua.

-- Site software installed under /opt (licensed toolchains, compilers),
-- read-only; users may leave out ":ro", never replace it by ":rw".
VOLUME_MOUNTS_AVAILABLE[#VOLUME_MOUNTS_AVAILABLE + 1] = "/opt:/opt:ro"

-- Named, detached containers (long trainings, notebooks), more shared
-- memory, and tmpfs scratch space (--tmpfs and --mount type=tmpfs).
local run = ARGS_AVAILABLE.run
run[#run + 1] = "--name"
run[#run + 1] = { "-d", "--detach" }
run[#run + 1] = "--shm-size=8g"
run[#run + 1] = "--tmpfs"

-- Jupyter on a local port of 8000-8999 (to be reached through ssh -L).
ALLOWED_PORT_MAPPINGS[#ALLOWED_PORT_MAPPINGS + 1] = [[^127\.0\.0\.1:8[0-9]{3}:8888$]]

-- Debuggers and profilers in the lab's images.  Capabilities go to the
-- container's bounding set: processes running as the caller (the
-- USER_IN_CONTAINER default) do not hold them, and NO_NEW_PRIVILEGES keeps
-- file capabilities from raising them, so check that a capability does
-- what you want with your images before you grant it.
CAPS_ADD = { "SYS_PTRACE" }
