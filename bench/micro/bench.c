/* SPDX-License-Identifier: MIT */
/*
 * Record and query cost of three implementations, one per build of this file:
 *   -DBENCH_OURS      libdevstate (linked shared or static by the Makefile)
 *   -DBENCH_BASELINE  what the reference patch does in QEMU: per record g_new0 + g_strdup and a
 *                     tail append to a GLib-allocated list; per query a deep copy of the list,
 *                     serialized with json-c.
 * Usage: bench N RUNS MODE, MODE one of
 *   record  N entries per run, RUNS runs after a warm-up run, in measured_record()
 *   query   deep copy + JSON of an N-entry run, RUNS times, in measured_query()
 *   alloc   prints malloc-family calls per record in steady state
 *   incoming        a destination's run through the 0.2.0 hooks: N loads, and a downtime
 *                   checkpoint after every tenth, RUNS runs, in measured_incoming()
 *   incoming-alloc  prints malloc-family calls per load or checkpoint in steady state
 *   steps           a source's stop phase through the 0.3.0 step hook: N run-state handler
 *                   calls (name, QOM path, type), RUNS runs, in measured_steps()
 *   steps-alloc     prints malloc-family calls per step in steady state
 *   steps-time      prints ns per step and ns per clock_gettime(CLOCK_MONOTONIC), the reading
 *                   QEMU_CLOCK_REALTIME takes twice per step (median of 7 batches)
 *   time    prints ns per record and ns per copied entry (median of 7 batches)
 * callgrind --toggle-collect=measured_record / measured_query counts only the measured work.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "count-allocs.h" /* Tests/c: allocations per record */
#include "names.h"

#if defined(BENCH_OURS)
#include <devstate/devstate.h>
#include <devstate/qemu-hooks.h>
#elif defined(BENCH_BASELINE)
#include <glib.h>
#else
#error "build with -DBENCH_OURS or -DBENCH_BASELINE"
#endif

typedef struct input {
    char name[64];
    uint32_t instance_id;
    uint64_t save_time;
} input;

static input *inputs;

/* The destination's checkpoints, one after every tenth load of the incoming run. */
static const char *const checkpoint_names[] = {
    "dst-precopy-loadvm-completed", "dst-precopy-bh-enter", "dst-precopy-bh-announced",
    "dst-precopy-bh-vm-started",
};
#define CHECKPOINT_EVERY 10
#define CHECKPOINT_NAME(i) checkpoint_names[((i) / CHECKPOINT_EVERY) % 4]

/* A step's device and type: a qdev handler's QOM path and type, as QEMU passes them. */
#define STEP_DEVICE "/machine/peripheral/guest-disk-dev/virtio-backend"
#define STEP_TYPE "virtio-blk-device"

static void make_inputs(size_t n)
{
    size_t i;

    inputs = calloc(n, sizeof(*inputs));
    for (i = 0; i < n; i++) {
        snprintf(inputs[i].name, sizeof(inputs[i].name), "%s", bench_names[i % BENCH_NAME_COUNT]);
        inputs[i].instance_id = (uint32_t)(i / BENCH_NAME_COUNT);
        inputs[i].save_time = i % 6 == 5 ? 0 : 1 + i % 97; /* some entries take 0 us */
    }
}

#if defined(BENCH_OURS)
static devstate_recorder *recorder;

static void setup(void) { devstate_recorder_new(&recorder); }

static void one_run(size_t n)
{
    size_t i;

    devstate_run_begin(recorder);
    for (i = 0; i < n; i++) {
        devstate_record(recorder, inputs[i].name, inputs[i].instance_id, inputs[i].save_time,
                        DEVSTATE_ENTRY_VMSD);
    }
    devstate_run_end(recorder);
}

static void one_incoming_run(size_t n)
{
    int64_t clock = 1000000;
    size_t i;

    devstate_qemu_begin(DEVSTATE_QEMU_LIST_INCOMING);
    for (i = 0; i < n; i++) {
        devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, inputs[i].name, inputs[i].instance_id,
                                clock, clock + (int64_t)inputs[i].save_time, DEVSTATE_ENTRY_VMSD);
        clock += (int64_t)inputs[i].save_time;
        if (i % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1) {
            devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, CHECKPOINT_NAME(i), clock);
        }
    }
    devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING);
}

