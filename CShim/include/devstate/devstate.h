/* SPDX-License-Identifier: MIT */
/*
 * devstate.h - stable C ABI of DeviceStateTimes.
 *
 * DeviceStateTimes records how long each device took to save its state
 * during the stop-and-copy phase of a QEMU live migration, and hands the
 * result out as a deep copy (a snapshot) or as the JSON value that
 * query-migrate returns under "device-state-times".
 *
 * Conventions of this header (the contract):
 *  - Every function returns an int32_t status: DEVSTATE_OK (0), a positive
 *    informational status, or a negative DEVSTATE_ERR_* code. Use
 *    devstate_strerror() for a message. Only functions documented as
 *    returning something else (version queries, devstate_default_recorder)
 *    do otherwise.
 *  - A failing call changes nothing: what a recorder holds stays intact.
 *    The one exception is bookkeeping: a record refused while a run is open
 *    is counted by that run (devstate_snapshot_refused()), so that a list
 *    never loses an entry silently.
 *  - The library never stops its host: running out of memory is
 *    DEVSTATE_ERR_NOMEM from whichever call needed it, never an abort.
 *  - Handles are opaque. A freed handle is detected and refused with
 *    DEVSTATE_ERR_INVALID_HANDLE (so a double free is harmless) until the
 *    library issues the same handle value again for a new object, much like
 *    a file descriptor. A pointer the library never issued is undefined
 *    behaviour.
 *  - All functions are thread-safe. Recording and querying the same
 *    recorder from different threads is supported; a query copies under a
 *    short internal lock and never waits for a run to finish.
 *  - Only fixed-width integers cross this ABI.
 */
#ifndef DEVSTATE_DEVSTATE_H
#define DEVSTATE_DEVSTATE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library version this header belongs to. */
#define DEVSTATE_VERSION_MAJOR 0
#define DEVSTATE_VERSION_MINOR 3
#define DEVSTATE_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, as devstate_version_number() returns. */
#define DEVSTATE_VERSION_NUMBER \
    (DEVSTATE_VERSION_MAJOR * 10000 + DEVSTATE_VERSION_MINOR * 100 + DEVSTATE_VERSION_PATCH)
/* "MAJOR.MINOR.PATCH", built from the three numbers above: the version is written once. */
#define DEVSTATE_QUOTE_(x) #x
#define DEVSTATE_QUOTE(x) DEVSTATE_QUOTE_(x)
#define DEVSTATE_VERSION_STRING                                  \
    DEVSTATE_QUOTE(DEVSTATE_VERSION_MAJOR) "." DEVSTATE_QUOTE(DEVSTATE_VERSION_MINOR) "." \
    DEVSTATE_QUOTE(DEVSTATE_VERSION_PATCH)
/*
 * ABI version: changes only on an incompatible change of this header's
 * functions or structs, and is the number after ".so." in the soname.
 */
#define DEVSTATE_ABI_VERSION 0

#if defined(_WIN32)
#define DEVSTATE_API
#elif defined(__GNUC__) || defined(__clang__)
#define DEVSTATE_API __attribute__((visibility("default")))
#else
#define DEVSTATE_API
#endif

/* Status codes. */
#define DEVSTATE_OK 0
/* Positive: record() did not keep the entry because its time was 0 us. */
#define DEVSTATE_SKIPPED_ZERO 1
#define DEVSTATE_ERR_NULL (-1)           /* a required pointer was NULL */
#define DEVSTATE_ERR_NAME_EMPTY (-2)     /* device name is "" */
#define DEVSTATE_ERR_NAME_TOO_LONG (-3)  /* name longer than DEVSTATE_NAME_MAX bytes */
#define DEVSTATE_ERR_NO_RUN (-4)         /* record/end while no run is open */
#define DEVSTATE_ERR_EMPTY (-5)          /* query before any run began */
#define DEVSTATE_ERR_INVALID_HANDLE (-6) /* handle already freed */
#define DEVSTATE_ERR_NOMEM (-7)          /* allocation failed */
#define DEVSTATE_ERR_RANGE (-8)          /* index past the end of a snapshot */
#define DEVSTATE_ERR_FULL (-9)           /* run holds DEVSTATE_MAX_ENTRIES; entry dropped */
#define DEVSTATE_ERR_NOT_OWNED (-10)     /* the default recorder cannot be freed */
#define DEVSTATE_ERR_FLAGS (-11)         /* unknown bits in a flags argument */
#define DEVSTATE_ERR_JSON (-12)          /* json-c failed to build the document */
#define DEVSTATE_ERR_NAME_NUL (-13)      /* name holds a NUL byte (Swift API only) */
/* Since 0.2.0. */
#define DEVSTATE_ERR_NO_LIST (-14)       /* unknown DEVSTATE_QEMU_LIST_* selector */

