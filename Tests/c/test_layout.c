/* SPDX-License-Identifier: MIT */
/*
 * The QAPI-shaped structs of qemu-hooks.h, seen as a host without QEMU's headers sees them:
 * devstate_qapi_entry_ext (the 0.1.0 block that ends in has_handler/handler) has the layout
 * of the explicit-field devstate_qapi_time and of what QEMU's QAPI generator emits for our
 * series' DeviceSaveStateTime (qemu_DeviceSaveStateTime below, written from the schema, not
 * from the header). Compile-time asserts, then one list read through all three views.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <devstate/qemu-hooks.h>

#include "harness.h"

#ifdef __cplusplus
#define LAYOUT_ASSERT(cond) static_assert(cond, #cond)
#else
#define LAYOUT_ASSERT(cond) _Static_assert(cond, #cond)
#endif

/* { 'name': 'str', 'instance-id': 'uint32', 'save-time': 'uint64', '*handler': 'bool' } */
typedef struct qemu_DeviceSaveStateTime {
    char *name;
    uint32_t instance_id;
    uint64_t save_time;
    bool has_handler;
    bool handler;
} qemu_DeviceSaveStateTime;

#define EXT_BASE(member) (offsetof(devstate_qapi_entry_ext, base) + offsetof(DeviceSaveStateTime, member))
#define SAME(a, off_a, size_a, b, member_b) \
    LAYOUT_ASSERT((off_a) == offsetof(b, member_b) && (size_a) == sizeof(((b *)0)->member_b))

LAYOUT_ASSERT(sizeof(devstate_qapi_entry_ext) == sizeof(devstate_qapi_time));
LAYOUT_ASSERT(sizeof(devstate_qapi_entry_ext) == sizeof(qemu_DeviceSaveStateTime));
SAME(ext, EXT_BASE(name), sizeof(char *), devstate_qapi_time, name);
SAME(ext, EXT_BASE(instance_id), sizeof(uint32_t), devstate_qapi_time, instance_id);
SAME(ext, EXT_BASE(save_time), sizeof(uint64_t), devstate_qapi_time, time_us);
SAME(ext, offsetof(devstate_qapi_entry_ext, has_handler), sizeof(bool), devstate_qapi_time, has_flag);
SAME(ext, offsetof(devstate_qapi_entry_ext, handler), sizeof(bool), devstate_qapi_time, flag);
SAME(ext, EXT_BASE(name), sizeof(char *), qemu_DeviceSaveStateTime, name);
SAME(ext, EXT_BASE(instance_id), sizeof(uint32_t), qemu_DeviceSaveStateTime, instance_id);
SAME(ext, EXT_BASE(save_time), sizeof(uint64_t), qemu_DeviceSaveStateTime, save_time);
SAME(ext, offsetof(devstate_qapi_entry_ext, has_handler), sizeof(bool), qemu_DeviceSaveStateTime, has_handler);
SAME(ext, offsetof(devstate_qapi_entry_ext, handler), sizeof(bool), qemu_DeviceSaveStateTime, handler);
SAME(list, offsetof(DeviceSaveStateTimeList, next), sizeof(void *), devstate_qapi_time_list, next);
SAME(list, offsetof(DeviceSaveStateTimeList, value), sizeof(void *), devstate_qapi_time_list, value);
#if UINTPTR_MAX == 0xffffffffffffffffu
/* LP64, as QEMU's x86_64 build: the numbers the QEMU side checks against too */
LAYOUT_ASSERT(sizeof(devstate_qapi_time) == 32 && offsetof(devstate_qapi_time, has_flag) == 24);
LAYOUT_ASSERT(sizeof(devstate_qapi_checkpoint) == 16 && sizeof(devstate_qapi_time_list) == 16);
/* { 'name': 'str', '*device': 'str', '*device-type': 'str', 'kind': 'DowntimeStepKind',
 *   'start': 'uint64', 'time': 'uint64' }: three pointers, an int-sized enum, two uint64 */
LAYOUT_ASSERT(sizeof(devstate_qapi_step) == 48 && offsetof(devstate_qapi_step, kind) == 24
              && sizeof(((devstate_qapi_step *)0)->kind) == sizeof(int)
              && offsetof(devstate_qapi_step, start_us) == 32 && offsetof(devstate_qapi_step, time_us) == 40);
LAYOUT_ASSERT(sizeof(devstate_qapi_step_list) == 16);
#endif

int main(void)
{
    DeviceSaveStateTimeList *list = NULL;

    CHECK_INT(devstate_qemu_run_begin(), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record("cpu", 0, 100, 150, DEVSTATE_ENTRY_VMSD), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_record("slirp", 1, 150, 157, DEVSTATE_ENTRY_HANDLER), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_run_end(), DEVSTATE_OK);
    CHECK_INT(devstate_qemu_device_state_times(&list), DEVSTATE_OK);
    CHECK(list && list->next && !list->next->next);
    if (list && list->next) {
        const devstate_qapi_entry_ext *a = (const devstate_qapi_entry_ext *)list->value;
        const devstate_qapi_entry_ext *b = (const devstate_qapi_entry_ext *)list->next->value;
        const devstate_qapi_time *bt = (const devstate_qapi_time *)list->next->value;
        const qemu_DeviceSaveStateTime *bq = (const qemu_DeviceSaveStateTime *)list->next->value;

        CHECK_STR(a->base.name, "cpu");
        CHECK_INT(a->base.save_time, 50);
        CHECK(!a->has_handler && !a->handler);
        CHECK_STR(b->base.name, "slirp");
        CHECK_INT(b->base.instance_id, 1);
        CHECK_INT(b->base.save_time, 7);
        CHECK(b->has_handler && b->handler);
        CHECK_STR(bt->name, "slirp");
        CHECK_INT(bt->instance_id, 1);
        CHECK_INT(bt->time_us, 7);
        CHECK(bt->has_flag && bt->flag);
        CHECK_STR(bq->name, "slirp");
        CHECK_INT(bq->save_time, 7);
        CHECK(bq->has_handler && bq->handler);
    }
    CHECK_INT(devstate_qapi_list_free(list), DEVSTATE_OK);
    return harness_finish("layout");
}
