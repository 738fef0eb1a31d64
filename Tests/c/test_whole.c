/* SPDX-License-Identifier: MIT */
/*
 * The whole downtime (0.2.0 hooks): replays a q35 migration's source side (iterable saves,
 * non-iterable saves, src-* checkpoints) and destination side (loads, dst-* checkpoints) as
 * our QEMU series calls the library, and checks what query-migrate would get through the
 * inline hooks, against stand-ins of the QAPI types our series' schema generates.
 * The downtime windows (0.3.0 hooks): the call sequences of today's series in the cases a
 * window exists for -- COLO on both sides, a section loaded at setup, postcopy's listen
 * thread and late bottom half, savevm on a former destination, a full list -- each checked
 * for what query-migrate shows.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/*
 * What qapi-types-migration.h holds in a QEMU with our series: defining its include guard
 * makes qemu-hooks.h use these types (and compile the layout checks against them).
 */
#define QAPI_TYPES_MIGRATION_H 1
typedef struct DeviceSaveStateTime {
    char *name;
    uint32_t instance_id;
    uint64_t save_time;
    bool has_handler;
    bool handler;
} DeviceSaveStateTime;
typedef struct DeviceSaveStateTimeList {
    struct DeviceSaveStateTimeList *next;
    DeviceSaveStateTime *value;
} DeviceSaveStateTimeList;
typedef struct DeviceLoadStateTime {
    char *name;
    uint32_t instance_id;
    uint64_t load_time;
    bool has_iterable;
    bool iterable;
} DeviceLoadStateTime;
typedef struct DeviceLoadStateTimeList {
    struct DeviceLoadStateTimeList *next;
    DeviceLoadStateTime *value;
} DeviceLoadStateTimeList;
typedef struct DowntimeCheckpoint {
    char *name;
    uint64_t time;
} DowntimeCheckpoint;
typedef struct DowntimeCheckpointList {
    struct DowntimeCheckpointList *next;
    DowntimeCheckpoint *value;
} DowntimeCheckpointList;
typedef enum DowntimeStepKind {
    DOWNTIME_STEP_KIND_WORK,
    DOWNTIME_STEP_KIND_PREPARE,
    DOWNTIME_STEP_KIND_MAIN,
    DOWNTIME_STEP_KIND__MAX,
} DowntimeStepKind;
typedef struct DowntimeStep {
    char *name;
    char *device;
    char *device_type;
    DowntimeStepKind kind;
    uint64_t start;
    uint64_t time;
} DowntimeStep;
typedef struct DowntimeStepList {
    struct DowntimeStepList *next;
    DowntimeStep *value;
} DowntimeStepList;
typedef struct MigrationInfo {
    int status;
    bool has_device_state_times;
    DeviceSaveStateTimeList *device_state_times;
    bool has_iterable_state_times;
    DeviceSaveStateTimeList *iterable_state_times;
    bool has_device_load_times;
    DeviceLoadStateTimeList *device_load_times;
    bool has_downtime_checkpoints;
    DowntimeCheckpointList *downtime_checkpoints;
    bool has_downtime_entries_dropped;
    uint64_t downtime_entries_dropped;
    bool has_downtime_steps;
    DowntimeStepList *downtime_steps;
} MigrationInfo;
#define DEVSTATE_WANT_WHOLE_DOWNTIME_HOOKS 1
#define DEVSTATE_WANT_DROPPED_HOOKS 1
#define DEVSTATE_WANT_STEP_HOOKS 1

#include <devstate/devstate.h>
#include <devstate/qemu-hooks.h>

#include "harness.h"

typedef struct step {
    const char *name;      /* a section's idstr, or a checkpoint's name */
    uint32_t instance_id;
    int64_t span_us;       /* a section's time; -1 marks a checkpoint */
    uint32_t flags;
} step;

#define MARK(n) { n, 0, -1, 0 }
#define CHECKPOINT_GAP_US 7

/* Source: the order QEMU 10.0 saves at switchover (times from a real q35 trace). */
static const step source_steps[] = {
    MARK("src-downtime-start"), MARK("src-vm-stopped"),
    { "ram", 0, 115, DEVSTATE_ENTRY_ITERABLE }, { "dirty-bitmap", 0, 0, DEVSTATE_ENTRY_ITERABLE },
    { "block", 0, 3, DEVSTATE_ENTRY_ITERABLE },
    MARK("src-iterable-saved"),
    { "timer", 0, 15, 0 }, { "cpu", 0, 150, 0 }, { "cpu", 1, 122, 0 },
    { "0000:00:03.0/e1000e", 0, 1829, 0 }, { "smbus-eeprom", 2, 0, 0 },
    MARK("src-non-iterable-saved"), MARK("src-downtime-end"),
};

