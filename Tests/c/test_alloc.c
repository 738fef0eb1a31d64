/*
 * The hot path allocates nothing once storage has grown: this program interposes malloc and
 * friends (the executable's definitions win over libc's for the library too) and counts the
 * calls made while a second run of the same size is recorded.
 */
#include <stddef.h>
#include <stdio.h>

#include <devstate/devstate.h>

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
    return harness_finish("alloc");
}
