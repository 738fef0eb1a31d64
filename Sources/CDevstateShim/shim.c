/* SPDX-License-Identifier: MIT */
#include <sched.h>

#include "devstate_shim.h"

static devstate_shim_globals_t globals;

devstate_shim_globals_t *devstate_shim_globals(void)
{
    return &globals;
}

/* The contended path of devstate_shim_lock_acquire(): spin on reads, then yield. */
void devstate_shim_lock_wait(devstate_shim_lock *lock)
{
    for (;;) {
        int spins;

        for (spins = 0; spins < 128 && __atomic_load_n(&lock->held, __ATOMIC_RELAXED); spins++) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        if (!__atomic_exchange_n(&lock->held, 1, __ATOMIC_ACQUIRE)) {
            return;
        }
        sched_yield();
    }
}
