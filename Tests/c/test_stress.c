/* SPDX-License-Identifier: MIT */
/*
 * Volume: 1,000 runs x 300 devices with a full query each run (snapshot, JSON, QAPI list,
 * frees), meant to run under AddressSanitizer/LeakSanitizer; and the per-run entry cap.
 */
#include <stdlib.h>

#include <devstate/devstate.h>
#include <devstate/qemu-hooks.h>

#include "harness.h"

#define RUNS 1000
#define DEVICES 300

static void one_run(int run)
{
    char name[64];
    devstate_snapshot *s = NULL;
    devstate_snapshot_info info;
    DeviceSaveStateTimeList *list = NULL;
    const DeviceSaveStateTimeList *node;
    char *json = NULL;
    int i, kept = 0, ok = 1;

    devstate_qemu_run_begin();
    for (i = 0; i < DEVICES; i++) {
        int64_t span = (i + run) % 7; /* every seventh entry takes 0 us */
        snprintf(name, sizeof(name), "0000:00:%02x.%d/virtio-device-%d", i % 32, i % 8, i);
        ok &= devstate_qemu_record(name, (uint32_t)i, 1000, 1000 + span, 0) >= 0;
        kept += span > 0;
    }
    devstate_qemu_run_end();
    ok &= devstate_snapshot_take(devstate_default_recorder(), &s) == DEVSTATE_OK;
    ok &= devstate_snapshot_get_info(s, &info) == DEVSTATE_OK;
    ok &= info.count == (uint64_t)kept && info.skipped_zero == (uint64_t)(DEVICES - kept);
    ok &= devstate_snapshot_json(s, run % 2 ? DEVSTATE_JSON_PRETTY : DEVSTATE_JSON_COMPACT, &json) == DEVSTATE_OK;
    ok &= json != NULL && json[0] == '[';
    ok &= devstate_qemu_device_state_times(&list) == DEVSTATE_OK;
    for (node = list, i = 0; node; node = node->next) {
        i++;
    }
    ok &= i == kept;
    devstate_qapi_list_free(list);
    devstate_json_free(json);
    devstate_snapshot_free(s);
    CHECK(ok);
}

static void cap(void)
{
    devstate_recorder *r = NULL;
    devstate_snapshot *s = NULL;
    devstate_snapshot_info info;
    devstate_entry entry;
    int32_t i, refused = 0;

    devstate_recorder_new(&r);
    devstate_run_begin(r);
    for (i = 0; i < DEVSTATE_MAX_ENTRIES; i++) {
        refused += devstate_record(r, "cpu", (uint32_t)i, 1, 0) != DEVSTATE_OK;
    }
    CHECK_INT(refused, 0);
    CHECK_INT(devstate_record(r, "cpu", 7, 1, 0), DEVSTATE_ERR_FULL);
    CHECK_INT(devstate_record(r, "cpu", 8, 1, 0), DEVSTATE_ERR_FULL);
    CHECK_INT(devstate_record(r, "cpu", 9, 0, 0), DEVSTATE_SKIPPED_ZERO);
    CHECK_INT(devstate_snapshot_take(r, &s), DEVSTATE_OK);
    devstate_snapshot_get_info(s, &info);
    CHECK_INT(info.count, DEVSTATE_MAX_ENTRIES);
    CHECK_INT(info.dropped, 2);
    CHECK_INT(info.skipped_zero, 1);
    CHECK_INT(devstate_snapshot_entry(s, DEVSTATE_MAX_ENTRIES - 1, &entry), DEVSTATE_OK);
    CHECK_INT(entry.instance_id, DEVSTATE_MAX_ENTRIES - 1);
    devstate_snapshot_free(s);
    /* The next run starts with nothing dropped. */
    devstate_run_begin(r);
    CHECK_INT(devstate_record(r, "cpu", 0, 1, 0), DEVSTATE_OK);
    devstate_snapshot_take(r, &s);
    devstate_snapshot_get_info(s, &info);
    CHECK_INT(info.count, 1);
    CHECK_INT(info.dropped, 0);
    devstate_snapshot_free(s);
    devstate_recorder_free(r);
}

int main(void)
{
    int run;

    for (run = 0; run < RUNS; run++) {
        one_run(run);
    }
    cap();
    return harness_finish("stress");
}