/* Destination: the last ram part, then every device, then the dst-* checkpoints. */
static const step destination_steps[] = {
    { "ram", 0, 26, DEVSTATE_ENTRY_ITERABLE }, { "timer", 0, 3, 0 }, { "slirp", 0, 10, 0 },
    { "slirp", 1, 0, 0 }, { "0000:00:03.0/e1000e", 0, 2400, 0 }, { "0000:00:05.0/vga", 0, 6400, 0 },
    MARK("dst-precopy-loadvm-completed"), MARK("dst-precopy-bh-enter"),
    MARK("dst-precopy-bh-announced"), MARK("dst-precopy-bh-vm-started"),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Feeds the steps; returns the clock at the first step, which is the run's origin. */
static int64_t replay(const step *steps, size_t n, uint32_t device_list, uint32_t mark_list,
                      int64_t clock_us)
{
    int64_t origin = clock_us;
    size_t i;

    for (i = 0; i < n; i++) {
        if (steps[i].span_us < 0) {
            CHECK_INT(devstate_qemu_checkpoint(mark_list, steps[i].name, clock_us), DEVSTATE_OK);
            clock_us += CHECKPOINT_GAP_US;
        } else if (device_list == DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES &&
                   steps[i].flags == 0) {
            CHECK_INT(devstate_qemu_record(steps[i].name, steps[i].instance_id, clock_us,
                                           clock_us + steps[i].span_us, 0),
                      steps[i].span_us ? DEVSTATE_OK : DEVSTATE_SKIPPED_ZERO);
            clock_us += steps[i].span_us;
        } else {
            uint32_t list = device_list;

            if (device_list == DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES) {
                list = DEVSTATE_QEMU_LIST_ITERABLE_SAVES;
            }
            CHECK_INT(devstate_qemu_record_in(list, steps[i].name, steps[i].instance_id, clock_us,
                                              clock_us + steps[i].span_us, steps[i].flags),
                      steps[i].span_us ? DEVSTATE_OK : DEVSTATE_SKIPPED_ZERO);
            clock_us += steps[i].span_us;
        }
    }
    return origin;
}

static void migrate_source(int64_t clock_us)
{
    CHECK_INT(devstate_qemu_begin(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_begin(DEVSTATE_QEMU_LIST_ITERABLE_SAVES), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_run_begin(), DEVSTATE_OK);
    replay(source_steps, COUNT(source_steps), DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES,
           DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, clock_us);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_ITERABLE_SAVES), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_run_end(), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS), DEVSTATE_OK);
}

/* Checks a list of times against the steps of one kind, zero spans left out. */
static void check_times(const devstate_qapi_time_list *list, const step *steps, size_t n,
                        bool (*wanted)(const step *), bool flag_is_iterable)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!wanted(&steps[i]) || steps[i].span_us == 0) {
            continue;
        }
        CHECK(list != NULL);
        if (!list) {
            return;
        }
        CHECK_STR(list->value->name, steps[i].name);
        CHECK_INT(list->value->instance_id, steps[i].instance_id);
        CHECK_INT(list->value->time_us, steps[i].span_us);
        if (flag_is_iterable) {
            bool iterable = steps[i].flags == DEVSTATE_ENTRY_ITERABLE;
            CHECK_INT(list->value->has_flag, iterable);
            CHECK_INT(list->value->flag, iterable);
        } else {
            CHECK(!list->value->has_flag && !list->value->flag);
        }
        list = list->next;
    }
    CHECK(list == NULL);
}

/* Checkpoint offsets: the clock advanced by every earlier span and gap since the origin. */
static void check_marks(const devstate_qapi_checkpoint_list *list, const step *steps, size_t n)
{
    uint64_t clock = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (steps[i].span_us >= 0) {
            clock += (uint64_t)steps[i].span_us;
            continue;
        }
        CHECK(list != NULL);
        if (!list) {
            return;
        }
        CHECK_STR(list->value->name, steps[i].name);
        CHECK_INT(list->value->time_us, clock);
        clock += CHECKPOINT_GAP_US;
        list = list->next;
    }
    CHECK(list == NULL);
}

static bool is_iterable(const step *s) { return s->span_us >= 0 && s->flags == DEVSTATE_ENTRY_ITERABLE; }
static bool is_section(const step *s) { return s->span_us >= 0; }

