/* SPDX-License-Identifier: MIT */
/*
 * devstate/qemu-hooks.h - what a patched QEMU calls.
 *
 * QEMU (migration/savevm.c, migration/migration.c) uses the process-wide
 * default recorder through the devstate_qemu_* functions, and gets the
 * times back in the QAPI list types of its query-migrate reply.
 *
 * Layout independence: the library binary knows no QEMU struct but the two
 * QAPI list types below, which the QAPI generator has emitted unchanged
 * since QEMU 2.x. MigrationInfo, whose layout changes from release to
 * release, is touched only by qemu_savevm_get_device_state_times(), a
 * static inline function compiled inside QEMU against QEMU's own headers.
 *
 * Include order inside QEMU: include "qapi/qapi-types-migration.h" (or any
 * header that pulls it in) before this header. Its include guard,
 * QAPI_TYPES_MIGRATION_H, then suppresses the fallback definitions below and
 * enables qemu_savevm_get_device_state_times(). A host that is not QEMU but
 * has its own MigrationInfo with a `device_state_times` member may define
 * DEVSTATE_WANT_MIGRATION_INFO_HOOK before including this header to get
 * the inline hook too.
 */
#ifndef DEVSTATE_QEMU_HOOKS_H
#define DEVSTATE_QEMU_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devstate.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef QAPI_TYPES_MIGRATION_H
/*
 * Mirrors what QEMU's QAPI generator emits in qapi-types-migration.h for
 *   { 'struct': 'DeviceSaveStateTime',
 *     'data': { 'name': 'str', 'instance-id': 'uint32', 'save-time': 'uint64' } }
 * and its list type. Keep field order and types identical to the generator's.
 */
typedef struct DeviceSaveStateTime DeviceSaveStateTime;
typedef struct DeviceSaveStateTimeList DeviceSaveStateTimeList;

struct DeviceSaveStateTime {
    char *name;
    uint32_t instance_id;
    uint64_t save_time;
};

struct DeviceSaveStateTimeList {
    DeviceSaveStateTimeList *next;
    DeviceSaveStateTime *value;
};
#endif

/*
 * Every DeviceSaveStateTime the library allocates is followed in the same
 * block by the two members the QAPI generator adds for our opt-in schema
 * member '*handler': 'bool' (devstate_qapi_entry_ext below). A QEMU built
 * with the reference schema never reads them; one built with our series
 * reads has_handler/handler. Both free the block with g_free().
 * As released in 0.1.0, and kept so (README's ABI policy): `base` is the
 * DeviceSaveStateTime in scope, so after QEMU's generated header (which has
 * has_handler/handler already) this struct is larger than the library's
 * block. Code built against QEMU's headers must not use it; the
 * explicit-field devstate_qapi_time below has the block's layout whatever
 * the include order (Tests/c/test_layout.c asserts both layouts equal).
 */
typedef struct devstate_qapi_entry_ext {
    DeviceSaveStateTime base;
    bool has_handler;
    bool handler;
} devstate_qapi_entry_ext;

/*
 * Starts a run on the default recorder: call at the start of
 * qemu_savevm_state_complete_precopy_non_iterable(), before its loop.
 * Drops the previous run's entries. Returns as devstate_run_begin().
 */
DEVSTATE_API int32_t devstate_qemu_run_begin(void);

/*
 * Records one SaveStateEntry on the default recorder. start_us and end_us
 * are the QEMU_CLOCK_REALTIME microsecond readings taken around the entry's
 * save (the same ones trace_vmstate_downtime_save reports as end - start).
 * An elapsed time <= 0 is not kept (counted as skipped_zero), as the
 * reference keeps only entries with a positive time. Whether an entry is
 * recorded at all is QEMU's decision: the reference records entries that
 * have a vmsd (flags DEVSTATE_ENTRY_VMSD); an opted-in QEMU also records
 * handler-saved entries with DEVSTATE_ENTRY_HANDLER.
 * Returns as devstate_record(); DEVSTATE_ENTRY_CHECKPOINT is refused with
 * DEVSTATE_ERR_FLAGS (a span is a duration, since 0.2.0).
 */