/* Longest device name accepted, in bytes, without the NUL (QEMU's idstr is 256 bytes). */
#define DEVSTATE_NAME_MAX 255
/*
 * Most entries one run keeps. Further records return DEVSTATE_ERR_FULL and
 * are counted in the snapshot's `dropped`; what was kept stays.
 */
#define DEVSTATE_MAX_ENTRIES 1000000

/* Entry flags for devstate_record(). */
/* The entry's state was saved through a vmsd (the reference patch records only these). */
#define DEVSTATE_ENTRY_VMSD 0u
/*
 * The entry has no vmsd and saved its state through a save_state handler
 * (10.0: slirp, VFIO devices). Recorded only when the host opts in.
 */
#define DEVSTATE_ENTRY_HANDLER 1u
/*
 * Since 0.2.0. The entry is an iterable section (10.0: ram, dirty-bitmap,
 * block): its switchover save or one of its loads. The JSON marks it with
 * "iterable": true.
 */
#define DEVSTATE_ENTRY_ITERABLE 2u
/*
 * Since 0.2.0. The entry is a named point in time (a downtime checkpoint),
 * recorded with devstate_checkpoint(): its time is a clock reading in
 * microseconds, not a duration, so a reading of 0 is kept. Its instance id
 * is 0. Only one DEVSTATE_ENTRY_* value may be given per record.
 */
#define DEVSTATE_ENTRY_CHECKPOINT 4u
/*
 * Since 0.3.0. The entry is a step of the downtime that is not a device's
 * state: a run-state change handler's call or a named piece of work around
 * the device saves and loads (vCPU pause, block drain, the flush of one block
 * node, ...). Recorded only with devstate_step(), which gives it what else it
 * has: a device, the device's type, a DEVSTATE_STEP_* kind and a start
 * reading. devstate_record() refuses this flag with DEVSTATE_ERR_FLAGS.
 */
#define DEVSTATE_ENTRY_STEP 8u

/* Kinds of a step (devstate_step()), since 0.3.0. */
#define DEVSTATE_STEP_WORK 0u     /* a named piece of work of the migration or block layer */
#define DEVSTATE_STEP_PREPARE 1u  /* a run-state change handler's prepare callback */
#define DEVSTATE_STEP_MAIN 2u     /* a run-state change handler's main callback */

/* Flags for devstate_snapshot_json(). */
#define DEVSTATE_JSON_COMPACT 0u
#define DEVSTATE_JSON_PRETTY 1u

typedef struct devstate_recorder devstate_recorder; /* opaque */
typedef struct devstate_snapshot devstate_snapshot; /* opaque */

/* One kept entry, as devstate_snapshot_entry() fills it. */
typedef struct devstate_entry {
    const char *name;      /* the recorded bytes + NUL; owned by the snapshot */
    uint32_t name_len;     /* bytes before the NUL, 1..DEVSTATE_NAME_MAX */
    uint32_t instance_id;
    uint64_t save_time_us; /* > 0; for DEVSTATE_ENTRY_CHECKPOINT the reading, as uint64_t */
    uint32_t flags;        /* DEVSTATE_ENTRY_* */
    uint32_t reserved;     /* 0 */
} devstate_entry;

/* Totals of a snapshot, as devstate_snapshot_get_info() fills them. */
typedef struct devstate_snapshot_info {
    uint64_t count;        /* entries kept, in record order */
    uint64_t skipped_zero; /* records not kept because their time was 0 us */
    uint64_t dropped;      /* records refused with DEVSTATE_ERR_FULL */
    uint64_t run;          /* 1 for the recorder's first run, +1 per begin */
    uint32_t complete;     /* 1 if the run had ended when the copy was taken */
    uint32_t reserved;     /* 0 */
} devstate_snapshot_info;

