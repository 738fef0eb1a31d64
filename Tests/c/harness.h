/* SPDX-License-Identifier: MIT */
/* A minimal test harness: counts checks and closes with "SUITE: N passed, N failed". */
#ifndef DEVSTATE_TEST_HARNESS_H
#define DEVSTATE_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int harness_passed;
static int harness_failed;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) {                                                                 \
            harness_passed++;                                                       \
        } else {                                                                    \
            harness_failed++;                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_INT(actual, expected)                                                  \
    do {                                                                             \
        long long harness_a = (long long)(actual);                                   \
        long long harness_e = (long long)(expected);                                 \
        if (harness_a == harness_e) {                                                \
            harness_passed++;                                                        \
        } else {                                                                     \
            harness_failed++;                                                        \
            fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, \
                    #actual, harness_a, harness_e);                                  \
        }                                                                            \
    } while (0)

#define CHECK_STR(actual, expected)                                                     \
    do {                                                                                \
        const char *harness_a = (actual);                                               \
        const char *harness_e = (expected);                                             \
        if (harness_a && harness_e && strcmp(harness_a, harness_e) == 0) {              \
            harness_passed++;                                                           \
        } else {                                                                        \
            harness_failed++;                                                           \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
                    #actual, harness_a ? harness_a : "(null)", harness_e);              \
        }                                                                               \
    } while (0)

static int harness_finish(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, harness_passed, harness_failed);
    return harness_failed == 0 ? 0 : 1;
}

#endif