DEVSTATE_API int32_t devstate_qemu_record(const char *idstr, uint32_t instance_id,
                                          int64_t start_us, int64_t end_us, uint32_t flags);

/* Ends the default recorder's run: call when the loop finished. Returns as devstate_run_end(). */
DEVSTATE_API int32_t devstate_qemu_run_end(void);

/*
 * Deep-copies the snapshot's entries into a new QAPI list in *out, in record
 * order; nodes, values and names are malloc'd one by one, so QEMU frees the
 * list with qapi_free_DeviceSaveStateTimeList() (g_free is free) and other
 * hosts with devstate_qapi_list_free(). An empty snapshot gives *out = NULL
 * and DEVSTATE_OK. Names are copied byte for byte. Steps (DEVSTATE_ENTRY_STEP,
 * since 0.3.0) are no device times and are left out.
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE, DEVSTATE_ERR_NOMEM
 * (nothing is allocated then).
 */
DEVSTATE_API int32_t devstate_snapshot_qapi_list(const devstate_snapshot *snapshot,
                                                 DeviceSaveStateTimeList **out);

/*
 * The default recorder's latest run, once it has ended, as a new QAPI list
 * (see devstate_snapshot_qapi_list). Errors: DEVSTATE_ERR_NULL,
 * DEVSTATE_ERR_EMPTY (no run yet), DEVSTATE_ERR_NO_RUN (the latest run has
 * not ended, e.g. a save that failed half way), DEVSTATE_ERR_NOMEM.
 */
DEVSTATE_API int32_t devstate_qemu_device_state_times(DeviceSaveStateTimeList **out);

/*
 * Frees a list from this library (or any list whose nodes, values and names
 * were malloc'd). NULL is accepted and does nothing (returns DEVSTATE_OK), as
 * an empty QAPI list is NULL. Ownership of such a list is the caller's: a
 * second free of the same list is undefined, as for free().
 */
DEVSTATE_API int32_t devstate_qapi_list_free(DeviceSaveStateTimeList *list);

/* --- the whole downtime (since 0.2.0) ----------------------------------- */

/*
 * The lists a patched QEMU keeps, one default recorder each. A run of each
 * is opened with devstate_qemu_begin() and closed with devstate_qemu_end();
 * a list is handed out only once its run has ended, so a failed or
 * cancelled migration, which never ends its run, shows nothing.
 *
 * NON_ITERABLE_SAVES is devstate_default_recorder(), which the 0.1.0 hooks
 * above feed ("device-state-times").
 * ITERABLE_SAVES: the iterable sections' saves at switchover (ram, ...):
 *   one run per qemu_savevm_state_complete_precopy_iterable().
 * INCOMING: the destination's device loads (iterable ones with
 *   DEVSTATE_ENTRY_ITERABLE) and its "dst-*" checkpoints, in the order they
 *   happened: one run per incoming migration, from the start of its load
 *   until its status becomes completed.
 * OUTGOING_CHECKPOINTS: the source's "src-*" checkpoints, one run from
 *   src-downtime-start to src-downtime-end.
 */
#define DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES 0u
#define DEVSTATE_QEMU_LIST_ITERABLE_SAVES 1u
#define DEVSTATE_QEMU_LIST_INCOMING 2u
#define DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS 3u

/*
 * One device time of a list, in the layout the QAPI generator gives
 *   { 'name': 'str', 'instance-id': 'uint32', 'X-time': 'uint64', '*F': 'bool' }
 * (our series' DeviceSaveStateTime with F = handler, DeviceLoadStateTime
 * with F = iterable). has_flag and flag are both true for an entry recorded
 * with DEVSTATE_ENTRY_HANDLER in a save list, or with DEVSTATE_ENTRY_ITERABLE
 * in the INCOMING list; else both false.
 * Written field by field, so its layout depends on no QEMU header; the
 * inline hooks below check it against QEMU's types at compile time.
 */
