/*
 * ThreadSanitizer from C: one thread records while others query and reset, on a private
 * recorder and on the default recorder through the QEMU hooks (QEMU records from its
 * migration thread and answers query-migrate from its main loop), while another thread
 * creates and frees recorders, snapshots and JSON strings (the shared handle tables).
 *
 * Built by scripts/hardening/run.sh with -fsanitize=thread twice: against the installed
 * libdevstate.so (the library is not instrumented there: TSan sees its pthread calls only)
 * and against DeviceStateTimes objects built with `swift build --sanitize=thread` (the
 * library's memory accesses are instrumented). Run with TSAN_OPTIONS=halt_on_error=1 so any
 * report fails the program; prints "tsan: N passed, N failed".
 *
 * Compiled with -DDEVSTATE_TSAN_CANARY it also makes a deliberate data race of its own, so
 * run.sh can prove that the sanitizer is active (that build must be stopped by TSan).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <devstate/devstate.h>
#include <devstate/qemu-hooks.h>

#include "harness.h"

#define RUNS 300
#define DEVICES 200
#define QUERIERS 2

static devstate_recorder *shared_recorder;
static char names[DEVICES][48];

/* Written by one thread each, read by main after join. */
static long unexpected[8];
static long queries_done[8];

static int is_known_name(const char *name, uint32_t len)
{
    return len > 4 && strncmp(name, "dev-", 4) == 0 && strlen(name) == len;
}

static void *recording_thread(void *arg)
{
    long *bad = arg;
    int run, i;

    for (run = 0; run < RUNS; run++) {
        if (devstate_run_begin(shared_recorder) != DEVSTATE_OK) (*bad)++;
        if (devstate_qemu_run_begin() != DEVSTATE_OK) (*bad)++;
        for (i = 0; i < DEVICES; i++) {
            int32_t s = devstate_record(shared_recorder, names[i], (uint32_t)i,
                                        (uint64_t)(run + i) % 50, i & 1);
            /* The resetting thread may begin a new run under us; an end may close it. */
            if (s != DEVSTATE_OK && s != DEVSTATE_SKIPPED_ZERO && s != DEVSTATE_ERR_NO_RUN) (*bad)++;
            s = devstate_qemu_record(names[i], (uint32_t)i, 100, 100 + (run + i) % 50, 0);
            if (s != DEVSTATE_OK && s != DEVSTATE_SKIPPED_ZERO) (*bad)++;
        }
        devstate_run_end(shared_recorder); /* NO_RUN if the resetter's begin was ended by us before */
        if (devstate_qemu_run_end() != DEVSTATE_OK) (*bad)++;
    }
    return NULL;
}

static void *resetting_thread(void *arg)
{
    long *bad = arg;
    int i;

    for (i = 0; i < RUNS / 2; i++) {
        if (devstate_run_begin(shared_recorder) != DEVSTATE_OK) (*bad)++;
        if (i % 3 == 0) {
            int32_t s = devstate_run_end(shared_recorder);
            if (s != DEVSTATE_OK && s != DEVSTATE_ERR_NO_RUN) (*bad)++;
        }
    }
    return NULL;
}

static void check_snapshot(devstate_snapshot *snapshot, long *bad)
{
    devstate_snapshot_info info;
    devstate_entry entry;
    char *json = NULL;
    uint64_t k;

    if (devstate_snapshot_get_info(snapshot, &info) != DEVSTATE_OK || info.count > DEVICES) {
        (*bad)++;
        return;
    }
    for (k = 0; k < info.count; k++) {
        if (devstate_snapshot_entry(snapshot, k, &entry) != DEVSTATE_OK
            || !is_known_name(entry.name, entry.name_len) || entry.save_time_us == 0) {
            (*bad)++;
        }
    }
    if (devstate_snapshot_json(snapshot, k % 2 ? DEVSTATE_JSON_PRETTY : DEVSTATE_JSON_COMPACT, &json) != DEVSTATE_OK
        || json[0] != '[') {
        (*bad)++;
    }
    if (devstate_json_free(json) != DEVSTATE_OK) (*bad)++;
}

