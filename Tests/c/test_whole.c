/* SPDX-License-Identifier: MIT */
/*
 * The whole downtime (0.2.0 hooks): replays a q35 migration's source side (iterable saves,
 * non-iterable saves, src-* checkpoints) and destination side (loads, dst-* checkpoints) as
 * our QEMU series calls the library, and checks what query-migrate would get through the
 * inline hooks, against stand-ins of the QAPI types our series' schema generates.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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
} MigrationInfo;
#define DEVSTATE_WANT_WHOLE_DOWNTIME_HOOKS 1

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

int main(void)
{
    CHECK_INT(devstate_version_number(), DEVSTATE_VERSION_NUMBER);
    CHECK(devstate_version_number() >= 200);
    test_source();
    test_destination();
    test_refusals();
    test_generic_json();
    return harness_finish("whole");
}
