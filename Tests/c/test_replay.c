/* SPDX-License-Identifier: MIT */
/*
 * Replays a pc machine's stop-and-copy through the QEMU hooks, as patched savevm.c and
 * migration.c call them, and checks the snapshot, the QAPI list and the JSON.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <json-c/json.h>

/* A stand-in for QEMU's MigrationInfo: other members first, as in QEMU. */
typedef struct DeviceSaveStateTimeList DeviceSaveStateTimeList;
typedef struct MigrationInfo {
    int status;
    uint64_t downtime;
    void *ram;
    bool has_device_state_times;
    DeviceSaveStateTimeList *device_state_times;
} MigrationInfo;
#define DEVSTATE_WANT_MIGRATION_INFO_HOOK 1

#include <devstate/devstate.h>
#include <devstate/qemu-hooks.h>

#include "harness.h"
#include "pc-devices.h"

static size_t kept_count(void)
{
    size_t i, n = 0;

    for (i = 0; i < PC_DEVICE_COUNT; i++) {
        n += pc_devices[i].span_us > 0;
    }
    return n;
}

static void replay(int64_t clock_us, int64_t extra_us)
{
    size_t i;

    CHECK_INT(devstate_qemu_run_begin(), DEVSTATE_OK);
    for (i = 0; i < PC_DEVICE_COUNT; i++) {
        int64_t span = pc_devices[i].span_us ? pc_devices[i].span_us + extra_us : 0;
        int32_t rc = devstate_qemu_record(pc_devices[i].idstr, pc_devices[i].instance_id, clock_us,
                                          clock_us + span, DEVSTATE_ENTRY_VMSD);
        CHECK_INT(rc, span > 0 ? DEVSTATE_OK : DEVSTATE_SKIPPED_ZERO);
        clock_us += span;
    }
    CHECK_INT(devstate_qemu_run_end(), DEVSTATE_OK);
}

/* Walks the QAPI list and the pc table together. */
static void check_list(const DeviceSaveStateTimeList *list, int64_t extra_us)
{
    size_t i;

    for (i = 0; i < PC_DEVICE_COUNT; i++) {
        const devstate_qapi_entry_ext *ext;

        if (pc_devices[i].span_us == 0) {
            continue;
        }
        CHECK(list != NULL);
        if (!list) {
            return;
        }
        CHECK_STR(list->value->name, pc_devices[i].idstr);
        CHECK_INT(list->value->instance_id, pc_devices[i].instance_id);
        CHECK_INT(list->value->save_time, pc_devices[i].span_us + extra_us);
        ext = (const devstate_qapi_entry_ext *)list->value;
        CHECK(!ext->has_handler && !ext->handler);
        list = list->next;
    }
    CHECK(list == NULL);
}

static void check_json(const char *text)
{
    json_object *root = json_tokener_parse(text);
    size_t i, kept = 0;

    CHECK(root != NULL && json_object_is_type(root, json_type_array));
    if (!root) {
        return;
    }
    CHECK_INT(json_object_array_length(root), kept_count());
    for (i = 0; i < PC_DEVICE_COUNT; i++) {
        json_object *entry, *value;
        const char *expected_keys[] = {"name", "instance-id", "save-time"};
        int key = 0;

        if (pc_devices[i].span_us == 0) {
            continue;
        }
        entry = json_object_array_get_idx(root, kept++);
        json_object_object_foreach(entry, name, member) {
            (void)member;
            CHECK(key < 3 && strcmp(name, expected_keys[key]) == 0);
            key++;
        }
        CHECK_INT(key, 3);
        CHECK(json_object_object_get_ex(entry, "name", &value));
        CHECK_STR(json_object_get_string(value), pc_devices[i].idstr);
        CHECK(json_object_object_get_ex(entry, "instance-id", &value));
        CHECK_INT(json_object_get_int64(value), pc_devices[i].instance_id);
        CHECK(json_object_object_get_ex(entry, "save-time", &value));
        CHECK_INT(json_object_get_uint64(value), pc_devices[i].span_us);
    }
    json_object_put(root);
}