/*
 * Since 0.3.0. A kept step, as devstate_snapshot_step() fills it. The strings
 * are the recorded bytes + NUL, owned by the snapshot; device and device_type
 * are "" (length 0) when the step has none.
 */
typedef struct devstate_step_info {
    const char *name;
    const char *device;
    const char *device_type;
    uint32_t name_len;
    uint32_t device_len;
    uint32_t device_type_len;
    uint32_t kind;        /* DEVSTATE_STEP_* */
    int64_t start_us;     /* the clock reading the step started at */
    uint64_t time_us;     /* its duration; 0 is kept */
} devstate_step_info;

/* --- version ------------------------------------------------------------ */

/* Runtime version as DEVSTATE_VERSION_NUMBER; compare with the macro to detect a mismatch. */
DEVSTATE_API uint32_t devstate_version_number(void);
/* Runtime version as "MAJOR.MINOR.PATCH"; static storage, never NULL. */
DEVSTATE_API const char *devstate_version_string(void);
/* Runtime ABI version, as DEVSTATE_ABI_VERSION. */
DEVSTATE_API uint32_t devstate_abi_version(void);
/* Message for a status code; static storage, never NULL (unknown codes included). */
DEVSTATE_API const char *devstate_strerror(int32_t code);

/* --- recorders ---------------------------------------------------------- */

/*
 * Creates an empty recorder in *out. No run is open until devstate_run_begin().
 * Errors: DEVSTATE_ERR_NULL (out is NULL), DEVSTATE_ERR_NOMEM.
 */
DEVSTATE_API int32_t devstate_recorder_new(devstate_recorder **out);

/*
 * Frees a recorder and what it holds. Snapshots taken from it stay valid.
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE (already freed),
 * DEVSTATE_ERR_NOT_OWNED (the default recorder).
 */
DEVSTATE_API int32_t devstate_recorder_free(devstate_recorder *recorder);

/*
 * The process-wide recorder that the QEMU hooks (devstate/qemu-hooks.h) use.
 * Created on first use, never freed; never NULL unless memory is exhausted.
 */
DEVSTATE_API devstate_recorder *devstate_default_recorder(void);

/* --- runs --------------------------------------------------------------- */

/*
 * Opens a new run: every entry and count of the previous run is dropped
 * (snapshots already taken keep theirs). Beginning while a run is open
 * abandons that run and starts afresh, as QEMU does when a save is retried.
 * Storage is kept, so a run no larger than an earlier one allocates nothing.
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE.
 */
DEVSTATE_API int32_t devstate_run_begin(devstate_recorder *recorder);

/*
 * Records that device `name` (instance `instance_id`) took `save_time_us`
 * microseconds to save. `name` is kept byte for byte (any bytes but NUL;
 * not required to be UTF-8). `flags` is one DEVSTATE_ENTRY_* value
 * (0.1.0: VMSD or HANDLER; since 0.2.0 also ITERABLE or CHECKPOINT).
 * Returns DEVSTATE_OK when kept, DEVSTATE_SKIPPED_ZERO when save_time_us is 0
 * (counted, not kept, as the reference patch does).
 * Errors (nothing recorded, nothing else changed): DEVSTATE_ERR_NULL,
 * DEVSTATE_ERR_NAME_EMPTY, DEVSTATE_ERR_NAME_TOO_LONG, DEVSTATE_ERR_FLAGS,
 * DEVSTATE_ERR_NO_RUN, DEVSTATE_ERR_INVALID_HANDLE, DEVSTATE_ERR_NOMEM,
 * DEVSTATE_ERR_FULL (counted as dropped). Since 0.3.0 an armed recorder
 * (devstate_run_arm) opens its run first, and every refusal but
 * NO_RUN and INVALID_HANDLE is counted by the open run
 * (devstate_snapshot_refused).
 * Makes no heap allocation once the recorder's storage has grown to the run's size.
 */
DEVSTATE_API int32_t devstate_record(devstate_recorder *recorder, const char *name,
                                     uint32_t instance_id, uint64_t save_time_us,
                                     uint32_t flags);