static void test_source(void)
{
    MigrationInfo info;

    memset(&info, 0, sizeof(info));
    migrate_source(5000000);
    qemu_savevm_get_device_state_times(&info);
    qemu_savevm_get_whole_downtime(&info);
    CHECK(info.has_device_state_times && info.device_state_times);
    CHECK(info.has_iterable_state_times && info.iterable_state_times);
    CHECK(info.has_downtime_checkpoints && info.downtime_checkpoints);
    CHECK(!info.has_device_load_times && !info.device_load_times);
    check_times((const devstate_qapi_time_list *)info.iterable_state_times, source_steps,
                COUNT(source_steps), is_iterable, false);
    check_marks((const devstate_qapi_checkpoint_list *)info.downtime_checkpoints, source_steps,
                COUNT(source_steps));
    /* device-state-times stays the 0.1.0 list: non-iterable only. */
    CHECK_STR(info.device_state_times->value->name, "timer");
    devstate_qapi_list_free(info.device_state_times);
    devstate_qapi_time_list_free((devstate_qapi_time_list *)info.iterable_state_times);
    devstate_qapi_checkpoint_list_free((devstate_qapi_checkpoint_list *)info.downtime_checkpoints);
}

static void test_destination(void)
{
    MigrationInfo info;
    DowntimeCheckpointList *dst_marks;

    memset(&info, 0, sizeof(info));
    /* An incoming migration that fails never ends its run: nothing to show. */
    CHECK_INT(devstate_qemu_begin(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "timer", 0, 10, 13, 0),
              DEVSTATE_OK);
    qemu_loadvm_get_whole_downtime(&info);
    CHECK(!info.device_load_times && !info.has_device_load_times);
    CHECK(!info.downtime_checkpoints && !info.has_downtime_checkpoints);

    /* The next one completes: the failed one's load is gone. */
    CHECK_INT(devstate_qemu_begin(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    replay(destination_steps, COUNT(destination_steps), DEVSTATE_QEMU_LIST_INCOMING,
           DEVSTATE_QEMU_LIST_INCOMING, 9000000);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    qemu_loadvm_get_whole_downtime(&info);
    CHECK(info.has_device_load_times && info.has_downtime_checkpoints);
    check_times((const devstate_qapi_time_list *)info.device_load_times, destination_steps,
                COUNT(destination_steps), is_section, true);
    /* Offsets count from the first load's start, as the trace report's "first-load-start". */
    check_marks((const devstate_qapi_checkpoint_list *)info.downtime_checkpoints,
                destination_steps, COUNT(destination_steps));
    CHECK_INT(info.downtime_checkpoints->value->time, 26 + 3 + 10 + 2400 + 6400);

    /* This process migrates on: the source's checkpoints replace the destination's. */
    dst_marks = info.downtime_checkpoints;
    migrate_source(20000000);
    qemu_savevm_get_whole_downtime(&info);
    CHECK(info.downtime_checkpoints != dst_marks);
    CHECK_STR(info.downtime_checkpoints->value->name, "src-downtime-start");
    CHECK_INT(info.downtime_checkpoints->value->time, 0);
    CHECK(info.device_load_times != NULL); /* the load list stays the destination's */
    devstate_qapi_time_list_free((devstate_qapi_time_list *)info.device_load_times);
    devstate_qapi_time_list_free((devstate_qapi_time_list *)info.iterable_state_times);
    devstate_qapi_checkpoint_list_free((devstate_qapi_checkpoint_list *)info.downtime_checkpoints);
}

static void test_refusals(void)
{
    devstate_qapi_time_list *times = (devstate_qapi_time_list *)&times;
    devstate_qapi_checkpoint_list *marks = NULL;

    CHECK(devstate_qemu_recorder(DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES) == devstate_default_recorder());
    CHECK(devstate_qemu_recorder(DEVSTATE_QEMU_LIST_INCOMING) != NULL);
    CHECK(devstate_qemu_recorder(DEVSTATE_QEMU_LIST_INCOMING) !=
          devstate_qemu_recorder(DEVSTATE_QEMU_LIST_ITERABLE_SAVES));
    CHECK(devstate_qemu_recorder(4) == NULL);
    CHECK_INT(devstate_qemu_begin(4), DEVSTATE_ERR_NO_LIST);
    CHECK_INT(devstate_qemu_end(99), DEVSTATE_ERR_NO_LIST);
    CHECK_INT(devstate_qemu_record_in(4, "x", 0, 1, 2, 0), DEVSTATE_ERR_NO_LIST);
    CHECK_INT(devstate_qemu_checkpoint(0xffffffffu, "x", 1), DEVSTATE_ERR_NO_LIST);
    CHECK_INT(devstate_qemu_times(4, &times), DEVSTATE_ERR_NO_LIST);
    CHECK(times == (devstate_qapi_time_list *)&times); /* untouched */
    CHECK_INT(devstate_qemu_checkpoints(7, &marks), DEVSTATE_ERR_NO_LIST);
    CHECK_INT(devstate_qemu_times(DEVSTATE_QEMU_LIST_INCOMING, NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_qemu_checkpoints(DEVSTATE_QEMU_LIST_INCOMING, NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, NULL, 0, 1, 2, 0), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, NULL, 1), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "", 1), DEVSTATE_ERR_NAME_EMPTY);
    CHECK_STR(devstate_strerror(DEVSTATE_ERR_NO_LIST), "unknown DEVSTATE_QEMU_LIST_* list");

    /* A checkpoint is not a span's flag; several flags at once are refused. */
    CHECK_INT(devstate_qemu_begin(DEVSTATE_QEMU_LIST_ITERABLE_SAVES), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_ITERABLE_SAVES, "ram", 0, 1, 9,
                                      DEVSTATE_ENTRY_CHECKPOINT), DEVSTATE_ERR_FLAGS);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_ITERABLE_SAVES, "ram", 0, 1, 9,
                                      DEVSTATE_ENTRY_ITERABLE | DEVSTATE_ENTRY_HANDLER),
              DEVSTATE_ERR_FLAGS);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_ITERABLE_SAVES, "ram", 0, 1, 9,
                                      DEVSTATE_ENTRY_ITERABLE), DEVSTATE_OK);
    /* Open run: not handed out, and what it holds stays. */
    times = NULL;
    CHECK_INT(devstate_qemu_times(DEVSTATE_QEMU_LIST_ITERABLE_SAVES, &times), DEVSTATE_ERR_NO_RUN);
    CHECK(times == NULL);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_ITERABLE_SAVES), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_ITERABLE_SAVES), DEVSTATE_ERR_NO_RUN);
    CHECK_INT(devstate_qemu_times(DEVSTATE_QEMU_LIST_ITERABLE_SAVES, &times), DEVSTATE_OK);
    CHECK(times && !times->next && times->value->time_us == 8 && !times->value->has_flag);
    devstate_qapi_time_list_free(times);
    /* A run without checkpoints gives an empty (NULL) list. */
    marks = (devstate_qapi_checkpoint_list *)&marks;
    CHECK_INT(devstate_qemu_checkpoints(DEVSTATE_QEMU_LIST_ITERABLE_SAVES, &marks), DEVSTATE_OK);
    CHECK(marks == NULL);
    CHECK_INT(devstate_qapi_time_list_free(NULL), DEVSTATE_OK);
    CHECK_INT(devstate_qapi_checkpoint_list_free(NULL), DEVSTATE_OK);
}