typedef struct devstate_qapi_time {
    char *name;
    uint32_t instance_id;
    uint64_t time_us;
    bool has_flag;
    bool flag;
} devstate_qapi_time;

typedef struct devstate_qapi_time_list {
    struct devstate_qapi_time_list *next;
    devstate_qapi_time *value;
} devstate_qapi_time_list;

/* A checkpoint, as the QAPI struct { 'name': 'str', 'time': 'uint64' }. */
typedef struct devstate_qapi_checkpoint {
    char *name;
    uint64_t time_us; /* since the run's origin, see devstate_checkpoint() */
} devstate_qapi_checkpoint;

typedef struct devstate_qapi_checkpoint_list {
    struct devstate_qapi_checkpoint_list *next;
    devstate_qapi_checkpoint *value;
} devstate_qapi_checkpoint_list;

/*
 * The default recorder of `list` (owned by the library, never freed), or
 * NULL for an unknown selector. Hosts other than QEMU can query it with
 * devstate_snapshot_take().
 */
DEVSTATE_API devstate_recorder *devstate_qemu_recorder(uint32_t list);

/*
 * Opens a new run of `list`, dropping its previous one. Returns as
 * devstate_run_begin(), or DEVSTATE_ERR_NO_LIST.
 */
DEVSTATE_API int32_t devstate_qemu_begin(uint32_t list);

/*
 * Records the span [start_us, end_us] of one section in `list`, as
 * devstate_qemu_record() does for NON_ITERABLE_SAVES (end - start <= 0 is
 * counted as skipped_zero). Each span's start counts towards the run's origin
 * for checkpoints (devstate_checkpoint()). flags: one DEVSTATE_ENTRY_* value
 * but CHECKPOINT.
 * Errors: as devstate_qemu_record(), and DEVSTATE_ERR_NO_LIST.
 */
DEVSTATE_API int32_t devstate_qemu_record_in(uint32_t list, const char *idstr,
                                             uint32_t instance_id, int64_t start_us,
                                             int64_t end_us, uint32_t flags);

/*
 * Records the checkpoint `name` at `now_us` (QEMU_CLOCK_REALTIME us) in the
 * open run of `list`: call it beside trace_vmstate_downtime_checkpoint(),
 * with the same name. Returns as devstate_checkpoint(), or
 * DEVSTATE_ERR_NO_LIST.
 */
DEVSTATE_API int32_t devstate_qemu_checkpoint(uint32_t list, const char *name, int64_t now_us);

/* Closes the run of `list`. Returns as devstate_run_end(), or DEVSTATE_ERR_NO_LIST. */
DEVSTATE_API int32_t devstate_qemu_end(uint32_t list);

/*
 * The device times (every entry but checkpoints and steps) of the last ended run of
 * `list`, as a new list in record order, malloc'd node by node as
 * devstate_snapshot_qapi_list() does; free it with
 * devstate_qapi_time_list_free() (QEMU: its qapi_free_*List()). A run with
 * no such entry gives *out = NULL and DEVSTATE_OK.
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_NO_LIST, DEVSTATE_ERR_EMPTY (no
 * run yet), DEVSTATE_ERR_NO_RUN (the latest run has not ended),
 * DEVSTATE_ERR_NOMEM (nothing is allocated then).
 */
DEVSTATE_API int32_t devstate_qemu_times(uint32_t list, devstate_qapi_time_list **out);

/*
 * The checkpoints of the last ended run of `list`, in record order, each
 * with its microseconds since the run's origin (devstate_checkpoint()).
 * Free with devstate_qapi_checkpoint_list_free(). Errors as devstate_qemu_times().
 */
DEVSTATE_API int32_t devstate_qemu_checkpoints(uint32_t list,
                                               devstate_qapi_checkpoint_list **out);

