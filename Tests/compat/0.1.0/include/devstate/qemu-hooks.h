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
 * Returns as devstate_record().
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
 * and DEVSTATE_OK. Names are copied byte for byte.
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

#ifdef __cplusplus
}
#endif

#endif /* DEVSTATE_QEMU_HOOKS_H */