static void *querying_thread(void *arg)
{
    int index = (int)(intptr_t)arg;
    long *bad = &unexpected[index];
    int i;

    for (i = 0; i < RUNS * 2; i++) {
        devstate_snapshot *snapshot = NULL;
        DeviceSaveStateTimeList *list = NULL, *node;
        int32_t s = devstate_snapshot_take(shared_recorder, &snapshot);

        if (s == DEVSTATE_OK) {
            check_snapshot(snapshot, bad);
            if (devstate_snapshot_free(snapshot) != DEVSTATE_OK) (*bad)++;
        } else if (s != DEVSTATE_ERR_EMPTY) {
            (*bad)++;
        }
        /* query-migrate while the migration thread records. */
        s = devstate_qemu_device_state_times(&list);
        if (s == DEVSTATE_OK) {
            for (node = list; node; node = node->next) {
                if (strncmp(node->value->name, "dev-", 4) != 0 || node->value->save_time == 0) (*bad)++;
            }
            devstate_qapi_list_free(list);
        } else if (s != DEVSTATE_ERR_NO_RUN && s != DEVSTATE_ERR_EMPTY) {
            (*bad)++;
        }
        queries_done[index]++;
    }
    return NULL;
}

/* Creates and frees its own recorders and snapshots: contends on the handle tables. */
static void *churning_thread(void *arg)
{
    long *bad = arg;
    int i;

    for (i = 0; i < RUNS * 2; i++) {
        devstate_recorder *r = NULL;
        devstate_snapshot *s = NULL;

        if (devstate_recorder_new(&r) != DEVSTATE_OK) {
            (*bad)++;
            continue;
        }
        if (devstate_run_begin(r) != DEVSTATE_OK) (*bad)++;
        if (devstate_record(r, names[i % DEVICES], 1, 5, 0) != DEVSTATE_OK) (*bad)++;
        if (devstate_snapshot_take(r, &s) != DEVSTATE_OK) (*bad)++;
        if (devstate_recorder_free(r) != DEVSTATE_OK) (*bad)++;
        if (s) check_snapshot(s, bad); /* a snapshot outlives its recorder */
        /* No double free here: the handle value may already name another thread's snapshot. */
        if (devstate_snapshot_free(s) != DEVSTATE_OK) (*bad)++;
    }
    return NULL;
}

#ifdef DEVSTATE_TSAN_CANARY
static long canary;

static void *racing_thread(void *arg)
{
    (void)arg;
    canary++; /* unsynchronized on purpose */
    return NULL;
}
#endif

int main(void)
{
    pthread_t recorder, resetter, churner, queriers[QUERIERS];
    int i;

    for (i = 0; i < DEVICES; i++) {
        snprintf(names[i], sizeof names[i], "dev-%d/0000:00:%02x.0", i, i % 32);
    }
#ifdef DEVSTATE_TSAN_CANARY
    {
        pthread_t a, b;
        pthread_create(&a, NULL, racing_thread, NULL);
        pthread_create(&b, NULL, racing_thread, NULL);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    }
#endif
    CHECK_INT(devstate_recorder_new(&shared_recorder), DEVSTATE_OK);
    if (!shared_recorder) {
        return harness_finish("tsan");
    }
    CHECK_INT(pthread_create(&recorder, NULL, recording_thread, &unexpected[0]), 0);
    CHECK_INT(pthread_create(&resetter, NULL, resetting_thread, &unexpected[1]), 0);
    CHECK_INT(pthread_create(&churner, NULL, churning_thread, &unexpected[2]), 0);
    for (i = 0; i < QUERIERS; i++) {
        CHECK_INT(pthread_create(&queriers[i], NULL, querying_thread, (void *)(intptr_t)(3 + i)), 0);
    }
    pthread_join(recorder, NULL);
    pthread_join(resetter, NULL);
    pthread_join(churner, NULL);
    for (i = 0; i < QUERIERS; i++) {
        pthread_join(queriers[i], NULL);
    }
    for (i = 0; i < 8; i++) {
        if (unexpected[i]) fprintf(stderr, "thread %d: %ld unexpected results\n", i, unexpected[i]);
        CHECK_INT(unexpected[i], 0);
    }
    for (i = 0; i < QUERIERS; i++) {
        CHECK_INT(queries_done[3 + i], RUNS * 2);
    }
    CHECK_INT(devstate_recorder_free(shared_recorder), DEVSTATE_OK);
    return harness_finish("tsan");
}