/*
 * Since 0.2.0. Records the checkpoint `name` at `time_us`, a clock reading in
 * microseconds (QEMU: QEMU_CLOCK_REALTIME), as an entry with
 * DEVSTATE_ENTRY_CHECKPOINT and instance id 0, after the entries already in
 * the run. The JSON writes it as {"name": ..., "time": T}, T being the
 * microseconds since the run's origin: the smallest reading the run has
 * seen, over all its checkpoints and the starts of all the spans given to
 * devstate_qemu_record_in() (0 µs spans included, refused calls not). Same
 * name rules as devstate_record(). devstate_record() with
 * DEVSTATE_ENTRY_CHECKPOINT does the same but keeps the instance id given.
 * Errors (nothing recorded): DEVSTATE_ERR_NULL, DEVSTATE_ERR_NAME_EMPTY,
 * DEVSTATE_ERR_NAME_TOO_LONG, DEVSTATE_ERR_NO_RUN, DEVSTATE_ERR_INVALID_HANDLE,
 * DEVSTATE_ERR_NOMEM, DEVSTATE_ERR_FULL (counted as dropped); armed
 * recorders and refusals as for devstate_record().
 * Makes no heap allocation once the recorder's storage has grown to the run's size.
 */
DEVSTATE_API int32_t devstate_checkpoint(devstate_recorder *recorder, const char *name,
                                         int64_t time_us);

/*
 * Since 0.3.0. Records a step of the downtime (DEVSTATE_ENTRY_STEP) that ran
 * from start_us to end_us (clock readings in microseconds, QEMU:
 * QEMU_CLOCK_REALTIME): `name` is the step's or the handler's name, `device`
 * and `device_type` say what it ran for (QEMU: a device's QOM canonical path
 * and type, or a block node's name and driver); either may be NULL or "" for
 * none. `kind` is one DEVSTATE_STEP_* value. Unlike a device's time, a step
 * of 0 us is kept (a handler that ran is a fact worth listing), and an
 * end before the start is kept as 0 us. The start counts towards the run's
 * origin as a span's does (devstate_checkpoint()).
 * A step never opens an armed run: it is refused with DEVSTATE_ERR_NO_RUN,
 * and not counted, until a record or a checkpoint has opened it, so that a
 * window opens only with its first device entry.
 * Name rules as devstate_record() for all three strings (each at most
 * DEVSTATE_NAME_MAX bytes); DEVSTATE_ERR_FLAGS for an unknown kind.
 * Errors as devstate_record(); a refusal is counted by an open run only (an
 * armed run stays armed).
 * Makes no heap allocation once the recorder's storage has grown to the run's size.
 */
DEVSTATE_API int32_t devstate_step(devstate_recorder *recorder, const char *name,
                                   const char *device, const char *device_type, uint32_t kind,
                                   int64_t start_us, int64_t end_us);

/*
 * Closes the open run; its entries stay until the next devstate_run_begin().
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE, DEVSTATE_ERR_NO_RUN
 * (no run is open, an armed one included: nothing changes then).
 */
DEVSTATE_API int32_t devstate_run_end(devstate_recorder *recorder);

/*
 * Since 0.3.0: windows that open with their first entry, and runs dropped
 * without a successor.
 *
 * devstate_run_arm() drops the recorder's run (open or ended) and arms it:
 * the next devstate_record() or devstate_checkpoint() call -- kept, skipped
 * or refused -- opens a new run first, as devstate_run_begin() would, so a
 * run can start at an event that only the recording code sees (QEMU: the
 * first device load of a switchover). Until then a snapshot returns
 * DEVSTATE_ERR_EMPTY and devstate_run_end() DEVSTATE_ERR_NO_RUN.
 *
 * devstate_run_discard() drops the run and opens none: records are refused
 * with DEVSTATE_ERR_NO_RUN (and not counted) and snapshots return
 * DEVSTATE_ERR_EMPTY until the next devstate_run_begin() or
 * devstate_run_arm(). For a run that must never be reported, e.g. one that
 * belongs to a side of a migration the host has left.
 *
 * Both keep the storage, as devstate_run_begin() does.
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE.
 */
DEVSTATE_API int32_t devstate_run_arm(devstate_recorder *recorder);
DEVSTATE_API int32_t devstate_run_discard(devstate_recorder *recorder);

/* --- snapshots ---------------------------------------------------------- */

