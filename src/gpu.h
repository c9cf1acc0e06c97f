/*
 * gpu.h - GPU facts for the policy, answered by root: what nvidia-smi
 * reports and which running userdocker containers reserved which GPU.
 *
 * Reservations are made under one machine-wide lock, taken when the
 * facts are first asked for and held until the container that reserves
 * the GPUs exists (or the request ends), so two concurrent runs can never
 * pick the same free GPU.
 */
#ifndef UD_GPU_H
#define UD_GPU_H

#include <stddef.h>

#include "dockerapi.h"
#include "error.h"

#define UD_GPU_LOCK UD_STAGING_DIR "/gpu.lock"

/* The facts as wire strings: one "INDEX MEMUSED UID:ID,UID:ID..." per GPU
 * (the last field "-" when nobody uses it).  Takes the lock (kept in
 * *lock_fd, which stays open until gpu_unlock). */
int gpu_facts(struct dapi *d, const char *sock, const char *nvidia_smi, int *lock_fd,
	      char ***out, size_t *n, struct ud_err *err);
void gpu_unlock(int *lock_fd);

/* Wait (bounded) until a container labelled userdocker.token=TOKEN exists
 * or pid has exited, then release the lock. */
void gpu_release_when_created(struct dapi *d, const char *sock, const char *token, int pid,
			      int *lock_fd);

#endif