/*
 * Since 0.3.0: downtime windows. A list records only inside its side's
 * downtime; the host says where that is:
 *  - devstate_qemu_arm(list) drops the list's run and opens the next one at
 *    its first record or checkpoint (devstate_run_arm). QEMU arms the
 *    INCOMING list when an incoming migration starts, so that the run, and
 *    the origin of its checkpoint times, begins with the switchover's first
 *    device load, not with the loads the source sends at setup.
 *  - devstate_qemu_discard(list) drops the list's run and opens none
 *    (devstate_run_discard): what arrives afterwards is refused with
 *    DEVSTATE_ERR_NO_RUN and nothing is reported. QEMU discards the INCOMING
 *    list when the process becomes a source, or COLO takes the incoming
 *    migration over, so that a reply never mixes sides or shows work that
 *    was not the migration's downtime.
 * Both return as devstate_run_arm() / devstate_run_discard(), or
 * DEVSTATE_ERR_NO_LIST, DEVSTATE_ERR_NOMEM (the list's recorder could not
 * be made).
 */
DEVSTATE_API int32_t devstate_qemu_arm(uint32_t list);
DEVSTATE_API int32_t devstate_qemu_discard(uint32_t list);

/*
 * Since 0.3.0. The number of records refused while the last ended run of
 * `list` was open (devstate_snapshot_refused): entries the list should hold
 * and does not, because it was full (DEVSTATE_MAX_ENTRIES), memory ran out,
 * or a name was refused. Errors as devstate_qemu_times().
 */
DEVSTATE_API int32_t devstate_qemu_refused(uint32_t list, uint64_t *out);

/*
 * Since 0.3.0: the steps of a side's downtime that are not device states
 * (devstate_step()), kept in the side's checkpoint list: OUTGOING_CHECKPOINTS
 * on the source, INCOMING on the destination, inside the same run as the
 * checkpoints, so a step is kept only inside that side's downtime window.
 *
 * devstate_qemu_step() records one into `list` as devstate_step() does.
 * Returns as devstate_step(), or DEVSTATE_ERR_NO_LIST.
 */
DEVSTATE_API int32_t devstate_qemu_step(uint32_t list, const char *name, const char *device,
                                        const char *device_type, uint32_t kind,
                                        int64_t start_us, int64_t end_us);

/*
 * A step, as the QAPI struct
 *   { 'name': 'str', '*device': 'str', '*device-type': 'str',
 *     'kind': 'DowntimeStepKind', 'start': 'uint64', 'time': 'uint64' }
 * with the enum DowntimeStepKind [ 'work', 'prepare', 'main' ], whose values
 * are the DEVSTATE_STEP_* ones. device and device_type are NULL when absent
 * (QEMU's optional strings have no has_ flag).
 */
typedef struct devstate_qapi_step {
    char *name;
    char *device;
    char *device_type;
    uint32_t kind;     /* DEVSTATE_STEP_*, as the generated enum */
    uint64_t start_us; /* since the run's origin, as a checkpoint's time */
    uint64_t time_us;
} devstate_qapi_step;

typedef struct devstate_qapi_step_list {
    struct devstate_qapi_step_list *next;
    devstate_qapi_step *value;
} devstate_qapi_step_list;

/*
 * The steps of the last ended run of `list`, in record order, malloc'd node
 * by node and string by string; free with devstate_qapi_step_list_free()
 * (QEMU: qapi_free_DowntimeStepList()). Errors as devstate_qemu_times().
 */
DEVSTATE_API int32_t devstate_qemu_steps(uint32_t list, devstate_qapi_step_list **out);

/* Frees a list as devstate_qapi_list_free() does; NULL is accepted. Returns DEVSTATE_OK. */
DEVSTATE_API int32_t devstate_qapi_step_list_free(devstate_qapi_step_list *list);

/* Frees a list as devstate_qapi_list_free() does; NULL is accepted. Returns DEVSTATE_OK. */
DEVSTATE_API int32_t devstate_qapi_time_list_free(devstate_qapi_time_list *list);
DEVSTATE_API int32_t devstate_qapi_checkpoint_list_free(devstate_qapi_checkpoint_list *list);