int main(void)
{
    MigrationInfo info;
    devstate_snapshot *snapshot = NULL;
    devstate_snapshot_info totals;
    DeviceSaveStateTimeList *list = NULL;
    char *json = NULL;

    /* Before any run QEMU's hook leaves the member out. */
    memset(&info, 0, sizeof(info));
    qemu_savevm_get_device_state_times(&info);
    CHECK(info.device_state_times == NULL);
    CHECK(!info.has_device_state_times);

    replay(1764230400000000, 0);

    CHECK_INT(devstate_snapshot_take(devstate_default_recorder(), &snapshot), DEVSTATE_OK);
    CHECK_INT(devstate_snapshot_get_info(snapshot, &totals), DEVSTATE_OK);
    CHECK_INT(totals.count, kept_count());
    CHECK_INT(totals.skipped_zero, PC_DEVICE_COUNT - kept_count());
    CHECK_INT(totals.complete, 1);

    memset(&info, 0, sizeof(info));
    info.status = 5;
    qemu_savevm_get_device_state_times(&info);
    CHECK(info.device_state_times != NULL);
    CHECK(info.has_device_state_times);
    CHECK_INT(info.status, 5);
    check_list(info.device_state_times, 0);

    CHECK_INT(devstate_snapshot_json(snapshot, DEVSTATE_JSON_COMPACT, &json), DEVSTATE_OK);
    {
        static const char first[] = "[{\"name\":\"timer\",\"instance-id\":0,\"save-time\":2},";
        CHECK(strncmp(json, first, sizeof(first) - 1) == 0);
    }
    CHECK(strstr(json, "\"0000:00:01.3/piix4_pm\"") != NULL);
    check_json(json);
    devstate_json_free(json);
    CHECK_INT(devstate_snapshot_json(snapshot, DEVSTATE_JSON_PRETTY, &json), DEVSTATE_OK);
    check_json(json);
    devstate_json_free(json);

    /* A second stop-and-copy replaces the first run; the lists already handed out stay. */
    replay(1764230500000000, 100);
    CHECK_INT(devstate_qemu_device_state_times(&list), DEVSTATE_OK);
    check_list(list, 100);
    check_list(info.device_state_times, 0);
    devstate_qapi_list_free(list);
    CHECK_INT(devstate_snapshot_qapi_list(snapshot, &list), DEVSTATE_OK);
    check_list(list, 0);
    devstate_qapi_list_free(list);
    devstate_qapi_list_free(info.device_state_times);

    /* A run that never ended (a failed save) is not handed to query-migrate. */
    CHECK_INT(devstate_qemu_run_begin(), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record("apic", 0, 10, 20, DEVSTATE_ENTRY_VMSD), DEVSTATE_OK);
    list = NULL;
    CHECK_INT(devstate_qemu_device_state_times(&list), DEVSTATE_ERR_NO_RUN);
    CHECK(list == NULL);
    memset(&info, 0, sizeof(info));
    qemu_savevm_get_device_state_times(&info);
    CHECK(info.device_state_times == NULL);
    /* A clock stepping backwards is not a positive time. */
    CHECK_INT(devstate_qemu_record("apic", 1, 20, 10, DEVSTATE_ENTRY_VMSD), DEVSTATE_SKIPPED_ZERO);
    /* Spans beyond INT64 range neither wrap to a bogus positive time nor get lost. */
    CHECK_INT(devstate_qemu_record("apic", 2, INT64_MAX, INT64_MIN, DEVSTATE_ENTRY_VMSD),
              DEVSTATE_SKIPPED_ZERO);
    CHECK_INT(devstate_qemu_record(NULL, 1, 10, 20, DEVSTATE_ENTRY_VMSD), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_qemu_device_state_times(NULL), DEVSTATE_ERR_NULL);
    /* Opt-in handler entries are marked in the QAPI block. */
    CHECK_INT(devstate_qemu_record("slirp", 0, 10, 13, DEVSTATE_ENTRY_HANDLER), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record("wide", 0, INT64_MIN, 1, DEVSTATE_ENTRY_VMSD), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_run_end(), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_device_state_times(&list), DEVSTATE_OK);
    CHECK(list && list->next && list->next->next && !list->next->next->next);
    if (list && list->next && list->next->next) {
        CHECK(list->next->next->value->save_time == (uint64_t)INT64_MAX + 2);
    }
    if (list && list->next) {
        const devstate_qapi_entry_ext *apic = (const devstate_qapi_entry_ext *)list->value;
        const devstate_qapi_entry_ext *slirp = (const devstate_qapi_entry_ext *)list->next->value;
        CHECK(!apic->has_handler);
        CHECK_STR(slirp->base.name, "slirp");
        CHECK(slirp->has_handler && slirp->handler);
        CHECK_INT(slirp->base.save_time, 3);
    }
    devstate_qapi_list_free(list);
    CHECK_INT(devstate_qapi_list_free(NULL), DEVSTATE_OK);

    devstate_snapshot_free(snapshot);
    return harness_finish("replay");
}