/* The generic API: checkpoints and iterable entries on a recorder of one's own, in JSON. */
static void test_generic_json(void)
{
    devstate_recorder *r;
    devstate_snapshot *s;
    devstate_entry e;
    devstate_snapshot_info info;
    char *json;

    CHECK_INT(devstate_recorder_new(&r), DEVSTATE_OK);
    CHECK_INT(devstate_checkpoint(r, "start", 100), DEVSTATE_ERR_NO_RUN);
    CHECK_INT(devstate_run_begin(r), DEVSTATE_OK);
    CHECK_INT(devstate_checkpoint(r, "start", 1000), DEVSTATE_OK);
    CHECK_INT(devstate_record(r, "ram", 0, 40, DEVSTATE_ENTRY_ITERABLE), DEVSTATE_OK);
    CHECK_INT(devstate_record(r, "ram", 1, 0, DEVSTATE_ENTRY_ITERABLE), DEVSTATE_SKIPPED_ZERO);
    CHECK_INT(devstate_checkpoint(r, "back in time", 900), DEVSTATE_OK);
    CHECK_INT(devstate_checkpoint(r, "end", 1250), DEVSTATE_OK);
    CHECK_INT(devstate_checkpoint(r, NULL, 1), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_checkpoint(NULL, "x", 1), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_record(r, "x", 0, 5, 8u), DEVSTATE_ERR_FLAGS);
    CHECK_INT(devstate_run_end(r), DEVSTATE_OK);
    CHECK_INT(devstate_snapshot_take(r, &s), DEVSTATE_OK);
    CHECK_INT(devstate_snapshot_get_info(s, &info), DEVSTATE_OK);
    CHECK_INT(info.count, 4);
    CHECK_INT(info.skipped_zero, 1);
    CHECK_INT(devstate_snapshot_entry(s, 0, &e), DEVSTATE_OK);
    CHECK_INT(e.flags, DEVSTATE_ENTRY_CHECKPOINT);
    CHECK_INT(e.save_time_us, 1000);
    CHECK_INT(e.instance_id, 0);
    /* The origin is the earliest reading (900), so "start" is 100 us after it. */
    CHECK_INT(devstate_snapshot_json(s, DEVSTATE_JSON_COMPACT, &json), DEVSTATE_OK);
    CHECK_STR(json, "[{\"name\":\"start\",\"time\":100},"
                    "{\"name\":\"ram\",\"instance-id\":0,\"save-time\":40,\"iterable\":true},"
                    "{\"name\":\"back in time\",\"time\":0},{\"name\":\"end\",\"time\":350}]");
    CHECK_INT(devstate_json_free(json), DEVSTATE_OK);
    CHECK_INT(devstate_snapshot_free(s), DEVSTATE_OK);
    CHECK_INT(devstate_recorder_free(r), DEVSTATE_OK);
    CHECK_INT(devstate_checkpoint(r, "late", 1), DEVSTATE_ERR_INVALID_HANDLE);
}

