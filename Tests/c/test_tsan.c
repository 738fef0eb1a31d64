/* SPDX-License-Identifier: MIT */
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
 * A second case (0.2.0 list hooks): a destination's migration thread records loads and
 * checkpoints into DEVSTATE_QEMU_LIST_INCOMING through devstate_qemu_record_in() and
 * devstate_qemu_checkpoint() while the main loop asks for devstate_qemu_times() and
 * devstate_qemu_checkpoints() and frees the lists; both start at a barrier, and the querier
 * must have seen the open run refused (DEVSTATE_ERR_NO_RUN) and an ended run given whole.
 * Since 0.3.0 each run also records steps (devstate_qemu_step(): block activation, run-state
 * handlers) that the querier reads with devstate_qemu_steps().
 *
 * Compiled with -DDEVSTATE_TSAN_CANARY it also makes a deliberate data race of its own, so
 * run.sh can prove that the sanitizer is active (that build must be stopped by TSan).
 */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t and clock_gettime under -std=c11 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* --- the INCOMING list: loads and checkpoints recorded while queried ------------------- */

#define INCOMING_RUNS 200
#define LOADS 50
#define CP_STARTED "dst-precopy-loadvm-started"
#define CP_COMPLETED "dst-precopy-loadvm-completed"
#define STEPS 20

static pthread_barrier_t incoming_start;
/*
 * Handshake flags, relaxed on purpose: relaxed atomics create no happens-before edge for TSan,
 * so they cannot hide a race between the two threads' library calls. The recorder waits (at
 * most HANDSHAKE_SECONDS) until the querier has seen an open run and an ended one, so on a
 * loaded machine the check below does not depend on how the threads were scheduled.
 */
#define HANDSHAKE_SECONDS 20
static atomic_int incoming_done;
static atomic_long saw_no_run, saw_ok, saw_empty;
static long incoming_bad[2], incoming_queries, incoming_records;

/* Reading of a run's load i: spans [start, start + 1 + i % 7], every 10 us from base + 5. */
static int64_t run_base(int run) { return 1000000 * (int64_t)(run + 1); }

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void wait_relaxed(atomic_long *flag)
{
    double until = seconds_now() + HANDSHAKE_SECONDS;
    while (atomic_load_explicit(flag, memory_order_relaxed) == 0 && seconds_now() < until) {
        sched_yield();
    }
}

static void *incoming_recording_thread(void *arg)
{
    long *bad = arg;
    int run, i;

    pthread_barrier_wait(&incoming_start);
    for (run = 0; run < INCOMING_RUNS; run++) {
        int64_t base = run_base(run);

        if (devstate_qemu_begin(DEVSTATE_QEMU_LIST_INCOMING) != DEVSTATE_OK) (*bad)++;
        if (devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, CP_STARTED, base) != DEVSTATE_OK) (*bad)++;
        /* A 0 us span, not kept, that starts before everything: it moves the run's origin. */
        if (devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "dev-skipped", 0, base - 50, base - 50,
                                    DEVSTATE_ENTRY_VMSD) != DEVSTATE_SKIPPED_ZERO) (*bad)++;
        for (i = 0; i < LOADS; i++) {
            int64_t start = base + 10 * i + 5;
            uint32_t flags = i % 5 == 0 ? DEVSTATE_ENTRY_ITERABLE : i % 5 == 1 ? DEVSTATE_ENTRY_HANDLER
                                                                               : DEVSTATE_ENTRY_VMSD;
            if (devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, names[i], (uint32_t)i, start,
                                        start + 1 + i % 7, flags) != DEVSTATE_OK) (*bad)++;
            incoming_records++;
            if (run == 0 && i == LOADS / 2) wait_relaxed(&saw_no_run); /* an open run is queried */
        }
        if (devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, CP_COMPLETED, base + 10 * LOADS + 100)
            != DEVSTATE_OK) (*bad)++;
        for (i = 0; i < STEPS; i++) {
            int64_t start = base + 10 * LOADS + 110 + 10 * i;
            if (devstate_qemu_step(DEVSTATE_QEMU_LIST_INCOMING, i ? "virtio_vmstate_change" : "block-activate",
                                   names[i], i ? "virtio-blk-device" : "qcow2",
                                   i ? DEVSTATE_STEP_MAIN : DEVSTATE_STEP_WORK, start, start + i % 3) != DEVSTATE_OK)
                (*bad)++;
        }
        if (devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING) != DEVSTATE_OK) (*bad)++;
    }
    wait_relaxed(&saw_ok); /* an ended run is queried */
    atomic_store_explicit(&incoming_done, 1, memory_order_relaxed);
    return NULL;
}

