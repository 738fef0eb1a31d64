/* SPDX-License-Identifier: MIT */
/*
 * The library never stops its host when memory runs out. This program interposes malloc and
 * friends (the executable's definitions serve libdevstate, its embedded Swift runtime and
 * json-c too) and makes them fail: only the Nth call, or every call from the Nth on, for every
 * N a scenario of calls through both headers reaches. Each N runs in a child process that
 * starts with a fresh library, so the first-use allocations (default recorders, handle
 * blocks, the string registry) fail too. The child checks that every call returned its
 * normal status or DEVSTATE_ERR_NOMEM (DEVSTATE_ERR_JSON where json-c gives up), that a
 * refused record is counted and loses nothing recorded before it, and that the library
 * works in full once memory is back. A child that aborts or crashes fails its N.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <devstate/devstate.h>
#include <devstate/qemu-hooks.h>
#include <json-c/json.h>

#include "harness.h"
#include "libc-allocs.h"

#ifdef __cplusplus
extern "C" {
#endif
static long calls;      /* malloc-family calls since the scenario began */
static long fail_at;    /* 0: none fails; else the call that fails first */
static bool fail_rest;  /* every call from fail_at on fails, not only that one */
static long failures;   /* calls that were made to fail */
static bool paused;     /* the test's own checks: neither counted nor failed */

static bool injected(void)
{
    if (paused) {
        return false;
    }
    calls++;
    if (fail_at > 0 && (calls == fail_at || (fail_rest && calls > fail_at))) {
        failures++;
        return true;
    }
    return false;
}

void *malloc(size_t size)
{
    return injected() ? NULL : __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    return injected() ? NULL : __libc_calloc(count, size);
}

