/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers the Swift side calls; not installed, not exported.
 * They exist so the library needs no Glibc/Foundation import on the Swift
 * side: a lock and malloc-family memory, which QEMU's g_free() must be able
 * to release.
 */
#ifndef DEVSTATE_SHIM_H
#define DEVSTATE_SHIM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "devstate/devstate.h"

/* The release, written once in devstate.h; Swift cannot import the computed macros. */
static inline const char *devstate_shim_version_string(void)
{
    return DEVSTATE_VERSION_STRING;
}

static inline unsigned devstate_shim_version_number(void)
{
    return DEVSTATE_VERSION_NUMBER;
}

static inline unsigned devstate_shim_abi_version(void)
{
    return DEVSTATE_ABI_VERSION;
}

/*
 * A recorder's lock. Taken once per record inside VM downtime, so the
 * uncontended path is one atomic exchange and one release store (a pthread
 * mutex costs about 75 instructions per lock/unlock pair there). Holders
 * never block: a record copies a name, a query a memcpy of the run, so a
 * contender spins briefly and then yields its CPU. The __atomic builtins
 * keep ThreadSanitizer aware of the ordering (Synchronization.Mutex gives
 * false reports under contention).
 */
typedef struct devstate_shim_lock {
    int held;
} devstate_shim_lock;

/*
 * Hidden: libdevstate.so's version script exports devstate_*, which would match these
 * names too (set here rather than with -fvisibility, which needs SwiftPM's unsafeFlags).
 */
#define DEVSTATE_SHIM_INTERNAL __attribute__((visibility("hidden")))

DEVSTATE_SHIM_INTERNAL void devstate_shim_lock_wait(devstate_shim_lock *lock);

/*
 * A host built with ThreadSanitizer (a TSan build of QEMU) sees the
 * library's memcpy/realloc through its interceptors but not this lock's
 * atomics, since the library itself is not instrumented. These weak
 * references resolve to the TSan runtime only in such a process and tell it
 * about the lock; elsewhere they are NULL and cost one predictable branch.
 */
extern void __tsan_acquire(void *addr) __attribute__((weak));
extern void __tsan_release(void *addr) __attribute__((weak));

static inline void devstate_shim_lock_acquire(devstate_shim_lock *lock)
{
    if (__builtin_expect(__atomic_exchange_n(&lock->held, 1, __ATOMIC_ACQUIRE), 0)) {
        devstate_shim_lock_wait(lock);
    }
    if (__builtin_expect(__tsan_acquire != 0, 0)) {
        __tsan_acquire(lock);
    }
}

static inline void devstate_shim_lock_release(devstate_shim_lock *lock)
{
    if (__builtin_expect(__tsan_release != 0, 0)) {
        __tsan_release(lock);
    }
    __atomic_store_n(&lock->held, 0, __ATOMIC_RELEASE);
}

static inline void devstate_shim_memcpy(void *to, const void *from, size_t size)
{
    memcpy(to, from, size);
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

/*
 * The head of a recorder's or a snapshot's block: what other threads may read without holding
 * the block's lock (the lock itself, fixed facts, the registry's link). The Swift part of the
 * block (RecorderState, a run copy) follows at DEVSTATE_SHIM_BODY_OFFSET and is touched only
 * under the lock. Swift reaches the head's fields through these functions, so that taking the
 * lock is never a Swift access to memory another thread is modifying (ThreadSanitizer checks
 * Swift accesses as wholes).
 */
typedef struct devstate_shim_head {
    devstate_shim_lock lock;
    int is_default;           /* a default recorder, never freed */
    long max_entries;         /* most entries a run keeps */
    void *next;               /* the registry's list of freed blocks (under the globals' lock) */
} devstate_shim_head;

#define DEVSTATE_SHIM_BODY_OFFSET 32
_Static_assert(sizeof(devstate_shim_head) <= DEVSTATE_SHIM_BODY_OFFSET,
               "the head fits before the body");
_Static_assert(DEVSTATE_SHIM_BODY_OFFSET % 16 == 0, "the body is aligned as malloc aligns");

/* A head of a new block, before any other thread can see it. */
static inline void devstate_shim_head_init(devstate_shim_head *head, int is_default, long max_entries)
{
    head->lock.held = 0;
    head->is_default = is_default;
    head->max_entries = max_entries;
    head->next = NULL;
}

static inline devstate_shim_lock *devstate_shim_head_lock(devstate_shim_head *head)
{
    return &head->lock;
}

static inline void *devstate_shim_head_body(devstate_shim_head *head)
{
    return (char *)head + DEVSTATE_SHIM_BODY_OFFSET;
}

static inline size_t devstate_shim_body_offset(void)
{
    return DEVSTATE_SHIM_BODY_OFFSET;
}

static inline int devstate_shim_head_is_default(const devstate_shim_head *head)
{
    return head->is_default;
}

static inline long devstate_shim_head_max_entries(const devstate_shim_head *head)
{
    return head->max_entries;
}

static inline void *devstate_shim_head_next(const devstate_shim_head *head)
{
    return head->next;
}

static inline void devstate_shim_head_set_next(devstate_shim_head *head, void *next)
{
    head->next = next;
}

/*
 * What the library keeps for the whole process, in static storage so that reaching it
 * allocates nothing and cannot fail: the lock of the handle registry, its free lists, the
 * live JSON strings, and the default recorders of the QEMU lists, created on first use.
 * Swift reads and writes the fields through devstate_shim_globals(); the lists link blocks
 * (a devstate_shim_head and its body) the Swift side allocated with devstate_shim_calloc().
 */
#define DEVSTATE_SHIM_LISTS 4
typedef struct devstate_shim_globals_t {
    devstate_shim_lock lock;             /* guards every field below but `lists` reads */
    void *retired_recorders;             /* freed recorders, linked through their heads */
    void *free_snapshots;                /* freed snapshot handles, likewise */
    void **strings;                      /* live JSON strings of devstate_snapshot_json() */
    size_t string_count;
    size_t string_capacity;
    void *lists[DEVSTATE_SHIM_LISTS];    /* DEVSTATE_QEMU_LIST_* default recorders */
} devstate_shim_globals_t;

DEVSTATE_SHIM_INTERNAL devstate_shim_globals_t *devstate_shim_globals(void);

static inline devstate_shim_lock *devstate_shim_globals_lock(void)
{
    return &devstate_shim_globals()->lock;
}

/* A default recorder's slot: read without the lock (acquire), written under it (release). */
static inline void *devstate_shim_load_list(size_t index)
{
    return __atomic_load_n(&devstate_shim_globals()->lists[index], __ATOMIC_ACQUIRE);
}

static inline void devstate_shim_store_list(size_t index, void *head)
{
    __atomic_store_n(&devstate_shim_globals()->lists[index], head, __ATOMIC_RELEASE);
}

/* Length of s, or `limit` when no NUL occurs in the first `limit` bytes. */
static inline size_t devstate_shim_strnlen(const char *s, size_t limit)
{
    return strnlen(s, limit);
}

#endif /* DEVSTATE_SHIM_H */