static void one_steps_run(size_t n)
{
    int64_t clock = 1000000;
    size_t i;

    devstate_qemu_begin(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS);
    devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-downtime-start", clock);
    for (i = 0; i < n; i++) {
        devstate_qemu_step(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, inputs[i].name, STEP_DEVICE, STEP_TYPE,
                           DEVSTATE_STEP_MAIN, clock, clock + (int64_t)inputs[i].save_time);
        clock += (int64_t)inputs[i].save_time;
    }
    devstate_qemu_end(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS);
}

static size_t one_query(void)
{
    devstate_snapshot *snapshot = NULL;
    char *json = NULL;
    size_t length;

    devstate_snapshot_take(recorder, &snapshot);
    devstate_snapshot_json(snapshot, DEVSTATE_JSON_COMPACT, &json);
    length = strlen(json);
    devstate_json_free(json);
    devstate_snapshot_free(snapshot);
    return length;
}
#else
typedef struct entry {
    char *name;
    uint32_t instance_id;
    uint64_t save_time;
} entry;
typedef struct entry_list {
    struct entry_list *next;
    entry *value;
} entry_list;

static entry_list *head;
static entry_list **tail = &head;

static void free_list(entry_list *list)
{
    while (list) {
        entry_list *next = list->next;
        g_free(list->value->name);
        g_free(list->value);
        g_free(list);
        list = next;
    }
}

static void setup(void) {}

static void one_run(size_t n)
{
    size_t i;

    free_list(head); /* the reference resets the list at the start of each save */
    head = NULL;
    tail = &head;
    for (i = 0; i < n; i++) {
        entry_list *node;
        entry *value;

        if (inputs[i].save_time == 0) {
            continue;
        }
        value = g_new0(entry, 1);
        value->name = g_strdup(inputs[i].name);
        value->instance_id = inputs[i].instance_id;
        value->save_time = inputs[i].save_time;
        node = g_new0(entry_list, 1);
        node->value = value;
        *tail = node;
        tail = &node->next;
    }
}

/*
 * What a reference-style design would do for the destination: a second GLib list of loads
 * and one of checkpoints, each element g_new0 + g_strdup, reset at the start of the load.
 */
static entry_list *load_head, **load_tail = &load_head;
static entry_list *mark_head, **mark_tail = &mark_head;

static void append(entry_list ***where, const char *name, uint32_t instance_id, uint64_t time)
{
    entry_list *node = g_new0(entry_list, 1);

    node->value = g_new0(entry, 1);
    node->value->name = g_strdup(name);
    node->value->instance_id = instance_id;
    node->value->save_time = time;
    **where = node;
    *where = &node->next;
}

static void one_incoming_run(size_t n)
{
    uint64_t clock = 1000000, origin = clock;
    size_t i;

    free_list(load_head);
    free_list(mark_head);
    load_head = mark_head = NULL;
    load_tail = &load_head;
    mark_tail = &mark_head;
    for (i = 0; i < n; i++) {
        if (inputs[i].save_time) {
            append(&load_tail, inputs[i].name, inputs[i].instance_id, inputs[i].save_time);
        }
        clock += inputs[i].save_time;
        if (i % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1) {
            append(&mark_tail, CHECKPOINT_NAME(i), 0, clock - origin);
        }
    }
}

/* A reference-style list of steps: per step g_new0 + a g_strdup of each of its three strings. */
typedef struct step_list {
    struct step_list *next;
    char *name, *device, *type;
    int kind;
    uint64_t start, time;
} step_list;

static step_list *step_head;

static void one_steps_run(size_t n)
{
    step_list **where = &step_head;
    uint64_t clock = 1000000;
    size_t i;

    while (step_head) {
        step_list *next = step_head->next;
        g_free(step_head->name);
        g_free(step_head->device);
        g_free(step_head->type);
        g_free(step_head);
        step_head = next;
    }
    for (i = 0; i < n; i++) {
        step_list *node = g_new0(step_list, 1);

        node->name = g_strdup(inputs[i].name);
        node->device = g_strdup(STEP_DEVICE);
        node->type = g_strdup(STEP_TYPE);
        node->kind = 2;
        node->start = clock;
        node->time = inputs[i].save_time;
        clock += inputs[i].save_time;
        *where = node;
        where = &node->next;
    }
}