#if defined(QAPI_TYPES_MIGRATION_H) || defined(DEVSTATE_WANT_MIGRATION_INFO_HOOK)
/*
 * The reference patch's hook, with its signature: called by
 * fill_source_migration_info() when the migration has completed. Fills
 * info->device_state_times with a deep copy of the last ended run, which
 * QEMU frees with the rest of MigrationInfo, and sets
 * info->has_device_state_times (an optional list member keeps its has_ flag
 * in QEMU 10.0; only other pointer members lost theirs in 8.0). No run, or a
 * run that kept nothing, leaves both untouched, so "device-state-times" is
 * left out of the reply. A list already present is left alone.
 */
static inline void qemu_savevm_get_device_state_times(MigrationInfo *info)
{
    DeviceSaveStateTimeList *list = 0;

    if (!info || info->device_state_times) {
        return;
    }
    if (devstate_qemu_device_state_times(&list) == DEVSTATE_OK && list) {
        info->device_state_times = list;
        info->has_device_state_times = true;
    }
}
#endif

#if defined(DEVSTATE_WANT_WHOLE_DOWNTIME_HOOKS) && defined(QAPI_TYPES_MIGRATION_H)
/*
 * Since 0.2.0, for a QEMU whose schema has our series' members
 * MigrationInfo.iterable-state-times ([DeviceSaveStateTime]),
 * device-load-times ([DeviceLoadStateTime]) and downtime-checkpoints
 * ([DowntimeCheckpoint]): define DEVSTATE_WANT_WHOLE_DOWNTIME_HOOKS before
 * including this header. The library's list types are cast to QEMU's,
 * so their layouts are checked here, against the generated headers.
 */
#ifdef __cplusplus
#define DEVSTATE_LAYOUT_ASSERT(cond, what) static_assert(cond, what)
#else
#define DEVSTATE_LAYOUT_ASSERT(cond, what) _Static_assert(cond, what)
#endif
#define DEVSTATE_SAME_FIELD(ours, theirs, a, b) \
    DEVSTATE_LAYOUT_ASSERT(offsetof(ours, a) == offsetof(theirs, b) && \
                           sizeof(((ours *)0)->a) == sizeof(((theirs *)0)->b), \
                           #ours "." #a " does not match " #theirs "." #b)
DEVSTATE_LAYOUT_ASSERT(sizeof(devstate_qapi_time) == sizeof(DeviceLoadStateTime),
                       "DeviceLoadStateTime size");
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceLoadStateTime, name, name);
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceLoadStateTime, instance_id, instance_id);
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceLoadStateTime, time_us, load_time);
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceLoadStateTime, has_flag, has_iterable);
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceLoadStateTime, flag, iterable);
DEVSTATE_LAYOUT_ASSERT(sizeof(devstate_qapi_time) == sizeof(DeviceSaveStateTime),
                       "DeviceSaveStateTime size");
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceSaveStateTime, name, name);
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceSaveStateTime, instance_id, instance_id);
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceSaveStateTime, time_us, save_time);
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceSaveStateTime, has_flag, has_handler);
DEVSTATE_SAME_FIELD(devstate_qapi_time, DeviceSaveStateTime, flag, handler);
DEVSTATE_LAYOUT_ASSERT(sizeof(devstate_qapi_checkpoint) == sizeof(DowntimeCheckpoint),
                       "DowntimeCheckpoint size");
DEVSTATE_SAME_FIELD(devstate_qapi_checkpoint, DowntimeCheckpoint, name, name);
DEVSTATE_SAME_FIELD(devstate_qapi_checkpoint, DowntimeCheckpoint, time_us, time);
DEVSTATE_SAME_FIELD(devstate_qapi_time_list, DeviceLoadStateTimeList, next, next);
DEVSTATE_SAME_FIELD(devstate_qapi_time_list, DeviceLoadStateTimeList, value, value);
DEVSTATE_SAME_FIELD(devstate_qapi_time_list, DeviceSaveStateTimeList, next, next);
DEVSTATE_SAME_FIELD(devstate_qapi_time_list, DeviceSaveStateTimeList, value, value);
DEVSTATE_SAME_FIELD(devstate_qapi_checkpoint_list, DowntimeCheckpointList, next, next);
DEVSTATE_SAME_FIELD(devstate_qapi_checkpoint_list, DowntimeCheckpointList, value, value);
#undef DEVSTATE_SAME_FIELD
#undef DEVSTATE_LAYOUT_ASSERT