/* ---- the downtime windows (0.3.0): the call sequences of today's series ---------------- */

/* migrate_init(): the process becomes a source; savevm, migrate and snapshots all pass here. */
static void series_migrate_init(void)
{
    CHECK_INT(devstate_qemu_discard(DEVSTATE_QEMU_LIST_ITERABLE_SAVES), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_discard(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_discard(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
}

/*
 * qemu_savevm_state_complete_precopy_iterable() and _non_iterable(): one pass each. A pass
 * in COLO state opens no iterable run, so its saves find none (NO_RUN, not counted).
 */
static int64_t series_switchover_saves(int64_t clock, bool colo, const char *device)
{
    int32_t expected = colo ? DEVSTATE_ERR_NO_RUN : DEVSTATE_OK;

    if (!colo) {
        CHECK_INT(devstate_qemu_begin(DEVSTATE_QEMU_LIST_ITERABLE_SAVES), DEVSTATE_OK);
    }
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_ITERABLE_SAVES, "ram", 0, clock, clock + 90,
                                      DEVSTATE_ENTRY_ITERABLE), expected);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_ITERABLE_SAVES), expected);
    devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-iterable-saved", clock + 91);
    if (!colo) { /* COLO saves its devices through qemu_save_device_state(), not timed */
        CHECK_INT(devstate_qemu_run_begin(), DEVSTATE_OK);
        CHECK_INT(devstate_qemu_record(device, 0, clock + 92, clock + 140, DEVSTATE_ENTRY_VMSD), DEVSTATE_OK);
        CHECK_INT(devstate_qemu_run_end(), DEVSTATE_OK);
        devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-non-iterable-saved", clock + 141);
    }
    return clock + 150;
}

/* A precopy migration's source, from migrate_init() to src-downtime-end. */
static void series_source(int64_t clock, const char *device)
{
    series_migrate_init();
    CHECK_INT(devstate_qemu_begin(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-downtime-start", clock), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-vm-stopped", clock + 5), DEVSTATE_OK);
    clock = series_switchover_saves(clock + 10, false, device);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-downtime-end", clock), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS), DEVSTATE_OK);
}

/* query-migrate: the destination's part, then the source's, as qmp_query_migrate() does. */
static MigrationInfo series_query(void)
{
    MigrationInfo info;

    memset(&info, 0, sizeof(info));
    qemu_loadvm_get_whole_downtime(&info);
    qemu_loadvm_get_downtime_steps(&info);
    qemu_loadvm_get_downtime_dropped(&info);
    qemu_savevm_get_device_state_times(&info);
    qemu_savevm_get_whole_downtime(&info);
    qemu_savevm_get_downtime_steps(&info);
    qemu_savevm_get_downtime_dropped(&info);
    return info;
}

static void series_free(MigrationInfo *info)
{
    devstate_qapi_list_free(info->device_state_times);
    devstate_qapi_time_list_free((devstate_qapi_time_list *)info->iterable_state_times);
    devstate_qapi_time_list_free((devstate_qapi_time_list *)info->device_load_times);
    devstate_qapi_checkpoint_list_free((devstate_qapi_checkpoint_list *)info->downtime_checkpoints);
    devstate_qapi_step_list_free((devstate_qapi_step_list *)info->downtime_steps);
}

static size_t count_times(const void *list)
{
    const devstate_qapi_time_list *node = (const devstate_qapi_time_list *)list;
    size_t n = 0;

    for (; node; node = node->next) {
        n++;
    }
    return n;
}