/* An ended run's times: every load in order, none of the checkpoints nor the skipped span. */
static void check_incoming_times(devstate_qapi_time_list *list, long *bad)
{
    devstate_qapi_time_list *node;
    int i = 0;

    for (node = list; node; node = node->next, i++) {
        const devstate_qapi_time *t = node->value;
        int iterable = i % 5 == 0;

        if (i >= LOADS || !t || !t->name || strcmp(t->name, names[i]) != 0 || t->instance_id != (uint32_t)i
            || t->time_us != (uint64_t)(1 + i % 7) || t->has_flag != iterable || t->flag != iterable) {
            (*bad)++;
            return;
        }
    }
    if (i != LOADS) (*bad)++;
}

/* An ended run's checkpoints: from the origin, the skipped span's start 50 us before the first. */
static void check_incoming_checkpoints(devstate_qapi_checkpoint_list *list, long *bad)
{
    const devstate_qapi_checkpoint *first = list ? list->value : NULL;
    const devstate_qapi_checkpoint *last = list && list->next ? list->next->value : NULL;

    if (!first || !last || list->next->next || strcmp(first->name, CP_STARTED) != 0 || first->time_us != 50
        || strcmp(last->name, CP_COMPLETED) != 0 || last->time_us != (uint64_t)(10 * LOADS + 150)) {
        (*bad)++;
    }
}

/* An ended run's steps: each with its device and type, in order, after the loads. */
static void check_incoming_steps(devstate_qapi_step_list *list, long *bad)
{
    devstate_qapi_step_list *node;
    int i = 0;

    for (node = list; node; node = node->next, i++) {
        const devstate_qapi_step *v = node->value;

        if (i >= STEPS || !v || strcmp(v->name, i ? "virtio_vmstate_change" : "block-activate") != 0
            || !v->device || strcmp(v->device, names[i]) != 0 || !v->device_type
            || v->kind != (i ? DEVSTATE_STEP_MAIN : DEVSTATE_STEP_WORK) || v->time_us != (uint64_t)(i % 3)
            || v->start_us != (uint64_t)(10 * LOADS + 160 + 10 * i)) {
            (*bad)++;
            return;
        }
    }
    if (i != STEPS) (*bad)++;
}

/* EMPTY only until the querier has seen the first run (open or ended); then never again. */
static void note_status(int32_t s, long *bad, int *begun)
{
    if (s == DEVSTATE_OK) {
        atomic_fetch_add_explicit(&saw_ok, 1, memory_order_relaxed);
        *begun = 1;
    } else if (s == DEVSTATE_ERR_NO_RUN) {
        atomic_fetch_add_explicit(&saw_no_run, 1, memory_order_relaxed);
        *begun = 1;
    } else if (s == DEVSTATE_ERR_EMPTY && !*begun) { /* before the recorder's first begin */
        atomic_fetch_add_explicit(&saw_empty, 1, memory_order_relaxed);
    } else {
        (*bad)++;
    }
}

