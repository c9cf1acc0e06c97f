-- gpu-lab: a shared GPU server, config.lua.
--
-- Everyone may run CPU containers with plain docker.  GPUs are reserved
-- by userdocker, through an executor "gpu" that only the members of the
-- groups "gpu" and "gpu-staff" get (group/config_50_gpu.lua,
-- group/config_60_gpu-staff.lua):
--
--   NV_GPU=1 userdocker --executor gpu run --rm nvidia/cuda:12.4.1-base-ubuntu22.04 nvidia-smi
--
-- Requires docker 19.03 or later with the NVIDIA container toolkit.  With
-- the old nvidia-docker wrapper instead, use its path for the executor and
-- the mode "legacy".

-- Nobody gets nvidia-docker from the built-in defaults.
EXECUTORS = {
	docker = "/usr/bin/docker",
}
EXECUTOR_DEFAULT = "docker"

-- How the "gpu" executor gets its GPUs: docker --gpus "device=1,3".  A key
-- here does not need an EXECUTORS entry; the group files add that.
NV_EXECUTOR_MODES = {
	gpu = "gpus",
}
-- The built-ins set NCCL_TOPOLOGY for nvidia-docker only.
ENV_VARS_EXT = {}

-- CUDA and framework images, and what was built here.
ALLOWED_IMAGE_REGEXPS = {
	[[^nvcr\.io/nvidia/]],
	[[^nvidia/cuda:]],
	[[^pytorch/pytorch:]],
	[[^local/]],
}

-- PyTorch's DataLoader workers need more shared memory than docker's 64 MB;
-- users may ask for either of these sizes.
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--shm-size=8g"
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--shm-size=16g"

-- Defaults for GPU users; the group files narrow or widen them.
NVIDIA_SMI = "/usr/bin/nvidia-smi"
NV_ALLOWED_GPUS = "ALL"
NV_DEFAULT_GPU_COUNT_RESERVATION = 1
NV_MAX_GPU_COUNT_RESERVATION = 2
-- A GPU with more than 256 MiB in use counts as busy, whoever uses it (a
-- job started outside userdocker, a desktop session).  The built-in 0
-- would also count the few MiB some drivers hold on idle GPUs.
NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = 256
NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = true
NV_ALLOW_OWN_GPU_REUSE = true
