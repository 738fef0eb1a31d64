/* SPDX-License-Identifier: MIT */
/*
 * The hot path allocates nothing once storage has grown: this program interposes malloc and
 * friends (the executable's definitions win over libc's for the library too) and counts the
 * calls made while a second run of the same size is recorded.
 */
#include <stddef.h>
#include <stdio.h>

#include <devstate/devstate.h>
#include <devstate/qemu-hooks.h>

#include "count-allocs.h"
#include "harness.h"

#define DEVICES 300

static long record_run(devstate_recorder *r, int offset)
{
    static char names[DEVICES][48];
    long before;
    int i;

    for (i = 0; i < DEVICES; i++) {
        snprintf(names[i], sizeof(names[i]), "0000:00:%02x.%d/virtio-net-pci-%d", i % 32, i % 8, i + offset);
    }
    before = allocations;
    devstate_run_begin(r);
    for (i = 0; i < DEVICES; i++) {
        devstate_record(r, names[i], (uint32_t)i, (uint64_t)(i % 9), DEVSTATE_ENTRY_VMSD);
    }
    devstate_run_end(r);
    return allocations - before;
}

/* A destination's run through the 0.2.0 hooks: loads and checkpoints interleaved. */
static long incoming_run(int offset)
{
    static char names[DEVICES][48];
    static const char *const marks[] = { "dst-precopy-loadvm-completed", "dst-precopy-bh-enter",
                                         "dst-precopy-bh-announced", "dst-precopy-bh-vm-started" };
    long before;
    int64_t clock = 1000000;
    int i;

    for (i = 0; i < DEVICES; i++) {
        snprintf(names[i], sizeof(names[i]), "0000:00:%02x.%d/e1000e-%d", i % 32, i % 8, i + offset);
    }
    before = allocations;
    devstate_qemu_begin(DEVSTATE_QEMU_LIST_INCOMING);
    for (i = 0; i < DEVICES; i++) {
        devstate_qemu_record_in(DEVSTATE_QEMU_LIST_INCOMING, names[i], (uint32_t)i, clock,
                                clock + i % 9, i % 3 ? DEVSTATE_ENTRY_VMSD : DEVSTATE_ENTRY_ITERABLE);
        clock += i % 9;
        if (i % 75 == 74) {
            devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_INCOMING, marks[i / 75], clock++);
        }
    }
    devstate_qemu_end(DEVSTATE_QEMU_LIST_INCOMING);
    return allocations - before;
}

/* A source's stop phase through the 0.3.0 step hook: handler calls with their device and type. */
static long steps_run(int offset)
{
    static char devices[DEVICES][64];
    long before;
    int64_t clock = 2000000;
    int i;

    for (i = 0; i < DEVICES; i++) {
        snprintf(devices[i], sizeof(devices[i]), "/machine/peripheral-anon/device[%d]/virtio-backend", i + offset);
    }
    before = allocations;
    devstate_qemu_begin(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS);
    devstate_qemu_checkpoint(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "src-downtime-start", clock);
    for (i = 0; i < DEVICES; i++) {
        devstate_qemu_step(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS, "virtio_vmstate_change", devices[i],
                           "virtio-net-device", i % 2 ? DEVSTATE_STEP_MAIN : DEVSTATE_STEP_PREPARE, clock,
                           clock + i % 5);
        clock += i % 5;
    }
    devstate_qemu_end(DEVSTATE_QEMU_LIST_OUTGOING_CHECKPOINTS);
    return allocations - before;
}

int main(void)
{
    devstate_recorder *r = NULL;
    devstate_snapshot *s = NULL;
    long first, second, query;

    devstate_recorder_new(&r);
    first = record_run(r, 0);
    second = record_run(r, 1000); /* same count, names of the same length */
    printf("allocations: first run %ld, second run %ld (%d records each)\n", first, second, DEVICES);
    CHECK(first > 0); /* the counter sees the library's allocations at all */
    CHECK_INT(second, 0);
    query = allocations;
    devstate_snapshot_take(r, &s);
    CHECK(allocations > query); /* copies are made at query time */
    devstate_snapshot_free(s);
    CHECK_INT(record_run(r, 2000), 0);
    devstate_recorder_free(r);

    first = incoming_run(0);
    second = incoming_run(1000);
    printf("allocations through the load and checkpoint hooks: first run %ld, second run %ld\n",
           first, second);
    CHECK(first > 0);
    CHECK_INT(second, 0);

    first = steps_run(1000);
    second = steps_run(2000); /* device paths of the same lengths */
    printf("allocations through the step hook: first run %ld, second run %ld\n", first, second);
    CHECK(first > 0);
    CHECK_INT(second, 0);
    return harness_finish("alloc");
}