/*
 * For fill_source_migration_info() of a completed migration: the
 * switchover's iterable saves and the source's checkpoints. The source's
 * checkpoints replace a destination's ones that fill_destination_migration_info()
 * put there (a process that was a destination and later a source reports
 * as the source). A list is set only when the run ended and kept something.
 */
static inline void qemu_savevm_get_whole_downtime(MigrationInfo *info)
{
    devstate_qapi_time_list *times = 0;
    devstate_qapi_checkpoint_list *marks = 0;

    if (!info) {
        return;
    }
    if (!info->iterable_state_times &&
        devstate_qemu_times(DEVSTATE_QEMU_LIST_ITERABLE_SAVES, &times) == DEVSTATE_OK &&
        times) {
        info->iterable_state_times = (DeviceSaveStateTimeList *)times;
        info->has_iterable_state_times = true;
    }
    if (devstate_qemu_checkpoints(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, &marks) ==
            DEVSTATE_OK && marks) {
        devstate_qapi_checkpoint_list_free(
            (devstate_qapi_checkpoint_list *)info->downtime_checkpoints);
        info->downtime_checkpoints = (DowntimeCheckpointList *)marks;
        info->has_downtime_checkpoints = true;
    }
}

/*
 * For fill_destination_migration_info() of a completed incoming migration:
 * the device loads and the destination's checkpoints.
 */
static inline void qemu_loadvm_get_whole_downtime(MigrationInfo *info)
{
    devstate_qapi_time_list *times = 0;
    devstate_qapi_checkpoint_list *marks = 0;

    if (!info) {
        return;
    }
    if (!info->device_load_times &&
        devstate_qemu_times(DEVSTATE_QEMU_LIST_INCOMING, &times) == DEVSTATE_OK && times) {
        info->device_load_times = (DeviceLoadStateTimeList *)times;
        info->has_device_load_times = true;
    }
    if (!info->downtime_checkpoints &&
        devstate_qemu_checkpoints(DEVSTATE_QEMU_LIST_INCOMING, &marks) == DEVSTATE_OK && marks) {
        info->downtime_checkpoints = (DowntimeCheckpointList *)marks;
        info->has_downtime_checkpoints = true;
    }
}
#endif

#if defined(DEVSTATE_WANT_DROPPED_HOOKS) && defined(QAPI_TYPES_MIGRATION_H)
/*
 * Since 0.3.0, for a QEMU whose schema has our series' member
 * MigrationInfo.downtime-entries-dropped ('uint64'): define
 * DEVSTATE_WANT_DROPPED_HOOKS before including this header. The member
 * counts the entries a side's lists should hold and do not
 * (devstate_qemu_refused), over the lists whose last run ended; it is set
 * when at least one of them has, 0 included, and left out otherwise.
 */
static inline void qemu_migration_sum_refused(const uint32_t *lists, size_t count,
                                             MigrationInfo *info)
{
    uint64_t sum = 0;
    uint64_t refused;
    bool ended = false;
    size_t i;

    for (i = 0; i < count; i++) {
        if (devstate_qemu_refused(lists[i], &refused) == DEVSTATE_OK) {
            sum += refused;
            ended = true;
        }
    }
    if (ended) {
        info->downtime_entries_dropped = sum;
        info->has_downtime_entries_dropped = true;
    }
}

/*
 * For fill_source_migration_info() of a completed migration: the
 * source's lists (device-state-times, iterable-state-times, its
 * checkpoints). Replaces the destination's count, as the checkpoints do.
 */
static inline void qemu_savevm_get_downtime_dropped(MigrationInfo *info)
{
    static const uint32_t lists[] = {
        DEVSTATE_QEMU_LIST_NON_ITERABLE_SAVES,
        DEVSTATE_QEMU_LIST_ITERABLE_SAVES,
        DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS,
    };

    if (info) {
        qemu_migration_sum_refused(lists, sizeof(lists) / sizeof(lists[0]), info);
    }
}