static bool has_mark(const DowntimeCheckpointList *list, const char *name)
{
    for (; list; list = list->next) {
        if (strcmp(list->value->name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* A new process: every list starts with nothing to report. */
static void series_fresh_process(void)
{
    CHECK_INT(devstate_qemu_discard(DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES), DEVSTATE_OK);
    series_migrate_init();
}

/*
 * COLO, secondary: the incoming migration's first load opens the run; COLO then takes over
 * (discard), loads the device state at every checkpoint (100,000 of them here: refused, not
 * counted, nothing kept), and after a failover the bottom half passes its checkpoints and
 * ends a run that is not there. query-migrate shows no list at all.
 */
static void test_colo_secondary(void)
{
    devstate_recorder *incoming = devstate_qemu_recorder(DEVSTATE_QEMU_LIST_INCOMING);
    devstate_snapshot *s = NULL;
    MigrationInfo info;
    int64_t clock = 1000000;
    int i, refused = 0;

    series_fresh_process();
    CHECK_INT(devstate_qemu_arm(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "ram", 0, clock, clock + 30,
                                      DEVSTATE_ENTRY_ITERABLE), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "timer", 0, clock + 30, clock + 33,
                                      DEVSTATE_ENTRY_VMSD), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-loadvm-completed", clock + 40),
              DEVSTATE_OK);
    CHECK_INT(devstate_qemu_discard(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK); /* COLO starts */
    for (i = 0; i < 100000; i++) {
        clock += 1000;
        refused += devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "0000:00:03.0/e1000e", 0, clock,
                                           clock + 25, DEVSTATE_ENTRY_VMSD) == DEVSTATE_ERR_NO_RUN;
    }
    CHECK_INT(refused, 100000);
    CHECK_INT(devstate_snapshot_take(incoming, &s), DEVSTATE_ERR_EMPTY); /* nothing was kept */
    /* failover: process_incoming_migration_bh() */
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-bh-enter", clock),
              DEVSTATE_ERR_NO_RUN);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-bh-vm-started", clock + 9),
              DEVSTATE_ERR_NO_RUN);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_ERR_NO_RUN);
    info = series_query();
    CHECK(!info.has_device_load_times && !info.has_downtime_checkpoints);
    CHECK(!info.has_device_state_times && !info.has_iterable_state_times);
    CHECK(!info.has_downtime_entries_dropped);
    series_free(&info);
}

/*
 * COLO, primary: the initial migration's switchover is recorded; COLO's checkpoint passes
 * open no iterable run. After the failover (status completed) the lists are the initial
 * migration's: one ram save, not the last checkpoint's.
 */
static void test_colo_primary(void)
{
    MigrationInfo info;
    int64_t clock = 50000000;
    int i;

    series_fresh_process();
    series_source(clock, "0000:00:02.0/virtio-net");
    for (i = 0; i < 1000; i++) {
        clock += 100000;
        series_switchover_saves(clock, true, NULL);
    }
    info = series_query();
    CHECK(info.has_iterable_state_times);
    CHECK_INT(count_times(info.iterable_state_times), 1);
    CHECK_INT(info.iterable_state_times->value->save_time, 90);
    CHECK(info.has_device_state_times && info.device_state_times
          && strcmp(info.device_state_times->value->name, "0000:00:02.0/virtio-net") == 0);
    CHECK(info.has_downtime_checkpoints && has_mark(info.downtime_checkpoints, "src-downtime-end"));
    CHECK(info.has_downtime_entries_dropped && info.downtime_entries_dropped == 0);
    series_free(&info);
}

/*
 * A section loaded at setup (virtio-mem's early state) is not passed by the series; the run
 * opens with the switchover's first load, 58,856 us later, and the checkpoints count from it.
 */
static void test_setup_load(void)
{
    MigrationInfo info;
    const int64_t setup = 7000000, switchover = setup + 58856;

    series_fresh_process();
    CHECK_INT(devstate_qemu_arm(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    /* loadvm_downtime_load() only traces virtio-mem-device-early at `setup` */
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "ram", 0, switchover, switchover + 400,
                                      DEVSTATE_ENTRY_ITERABLE), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "0000:00:01.0/virtio-mem-device", 0,
                                      switchover + 400, switchover + 2786, DEVSTATE_ENTRY_VMSD), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-loadvm-completed",
                                       switchover + 2800), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-bh-vm-started",
                                       switchover + 3100), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    info = series_query();
    CHECK_INT(count_times(info.device_load_times), 2);
    CHECK(info.downtime_checkpoints != NULL);
    if (info.downtime_checkpoints) {
        CHECK_INT(info.downtime_checkpoints->value->time, 2800);
        CHECK_INT(info.downtime_checkpoints->next->value->time, 3100);
    }
    CHECK(info.has_downtime_entries_dropped && info.downtime_entries_dropped == 0);
    series_free(&info);
}

/*
 * Postcopy: the package's loads on the main thread open the run. The listen thread can set
 * `completed` before loadvm_postcopy_handle_run_bh() has run: until the bottom half ends the
 * run, query-migrate shows nothing rather than a list without its dst-postcopy-bh-*
 * checkpoints; after it, all five are there. The listen thread's last ram load is not
 * passed (it runs while the guest does), and a late record would find the run ended.
 */
