/* SPDX-License-Identifier: MIT */
/*
 * Counts malloc-family calls. A program that includes this (once) defines malloc and friends
 * itself; dynamic linking makes those definitions serve libdevstate and json-c too.
 */
#ifndef DEVSTATE_COUNT_ALLOCS_H
#define DEVSTATE_COUNT_ALLOCS_H

#include <stddef.h>

#include "libc-allocs.h"

#ifdef __cplusplus
extern "C" {
#endif
static volatile long allocations;

void *malloc(size_t size)
{
    allocations++;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    allocations++;
    return __libc_calloc(count, size);
}

void *realloc(void *p, size_t size)
{
    allocations++;
    return __libc_realloc(p, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    allocations++;
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    allocations++;
    *out = __libc_memalign(alignment, size);
    return *out ? 0 : 12;
}

void free(void *p)
{
    __libc_free(p);
}
#ifdef __cplusplus
}
#endif

#endif