static size_t one_query(void)
{
    entry_list *copy = NULL, **copy_tail = &copy, *node;
    json_object *array = json_object_new_array();
    size_t length;

    for (node = head; node; node = node->next) {
        entry_list *n = g_new0(entry_list, 1);
        n->value = g_new0(entry, 1);
        n->value->name = g_strdup(node->value->name);
        n->value->instance_id = node->value->instance_id;
        n->value->save_time = node->value->save_time;
        *copy_tail = n;
        copy_tail = &n->next;
    }
    for (node = copy; node; node = node->next) {
        json_object *object = json_object_new_object();
        json_object_object_add(object, "name", json_object_new_string(node->value->name));
        json_object_object_add(object, "instance-id", json_object_new_int64(node->value->instance_id));
        json_object_object_add(object, "save-time", json_object_new_uint64(node->value->save_time));
        json_object_array_add(array, object);
    }
    length = strlen(json_object_to_json_string_ext(array, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(array);
    free_list(copy);
    return length;
}
#endif

__attribute__((noinline)) void measured_record(size_t n, long runs)
{
    long r;

    for (r = 0; r < runs; r++) {
        one_run(n);
    }
}

__attribute__((noinline)) void measured_incoming(size_t n, long runs)
{
    long r;

    for (r = 0; r < runs; r++) {
        one_incoming_run(n);
    }
}

__attribute__((noinline)) void measured_steps(size_t n, long runs)
{
    long r;

    for (r = 0; r < runs; r++) {
        one_steps_run(n);
    }
}

__attribute__((noinline)) size_t measured_query(long runs)
{
    size_t total = 0;
    long r;

    for (r = 0; r < runs; r++) {
        total += one_query();
    }
    return total;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t n;
    long runs;
    const char *mode;

    if (argc != 4) {
        fprintf(stderr, "usage: %s N RUNS record|query|alloc|time\n", argv[0]);
        return 2;
    }
    n = strtoul(argv[1], NULL, 10);
    runs = strtol(argv[2], NULL, 10);
    mode = argv[3];
    make_inputs(n);
    setup();
    one_run(n); /* warm-up: storage grows to the run's size */
    one_query();
    one_incoming_run(n);
    one_steps_run(n);

    if (strcmp(mode, "record") == 0) {
        measured_record(n, runs);
    } else if (strcmp(mode, "query") == 0) {
        printf("%zu\n", measured_query(runs));
    } else if (strcmp(mode, "alloc") == 0) {
        long before = allocations;
        measured_record(n, runs);
        printf("%.3f\n", (double)(allocations - before) / (double)(n * runs));
    } else if (strcmp(mode, "incoming") == 0) {
        measured_incoming(n, runs);
    } else if (strcmp(mode, "incoming-alloc") == 0) {
        long before = allocations;
        measured_incoming(n, runs);
        printf("%.3f\n", (double)(allocations - before) /
                             (double)((n + n / CHECKPOINT_EVERY) * (size_t)runs));
    } else if (strcmp(mode, "steps") == 0) {
        measured_steps(n, runs);
    } else if (strcmp(mode, "steps-alloc") == 0) {
        long before = allocations;
        measured_steps(n, runs);
        printf("%.3f\n", (double)(allocations - before) / (double)(n * (size_t)runs));
    } else if (strcmp(mode, "steps-time") == 0) {
        double step[7], reading[7];
        struct timespec ts;
        long k;
        int b;
        for (b = 0; b < 7; b++) {
            double t0 = now_ns();
            measured_steps(n, runs);
            step[b] = (now_ns() - t0) / (double)(n * runs);
            t0 = now_ns();
            for (k = 0; k < (long)n * runs; k++) {
                clock_gettime(CLOCK_MONOTONIC, &ts); /* a call into the vDSO: not optimized away */
            }
            reading[b] = (now_ns() - t0) / (double)(n * runs);
        }
        qsort(step, 7, sizeof(double), compare);
        qsort(reading, 7, sizeof(double), compare);
        printf("%.1f %.1f\n", step[3], reading[3]);
    } else if (strcmp(mode, "time") == 0) {
        double record[7], query[7];
        int b;
        for (b = 0; b < 7; b++) {
            double t0 = now_ns();
            measured_record(n, runs);
            record[b] = (now_ns() - t0) / (double)(n * runs);
            t0 = now_ns();
            measured_query(runs);
            query[b] = (now_ns() - t0) / (double)(n * runs);
        }
        qsort(record, 7, sizeof(double), compare);
        qsort(query, 7, sizeof(double), compare);
        printf("%.1f %.1f\n", record[3], query[3]);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
