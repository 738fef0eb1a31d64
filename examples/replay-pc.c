/* SPDX-License-Identifier: MIT */
/*
 * A C host of libdevstate doing what a patched QEMU does in stop-and-copy: begin a run on the
 * default recorder, record every pc device through the QEMU hooks with its clock readings,
 * end the run, then print the "device-state-times" value query-migrate would return.
 */
#include <stdio.h>

#include <devstate/devstate.h>
#include <devstate/qemu-hooks.h>

#include "pc-devices.h"

int main(void)
{
    int64_t clock_us = 1764230400000000; /* any QEMU_CLOCK_REALTIME reading */
    devstate_snapshot *snapshot = NULL;
    devstate_snapshot_info info;
    char *json = NULL;
    size_t i;
    int32_t rc;

    printf("libdevstate %s (ABI %u), replaying %u pc devices through the QEMU hooks\n",
           devstate_version_string(), (unsigned)devstate_abi_version(), (unsigned)PC_DEVICE_COUNT);
    devstate_qemu_run_begin();
    for (i = 0; i < PC_DEVICE_COUNT; i++) {
        int64_t start = clock_us;

        clock_us += pc_devices[i].span_us;
        rc = devstate_qemu_record(pc_devices[i].idstr, pc_devices[i].instance_id, start, clock_us,
                                  DEVSTATE_ENTRY_VMSD);
        if (rc < 0) {
            fprintf(stderr, "record %s: %s\n", pc_devices[i].idstr, devstate_strerror(rc));
            return 1;
        }
    }
    devstate_qemu_run_end();

    rc = devstate_snapshot_take(devstate_default_recorder(), &snapshot);
    if (rc == DEVSTATE_OK) {
        rc = devstate_snapshot_get_info(snapshot, &info);
    }
    if (rc == DEVSTATE_OK) {
        rc = devstate_snapshot_json(snapshot, DEVSTATE_JSON_PRETTY, &json);
    }
    if (rc != DEVSTATE_OK) {
        fprintf(stderr, "query: %s\n", devstate_strerror(rc));
        return 1;
    }
    printf("kept %llu entries, skipped %llu with 0 us\n", (unsigned long long)info.count,
           (unsigned long long)info.skipped_zero);
    printf("device-state-times: %s\n", json);
    devstate_json_free(json);
    devstate_snapshot_free(snapshot);
    return 0;
}