static void test_postcopy(void)
{
    static const char *const bh[] = { "dst-postcopy-bh-enter", "dst-postcopy-bh-cpu-synced",
                                      "dst-postcopy-bh-announced", "dst-postcopy-bh-cache-invalidated",
                                      "dst-postcopy-bh-vm-started" };
    MigrationInfo info;
    int64_t clock = 30000000;
    size_t i;

    series_fresh_process();
    CHECK_INT(devstate_qemu_arm(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "cpu", 0, clock, clock + 120,
                                      DEVSTATE_ENTRY_VMSD), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "0000:00:03.0/e1000e", 0, clock + 120,
                                      clock + 900, DEVSTATE_ENTRY_VMSD), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-loadvm-completed",
                                       clock + 950), DEVSTATE_OK);
    info = series_query(); /* the listen thread completed first */
    CHECK(!info.has_device_load_times && !info.has_downtime_checkpoints && !info.has_downtime_entries_dropped);
    series_free(&info);
    for (i = 0; i < COUNT(bh); i++) {
        CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, bh[i], clock + 1000 + (int64_t)i * 50),
                  DEVSTATE_OK);
    }
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "ram", 0, clock + 5000, clock + 5300,
                                      DEVSTATE_ENTRY_ITERABLE), DEVSTATE_ERR_NO_RUN);
    info = series_query();
    CHECK_INT(count_times(info.device_load_times), 2);
    for (i = 0; i < COUNT(bh); i++) {
        CHECK(has_mark(info.downtime_checkpoints, bh[i]));
    }
    CHECK_INT(info.downtime_checkpoints->value->time, 950);
    series_free(&info);
}

/*
 * A destination that later runs savevm: migrate_init() discards the incoming lists, savevm
 * passes no src-downtime-start, so the reply holds savevm's device-state-times and
 * iterable-state-times only -- no loads, no checkpoints of either side.
 */