/*
 * Deep-copies the latest run (open or ended) into a new snapshot in *out,
 * which the caller frees with devstate_snapshot_free(). Later records and
 * resets do not change it.
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE, DEVSTATE_ERR_NOMEM,
 * DEVSTATE_ERR_EMPTY (no run ever began on this recorder; since 0.3.0 also:
 * its run was armed or discarded and no new one has opened).
 */
DEVSTATE_API int32_t devstate_snapshot_take(devstate_recorder *recorder,
                                            devstate_snapshot **out);

/* Frees a snapshot. Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE. */
DEVSTATE_API int32_t devstate_snapshot_free(devstate_snapshot *snapshot);

/* Fills *out with the snapshot's totals. Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE. */
DEVSTATE_API int32_t devstate_snapshot_get_info(const devstate_snapshot *snapshot,
                                                devstate_snapshot_info *out);

/*
 * Since 0.3.0. Fills *out with the number of records refused while the
 * snapshot's run was open, whatever the reason: DEVSTATE_ERR_FULL (also
 * counted in devstate_snapshot_info.dropped), DEVSTATE_ERR_NOMEM, or a name
 * or flags the call was refused for (NULL, empty, too long, unknown flags).
 * Each is an entry the run should hold and does not: 0 means the run is
 * complete. Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE.
 */
DEVSTATE_API int32_t devstate_snapshot_refused(const devstate_snapshot *snapshot, uint64_t *out);

/*
 * Fills *out with entry `index` (0-based, record order). The name pointer
 * lives as long as the snapshot.
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE, DEVSTATE_ERR_RANGE.
 */
DEVSTATE_API int32_t devstate_snapshot_entry(const devstate_snapshot *snapshot, uint64_t index,
                                             devstate_entry *out);

/*
 * Since 0.3.0. Fills *out with entry `index` if it is a step
 * (DEVSTATE_ENTRY_STEP; devstate_snapshot_entry() gives its name, its kind as
 * instance_id and its duration as save_time_us). The strings live as long as
 * the snapshot. Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE,
 * DEVSTATE_ERR_RANGE, DEVSTATE_ERR_FLAGS (the entry is not a step).
 */
DEVSTATE_API int32_t devstate_snapshot_step(const devstate_snapshot *snapshot, uint64_t index,
                                            devstate_step_info *out);

/*
 * Serializes the snapshot with json-c to the value query-migrate returns
 * under "device-state-times": an array of objects with the keys "name",
 * "instance-id", "save-time" in that order; an entry recorded with
 * DEVSTATE_ENTRY_HANDLER also carries "handler": true as a last key, one
 * recorded with DEVSTATE_ENTRY_ITERABLE "iterable": true (since 0.2.0). A
 * checkpoint entry is {"name": ..., "time": T} (see devstate_checkpoint()).
 * A step (since 0.3.0) is {"name", "device", "device-type", "kind", "start",
 * "time"}: "device" and "device-type" only when recorded, "kind" one of
 * "work", "prepare", "main", "start" its start in microseconds since the
 * run's origin, "time" its duration.
 * Names that are not valid UTF-8 have each invalid sequence replaced by
 * U+FFFD, as QEMU's QMP output does; valid UTF-8 is written unchanged
 * (raw, not \u-escaped) and "/" is not escaped.
 * flags: DEVSTATE_JSON_COMPACT (one line, no spaces) or DEVSTATE_JSON_PRETTY
 * (two-space indentation). *out is a NUL-terminated malloc'd string that the
 * caller frees with devstate_json_free().
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE, DEVSTATE_ERR_FLAGS,
 * DEVSTATE_ERR_NOMEM, DEVSTATE_ERR_JSON.
 */
DEVSTATE_API int32_t devstate_snapshot_json(const devstate_snapshot *snapshot, uint32_t flags,
                                            char **out);

/*
 * Frees a string from devstate_snapshot_json().
 * Errors: DEVSTATE_ERR_NULL, DEVSTATE_ERR_INVALID_HANDLE (not a live string
 * of this library, e.g. freed twice).
 */
DEVSTATE_API int32_t devstate_json_free(char *json);

#ifdef __cplusplus
}
#endif

#endif /* DEVSTATE_DEVSTATE_H */
