/*
 * Internal helpers the Swift side calls; not installed, not exported.
 * They exist so the library needs no Glibc/Foundation import on the Swift
 * side: a pthread mutex (clean under ThreadSanitizer, unlike
 * Synchronization.Mutex under contention) and malloc-family memory, which
 * QEMU's g_free() must be able to release.
 */
#ifndef DEVSTATE_SHIM_H
#define DEVSTATE_SHIM_H

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct devstate_shim_lock {
    pthread_mutex_t mutex;
} devstate_shim_lock;

/* NULL when memory is exhausted. */
devstate_shim_lock *devstate_shim_lock_new(void);
void devstate_shim_lock_free(devstate_shim_lock *lock);

static inline void devstate_shim_lock_acquire(devstate_shim_lock *lock)
{
    pthread_mutex_lock(&lock->mutex);
}

static inline void devstate_shim_lock_release(devstate_shim_lock *lock)
{
    pthread_mutex_unlock(&lock->mutex);
}

static inline void *devstate_shim_malloc(size_t size)
{
    return malloc(size);
}

static inline void *devstate_shim_calloc(size_t count, size_t size)
{
    return calloc(count, size);
}

static inline void *devstate_shim_realloc(void *p, size_t size)
{
    return realloc(p, size);
}

static inline void devstate_shim_free(void *p)
{
    free(p);
}

/* Length of s, or `limit` when no NUL occurs in the first `limit` bytes. */
static inline size_t devstate_shim_strnlen(const char *s, size_t limit)
{
    return strnlen(s, limit);
}

#endif /* DEVSTATE_SHIM_H */