static void test_savevm_after_incoming(void)
{
    MigrationInfo info;

    series_fresh_process();
    CHECK_INT(devstate_qemu_arm(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "timer", 0, 10, 14, DEVSTATE_ENTRY_VMSD),
              DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-bh-vm-started", 20), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    info = series_query();
    CHECK(info.has_device_load_times && info.has_downtime_checkpoints);
    series_free(&info);

    series_migrate_init(); /* savevm */
    series_switchover_saves(90000000, false, "0000:00:04.0/virtio-blk");
    info = series_query();
    CHECK(!info.has_device_load_times && !info.device_load_times);
    CHECK(!info.has_downtime_checkpoints && !info.downtime_checkpoints);
    CHECK(info.has_device_state_times && info.device_state_times
          && strcmp(info.device_state_times->value->name, "0000:00:04.0/virtio-blk") == 0);
    CHECK_INT(count_times(info.iterable_state_times), 1);
    CHECK(info.has_downtime_entries_dropped && info.downtime_entries_dropped == 0);
    series_free(&info);
}

/* A full list: what it could not keep is in downtime-entries-dropped, what it kept stays. */
static void test_dropped(void)
{
    MigrationInfo info;
    char name[32];
    int64_t clock = 100;
    long i, kept = 0;

    series_fresh_process();
    CHECK_INT(devstate_qemu_arm(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    for (i = 0; i < DEVSTATE_MAX_ENTRIES + 5L; i++) {
        snprintf(name, sizeof(name), "dev%ld", i % 1000);
        kept += devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, name, 0, clock, clock + 1,
                                        DEVSTATE_ENTRY_VMSD) == DEVSTATE_OK;
        clock += 1;
    }
    CHECK_INT(kept, DEVSTATE_MAX_ENTRIES);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-bh-vm-started", clock),
              DEVSTATE_ERR_FULL);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    info = series_query();
    CHECK_INT(count_times(info.device_load_times), DEVSTATE_MAX_ENTRIES);
    CHECK(info.has_downtime_entries_dropped);
    CHECK_INT(info.downtime_entries_dropped, 6);
    series_free(&info);
}

/* ---- the steps of the downtime (0.3.0): handlers and work, each side in its window ------ */

typedef struct named_step {
    const char *name, *device, *type;
    uint32_t kind;
    int64_t start, span;
} named_step;

/* A source's stop phase and end phase as 10.0 with our series passes them (a guest's times). */
static const named_step source_named[] = {
    { "clock-stop", NULL, NULL, DEVSTATE_STEP_WORK, 50, 0 },
    { "vcpu-pause", NULL, NULL, DEVSTATE_STEP_WORK, 60, 13 },
    { "virtio_vmstate_change", "/machine/peripheral/guest-disk-dev/virtio-backend", "virtio-blk-device",
      DEVSTATE_STEP_MAIN, 80, 52 },
    { "ide_restart_cb", "", "", DEVSTATE_STEP_MAIN, 140, 0 },
    { "block-flush", "guest-disk", "qcow2", DEVSTATE_STEP_WORK, 150, 1353 },
};

static void series_steps(uint32_t list, const named_step *steps, size_t n, int64_t base, int32_t expected)
{
    size_t i;

    for (i = 0; i < n; i++) {
        CHECK_INT(devstate_qemu_step(list, steps[i].name, steps[i].device, steps[i].type, steps[i].kind,
                                     base + steps[i].start, base + steps[i].start + steps[i].span),
                  expected);
    }
}

static void check_steps(const DowntimeStepList *list, const named_step *steps, size_t n, int64_t shift)
{
    size_t i = 0;

    for (; list && i < n; list = list->next, i++) {
        const DowntimeStep *v = list->value;
        CHECK(strcmp(v->name, steps[i].name) == 0);
        /* "" is no device: the QAPI member is left out (NULL) */
        CHECK(steps[i].device && *steps[i].device ? v->device && strcmp(v->device, steps[i].device) == 0
                                                  : v->device == NULL);
        CHECK(steps[i].type && *steps[i].type ? v->device_type && strcmp(v->device_type, steps[i].type) == 0
                                              : v->device_type == NULL);
        CHECK_INT(v->kind, steps[i].kind);
        CHECK_INT(v->start, steps[i].start + shift);
        CHECK_INT(v->time, steps[i].span);
    }
    CHECK(list == NULL);
    CHECK_INT(i, n);
}

/*
 * A destination, then the same process as a source: each reply shows its side's steps only,
 * with their starts on that side's time line; a step before the switchover's first load (the
 * window is armed, not open) is refused and not counted; nothing is dropped.
 */
static void test_steps(void)
{
    static const named_step destination_named[] = {
        { "block-activate", "guest-disk", "qcow2", DEVSTATE_STEP_WORK, 500, 4766 },
        { "virtio_vmstate_change", "/machine/peripheral/guest-disk-dev/virtio-backend", "virtio-blk-device",
          DEVSTATE_STEP_PREPARE, 5300, 24 },
        { "vcpu-resume", NULL, NULL, DEVSTATE_STEP_WORK, 5330, 13 },
    };
    MigrationInfo info;
    int64_t origin = 2000000;

    series_fresh_process();
    CHECK_INT(devstate_qemu_arm(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    series_steps(DEVSTATE_QEMU_LIST_INCOMING, destination_named, 1, origin - 1000, DEVSTATE_ERR_NO_RUN);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "ram", 0, origin, origin + 400,
                                      DEVSTATE_ENTRY_ITERABLE), DEVSTATE_OK);
    series_steps(DEVSTATE_QEMU_LIST_INCOMING, destination_named, 3, origin, DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, "dst-precopy-bh-vm-started", origin + 5400),
              DEVSTATE_OK);
    info = series_query();
    CHECK(!info.has_downtime_steps && !info.downtime_steps); /* not ended yet: nothing shown */
    series_free(&info);
    series_fresh_process();
    CHECK_INT(devstate_qemu_arm(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, "ram", 0, origin, origin + 400,
                                      DEVSTATE_ENTRY_ITERABLE), DEVSTATE_OK);
    series_steps(DEVSTATE_QEMU_LIST_INCOMING, destination_named, 3, origin, DEVSTATE_OK);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING), DEVSTATE_OK);
    info = series_query();
    CHECK(info.has_downtime_steps);
    check_steps(info.downtime_steps, destination_named, 3, 0);
    CHECK(info.has_downtime_entries_dropped && info.downtime_entries_dropped == 0);
    CHECK_INT(count_times(info.device_load_times), 1);
    series_free(&info);

    /* now a source: its steps replace the destination's, on the source's time line */
    series_migrate_init();
    CHECK_INT(devstate_qemu_begin(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-downtime-start", 7000),
              DEVSTATE_OK);
    series_steps(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, source_named,
                 sizeof(source_named) / sizeof(source_named[0]), 7000, DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-vm-stopped", 8600),
              DEVSTATE_OK);
    CHECK_INT(devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-downtime-end", 9000),
              DEVSTATE_OK);
    CHECK_INT(devstate_qemu_end(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS), DEVSTATE_OK);
    info = series_query();
    check_steps(info.downtime_steps, source_named, sizeof(source_named) / sizeof(source_named[0]), 0);
    CHECK(has_mark(info.downtime_checkpoints, "src-vm-stopped"));
    CHECK(!has_mark(info.downtime_checkpoints, "dst-precopy-bh-vm-started"));
    series_free(&info);
}

int main(void)
{
    CHECK_INT(devstate_version_number(), DEVSTATE_VERSION_NUMBER);
    CHECK(devstate_version_number() >= 200);
    test_source();
    test_destination();
    test_refusals();
    test_generic_json();
    test_colo_secondary();
    test_colo_primary();
    test_setup_load();
    test_postcopy();
    test_savevm_after_incoming();
    test_dropped();
    test_steps();
    return harness_finish("whole");
}