static void *incoming_querying_thread(void *arg)
{
    long *bad = arg;
    int begun = 0;

    pthread_barrier_wait(&incoming_start);
    while (!atomic_load_explicit(&incoming_done, memory_order_relaxed)) {
        devstate_qapi_time_list *times = NULL;
        devstate_qapi_checkpoint_list *marks = NULL;
        int32_t s = devstate_qemu_times(DEVSTATE_QEMU_LIST_INCOMING, &times);

        note_status(s, bad, &begun);
        if (s == DEVSTATE_OK) check_incoming_times(times, bad);
        if (devstate_qapi_time_list_free(times) != DEVSTATE_OK) (*bad)++;
        s = devstate_qemu_checkpoints(DEVSTATE_QEMU_LIST_INCOMING, &marks);
        note_status(s, bad, &begun);
        if (s == DEVSTATE_OK) check_incoming_checkpoints(marks, bad);
        if (devstate_qapi_checkpoint_list_free(marks) != DEVSTATE_OK) (*bad)++;
        {
            devstate_qapi_step_list *steps = NULL;

            s = devstate_qemu_steps(DEVSTATE_QEMU_LIST_INCOMING, &steps);
            note_status(s, bad, &begun);
            if (s == DEVSTATE_OK) check_incoming_steps(steps, bad);
            if (devstate_qapi_step_list_free(steps) != DEVSTATE_OK) (*bad)++;
        }
        incoming_queries++;
    }
    return NULL;
}

static void incoming_case(void)
{
    pthread_t recorder, querier;

    CHECK_INT(pthread_barrier_init(&incoming_start, NULL, 2), 0);
    CHECK_INT(pthread_create(&recorder, NULL, incoming_recording_thread, &incoming_bad[0]), 0);
    CHECK_INT(pthread_create(&querier, NULL, incoming_querying_thread, &incoming_bad[1]), 0);
    pthread_join(recorder, NULL);
    pthread_join(querier, NULL);
    pthread_barrier_destroy(&incoming_start);
    if (incoming_bad[0] || incoming_bad[1]) {
        fprintf(stderr, "incoming: %ld unexpected results recording, %ld querying\n", incoming_bad[0],
                incoming_bad[1]);
    }
    CHECK_INT(incoming_bad[0], 0);
    CHECK_INT(incoming_bad[1], 0);
    CHECK_INT(incoming_records, INCOMING_RUNS * LOADS);
    CHECK(atomic_load(&saw_no_run) >= 1); /* the open run was refused at least once */
    CHECK(atomic_load(&saw_ok) >= 1);     /* and an ended run was handed out */
    printf("tsan-incoming: %ld query rounds: %ld ok, %ld no-run, %ld empty\n", incoming_queries,
           atomic_load(&saw_ok), atomic_load(&saw_no_run), atomic_load(&saw_empty));
    /* After the last end, the last run whole. */
    {
        devstate_qapi_time_list *times = NULL;
        devstate_qapi_checkpoint_list *marks = NULL;
        long bad = 0;

        CHECK_INT(devstate_qemu_times(DEVSTATE_QEMU_LIST_INCOMING, &times), DEVSTATE_OK);
        check_incoming_times(times, &bad);
        CHECK_INT(devstate_qapi_time_list_free(times), DEVSTATE_OK);
        CHECK_INT(devstate_qemu_checkpoints(DEVSTATE_QEMU_LIST_INCOMING, &marks), DEVSTATE_OK);
        check_incoming_checkpoints(marks, &bad);
        CHECK_INT(devstate_qapi_checkpoint_list_free(marks), DEVSTATE_OK);
        {
            devstate_qapi_step_list *steps = NULL;

            CHECK_INT(devstate_qemu_steps(DEVSTATE_QEMU_LIST_INCOMING, &steps), DEVSTATE_OK);
            check_incoming_steps(steps, &bad);
            CHECK_INT(devstate_qapi_step_list_free(steps), DEVSTATE_OK);
        }
        CHECK_INT(bad, 0);
    }
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
    incoming_case();
    return harness_finish("tsan");
}