/* For fill_destination_migration_info(): the incoming list. */
static inline void qemu_loadvm_get_downtime_dropped(MigrationInfo *info)
{
    static const uint32_t lists[] = { DEVSTATE_QEMU_LIST_INCOMING };

    if (info) {
        qemu_migration_sum_refused(lists, 1, info);
    }
}
#endif

#if defined(DEVSTATE_WANT_STEP_HOOKS) && defined(QAPI_TYPES_MIGRATION_H)
/*
 * Since 0.3.0, for a QEMU whose schema has our series' member
 * MigrationInfo.downtime-steps ([DowntimeStep]): define
 * DEVSTATE_WANT_STEP_HOOKS before including this header. The source's steps
 * replace a destination's ones, as the checkpoints do. The library's step
 * list is cast to QEMU's, so its layout is checked here.
 */
#ifdef __cplusplus
#define DEVSTATE_STEP_ASSERT(cond, what) static_assert(cond, what)
#else
#define DEVSTATE_STEP_ASSERT(cond, what) _Static_assert(cond, what)
#endif
#define DEVSTATE_STEP_FIELD(ours, theirs, a, b) \
    DEVSTATE_STEP_ASSERT(offsetof(ours, a) == offsetof(theirs, b) && \
                         sizeof(((ours *)0)->a) == sizeof(((theirs *)0)->b), \
                         #ours "." #a " does not match " #theirs "." #b)
DEVSTATE_STEP_ASSERT(sizeof(devstate_qapi_step) == sizeof(DowntimeStep), "DowntimeStep size");
DEVSTATE_STEP_FIELD(devstate_qapi_step, DowntimeStep, name, name);
DEVSTATE_STEP_FIELD(devstate_qapi_step, DowntimeStep, device, device);
DEVSTATE_STEP_FIELD(devstate_qapi_step, DowntimeStep, device_type, device_type);
DEVSTATE_STEP_FIELD(devstate_qapi_step, DowntimeStep, kind, kind);
DEVSTATE_STEP_FIELD(devstate_qapi_step, DowntimeStep, start_us, start);
DEVSTATE_STEP_FIELD(devstate_qapi_step, DowntimeStep, time_us, time);
DEVSTATE_STEP_FIELD(devstate_qapi_step_list, DowntimeStepList, next, next);
DEVSTATE_STEP_FIELD(devstate_qapi_step_list, DowntimeStepList, value, value);
DEVSTATE_STEP_ASSERT(DOWNTIME_STEP_KIND_WORK == DEVSTATE_STEP_WORK &&
                     DOWNTIME_STEP_KIND_PREPARE == DEVSTATE_STEP_PREPARE &&
                     DOWNTIME_STEP_KIND_MAIN == DEVSTATE_STEP_MAIN,
                     "DowntimeStepKind values");
#undef DEVSTATE_STEP_FIELD
#undef DEVSTATE_STEP_ASSERT

static inline void qemu_savevm_get_downtime_steps(MigrationInfo *info)
{
    devstate_qapi_step_list *steps = 0;

    if (info && devstate_qemu_steps(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, &steps) ==
            DEVSTATE_OK && steps) {
        devstate_qapi_step_list_free((devstate_qapi_step_list *)info->downtime_steps);
        info->downtime_steps = (DowntimeStepList *)steps;
        info->has_downtime_steps = true;
    }
}

static inline void qemu_loadvm_get_downtime_steps(MigrationInfo *info)
{
    devstate_qapi_step_list *steps = 0;

    if (info && !info->downtime_steps &&
        devstate_qemu_steps(DEVSTATE_QEMU_LIST_INCOMING, &steps) == DEVSTATE_OK && steps) {
        info->downtime_steps = (DowntimeStepList *)steps;
        info->has_downtime_steps = true;
    }
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* DEVSTATE_QEMU_HOOKS_H */
