/* SPDX-License-Identifier: MIT */
/*
 * glibc's own allocator entry points, for the tests that define malloc and friends themselves
 * (count-allocs.h, test_nomem.c) and pass the calls on.
 */
#ifndef DEVSTATE_LIBC_ALLOCS_H
#define DEVSTATE_LIBC_ALLOCS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *p);
#ifdef __cplusplus
}
#endif

#endif