void *realloc(void *p, size_t size)
{
    return injected() ? NULL : __libc_realloc(p, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    return injected() ? NULL : __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (injected()) {
        return 12; /* ENOMEM */
    }
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

/* What a scenario saw: calls whose status was neither its normal one nor NOMEM, and NOMEMs. */
typedef struct outcome {
    long wrong;
    long nomem;
} outcome;

/* Accepts `status` if it is one of the two normal statuses given, or an exhaustion code. */
static bool fine(outcome *o, int32_t status, int32_t normal, int32_t also, const char *what, int line)
{
    if (status == normal || status == also) {
        return true;
    }
    if (status == DEVSTATE_ERR_NOMEM || status == DEVSTATE_ERR_JSON) {
        o->nomem++;
        return false;
    }
    o->wrong++;
    fprintf(stderr, "line %d: %s returned %d (%s)\n", line, what, (int)status, devstate_strerror(status));
    return false;
}
#define FINE(o, call, normal, also) fine((o), (call), (normal), (also), #call, __LINE__)

#define DEVICES 100

/*
 * One pass through the ABI as a host uses it. With `strict`, nothing may fail and every value
 * is checked; otherwise exhaustion may strike anywhere and what was kept is still checked.
 */
static outcome scenario(bool strict)
{
    outcome o = { 0, 0 };
    devstate_recorder *r = NULL;
    devstate_snapshot *s = NULL;
    devstate_snapshot_info info;
    devstate_entry entry;
    DeviceSaveStateTimeList *list = NULL;
    devstate_qapi_time_list *times = NULL;
    devstate_qapi_checkpoint_list *marks = NULL;
    devstate_qapi_step_list *steps = NULL;
    uint64_t steps_kept = 0;
    char name[64];
    char *json = NULL;
    uint64_t kept = 0, refused = 0, count = 0;
    int64_t clock = 1000;
    int32_t settling, nothing;
    int i;

    if (FINE(&o, devstate_recorder_new(&r), DEVSTATE_OK, DEVSTATE_OK)) {
        FINE(&o, devstate_run_begin(r), DEVSTATE_OK, DEVSTATE_OK);
        for (i = 0; i < DEVICES; i++) {
            /* names long enough to make the arena grow past its first 4 KiB */
            snprintf(name, sizeof(name), "0000:00:%02x.%d/virtio-net-pci-with-a-long-name-%d", i % 32, i % 8, i);
            if (FINE(&o, devstate_record(r, name, (uint32_t)i, (uint64_t)(i % 7), DEVSTATE_ENTRY_VMSD),
                     DEVSTATE_OK, DEVSTATE_SKIPPED_ZERO)) {
                kept += i % 7 != 0;
            } else {
                refused++;
            }
        }
        for (i = 0; i < DEVICES / 4; i++) {
            /* steps hold three strings each: more arena per entry than a device */
            snprintf(name, sizeof(name), "/machine/peripheral-anon/device[%d]/virtio-backend", i);
            if (FINE(&o, devstate_step(r, "virtio_vmstate_change", name, "virtio-net-device",
                                       DEVSTATE_STEP_MAIN, clock + i, clock + 2 * i), DEVSTATE_OK, DEVSTATE_OK)) {
                kept++;
            } else {
                refused++;
            }
        }
        if (FINE(&o, devstate_checkpoint(r, "src-downtime-end", clock), DEVSTATE_OK, DEVSTATE_OK)) {
            kept++;
        } else {
            refused++;
        }
        FINE(&o, devstate_run_end(r), DEVSTATE_OK, DEVSTATE_OK);
        if (FINE(&o, devstate_snapshot_take(r, &s), DEVSTATE_OK, DEVSTATE_OK)) {
            /* a refused record loses nothing kept before it, and is counted */
            if (devstate_snapshot_get_info(s, &info) != DEVSTATE_OK || info.count != kept || !info.complete) {
                o.wrong++;
                fprintf(stderr, "snapshot holds %llu entries, expected %llu\n",
                        (unsigned long long)info.count, (unsigned long long)kept);
            }
            if (devstate_snapshot_refused(s, &count) != DEVSTATE_OK || count != refused) {
                o.wrong++;
                fprintf(stderr, "snapshot counts %llu refused, expected %llu\n",
                        (unsigned long long)count, (unsigned long long)refused);
            }
            if (kept > 0 && (devstate_snapshot_entry(s, 0, &entry) != DEVSTATE_OK || entry.name_len == 0)) {
                o.wrong++;
            }
            for (count = 0; count < kept; count++) {
                devstate_step_info step;

                if (devstate_snapshot_entry(s, count, &entry) == DEVSTATE_OK && entry.flags == DEVSTATE_ENTRY_STEP
                    && (devstate_snapshot_step(s, count, &step) != DEVSTATE_OK || step.device_len == 0
                        || step.device_type_len != 17)) {
                    o.wrong++;
                }
            }
            if (FINE(&o, devstate_snapshot_json(s, DEVSTATE_JSON_PRETTY, &json), DEVSTATE_OK, DEVSTATE_OK)) {
                /* a string handed out is whole: one array of every entry (checked with memory on) */
                json_object *parsed;

                paused = true;
                parsed = json_tokener_parse(json);
                if (!parsed || !json_object_is_type(parsed, json_type_array)
                    || json_object_array_length(parsed) != kept) {
                    o.wrong++;
                    fprintf(stderr, "devstate_snapshot_json gave an incomplete document: %.80s\n", json);
                }
                json_object_put(parsed);
                paused = false;
                FINE(&o, devstate_json_free(json), DEVSTATE_OK, DEVSTATE_OK);
            }
            if (FINE(&o, devstate_snapshot_qapi_list(s, &list), DEVSTATE_OK, DEVSTATE_OK)) {
                devstate_qapi_list_free(list);
            }
            FINE(&o, devstate_snapshot_free(s), DEVSTATE_OK, DEVSTATE_OK);
        }
        FINE(&o, devstate_recorder_free(r), DEVSTATE_OK, DEVSTATE_OK);
    }

    /*
     * A destination's window through the QEMU hooks. When the list's recorder could not be
     * made for devstate_qemu_arm(), a later call makes it unarmed: NO_RUN is then its normal
     * answer, as for any list outside its window (never when nothing failed).
     */
    settling = strict ? DEVSTATE_OK : DEVSTATE_ERR_NO_RUN;
    nothing = strict ? DEVSTATE_OK : DEVSTATE_ERR_EMPTY;
    FINE(&o, devstate_qemu_arm(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK, DEVSTATE_OK);
    kept = refused = 0;
    for (i = 0; i < DEVICES; i++) {
        snprintf(name, sizeof(name), "0000:00:%02x.0/e1000e-%d", i % 32, i);
        int32_t status = devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, name, 0, clock, clock + 1 + i % 3,
                                                 DEVSTATE_ENTRY_VMSD);

        if (FINE(&o, status, DEVSTATE_OK, settling)) {
            kept += status == DEVSTATE_OK; /* NO_RUN: the list could not be armed */
        } else {
            refused++;
        }
        clock += 4;
    }
    for (i = 0; i < DEVICES / 4; i++) {
        int32_t status = devstate_qemu_step(DEVSTATE_QEMU_LIST_INCOMING, "block-activate", "drive-virtio-disk0",
                                            "qcow2", DEVSTATE_STEP_WORK, clock, clock + i);

        if (FINE(&o, status, DEVSTATE_OK, settling)) {
            steps_kept += status == DEVSTATE_OK;
        } else {
            refused++;
        }
    }
    FINE(&o, devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-bh-vm-started", clock),
         DEVSTATE_OK, settling);
    FINE(&o, devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK, settling);
    if (FINE(&o, devstate_qemu_times(DEVSTATE_QEMU_LIST_INCOMING, &times), DEVSTATE_OK, nothing)) {
        devstate_qapi_time_list *node;

        for (count = 0, node = times; node; node = node->next) {
            count++;
        }
        devstate_qapi_time_list_free(times);
        if (count != kept) {
            o.wrong++;
            fprintf(stderr, "incoming list holds %llu loads, expected %llu\n", (unsigned long long)count,
                    (unsigned long long)kept);
        }
    }
    if (FINE(&o, devstate_qemu_checkpoints(DEVSTATE_QEMU_LIST_INCOMING, &marks), DEVSTATE_OK, nothing)) {
        devstate_qapi_checkpoint_list_free(marks);
    }
    if (FINE(&o, devstate_qemu_steps(DEVSTATE_QEMU_LIST_INCOMING, &steps), DEVSTATE_OK, nothing)) {
        devstate_qapi_step_list *node;

        for (count = 0, node = steps; node; node = node->next) {
            count += node->value->device && node->value->device_type && node->value->name;
        }
        devstate_qapi_step_list_free(steps);
        if (count != steps_kept) {
            o.wrong++;
            fprintf(stderr, "incoming list holds %llu whole steps, expected %llu\n", (unsigned long long)count,
                    (unsigned long long)steps_kept);
        }
    }
    if (FINE(&o, devstate_qemu_refused(DEVSTATE_QEMU_LIST_INCOMING, &count), DEVSTATE_OK, nothing)
        && count < refused) {
        o.wrong++;
        fprintf(stderr, "incoming run counts %llu refused, at least %llu expected\n",
                (unsigned long long)count, (unsigned long long)refused);
    }
    FINE(&o, devstate_qemu_discard(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK, DEVSTATE_OK);

    /* the 0.1.0 hooks on the default recorder */
    FINE(&o, devstate_qemu_run_begin(), DEVSTATE_OK, DEVSTATE_OK);
    FINE(&o, devstate_qemu_record("timer", 0, 10, 12, DEVSTATE_ENTRY_VMSD), DEVSTATE_OK, settling);
    FINE(&o, devstate_qemu_run_end(), DEVSTATE_OK, settling);
    list = NULL;
    if (FINE(&o, devstate_qemu_device_state_times(&list), DEVSTATE_OK, nothing)) {
        devstate_qapi_list_free(list);
    }
    if (strict && devstate_default_recorder() == NULL) {
        o.wrong++;
    }
    return o;
}

/*
 * A child with a fresh library: the scenario with allocation `n` failing (or all from `n` on),
 * then with memory back, strictly, then failing again on warm state, then strictly again.
 * Exit status: 0 fine, 1 a wrong status or value, 3 when no allocation was made to fail.
 */
static int child(long n, bool rest)
{
    outcome first, second;

    fail_rest = rest;
    calls = 0;
    failures = 0;
    fail_at = n;
    first = scenario(false);
    fail_at = 0;
    if (scenario(true).wrong || first.wrong) {
        return 1;
    }
    calls = 0;
    fail_at = n;
    second = scenario(false);
    fail_at = 0;
    if (second.wrong || scenario(true).wrong) {
        return 1;
    }
    if (failures == 0) {
        return 3;
    }
    return first.nomem + second.nomem > 0 ? 0 : 2;
}

/*
 * Runs child(n, rest) in a new process image of this program (fork and exec, so that the
 * library, its Swift runtime and json-c start with nothing made yet); returns its exit status,
 * or 128 + the signal that killed it.
 */
static int in_child(long n, bool rest)
{
    char value[32];
    pid_t pid;
    int status;

    snprintf(value, sizeof(value), "%ld", rest ? -n : n);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        char *const argv[] = { (char *)"test_nomem", NULL };

        setenv("DEVSTATE_NOMEM_ONLY", value, 1);
        execv("/proc/self/exe", argv);
        _exit(255);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        return 255;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
    long total, n;
    int mode;
    const char *only = getenv("DEVSTATE_NOMEM_ONLY");
    FILE *counter;

    /* DEVSTATE_NOMEM_ONLY=N (or -N: every call from N on) is one child; also to debug one N */
    if (only) {
        n = strtol(only, NULL, 10);
        if (n == 0) {
            /* how many allocations a fresh library makes in one scenario */
            calls = 0;
            if (scenario(true).wrong) {
                return 1;
            }
            printf("%ld\n", calls);
            return 0;
        }
        return child(n < 0 ? -n : n, n < 0);
    }
    counter = popen("DEVSTATE_NOMEM_ONLY=0 /proc/$PPID/exe", "r");
    if (!counter || fscanf(counter, "%ld", &total) != 1 || pclose(counter) != 0) {
        fprintf(stderr, "the scenario fails without any injected failure\n");
        CHECK(0);
        return harness_finish("nomem");
    }
    printf("a scenario makes %ld malloc-family calls in a fresh process\n", total);
    CHECK(total > DEVICES / 10);
    for (mode = 0; mode < 2; mode++) {
        long crashed = 0, wrong = 0, noticed = 0, silent = 0;

        for (n = 1; n <= total; n++) {
            int status = in_child(n, mode == 1);

            if (status >= 128) {
                crashed++;
                fprintf(stderr, "allocation %ld failing%s: the child died of signal %d"
                        " (DEVSTATE_NOMEM_ONLY=%s%ld reruns it)\n", n, mode ? " (and all after it)" : "",
                        status - 128, mode ? "-" : "", n);
            } else if (status == 1 || status == 255) {
                wrong++;
                fprintf(stderr, "allocation %ld failing%s: a wrong status or value (DEVSTATE_NOMEM_ONLY=%s%ld)\n",
                        n, mode ? " (and all after it)" : "", mode ? "-" : "", n);
            } else if (status == 0) {
                noticed++;
            } else {
                silent++; /* the failed call was one whose failure its caller absorbs */
            }
        }
        printf("%s: %ld runs, %ld reported DEVSTATE_ERR_NOMEM, %ld absorbed it, %ld crashed, %ld wrong\n",
               mode ? "every allocation from the Nth on fails" : "only the Nth allocation fails",
               total, noticed, silent, crashed, wrong);
        CHECK_INT(crashed, 0);
        CHECK_INT(wrong, 0);
        CHECK(noticed > 0);
    }
    return harness_finish("nomem");
}
