-- gpu-lab: members of the group "gpu-staff".
--
-- Loaded after config_50_gpu.lua (60 > 50), so for someone in both groups
-- these values win: every GPU, up to all eight in one container, and
-- long-running named containers in the background.

EXECUTORS.gpu = "/usr/bin/docker"
NV_ALLOWED_GPUS = "ALL"
NV_MAX_GPU_COUNT_RESERVATION = 8

local run = ARGS_AVAILABLE.run
run[#run + 1] = { "-d", "--detach" }
run[#run + 1] = "--name"
-- Keep stopped containers, to read their logs after a crash; staff clean
-- up with userdocker rm.
ARGS_ALWAYS.run = {}
