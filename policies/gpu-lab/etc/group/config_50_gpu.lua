-- gpu-lab: members of the group "gpu" (students, guests).
--
-- They may use the "gpu" executor, on GPUs 0-3 only (4-7 are kept for
-- gpu-staff), at most two per container.  Without NV_GPU a run with
-- --executor gpu gets one free GPU, the least used first.

EXECUTORS.gpu = "/usr/bin/docker"
NV_ALLOWED_GPUS = { 0, 1, 2, 3 }
NV_MAX_GPU_COUNT_RESERVATION = 2
