/* SPDX-License-Identifier: MIT */
/*
 * Memory stays flat: 10,000 runs x 300 devices, each run followed by a query, must leave the
 * resident set size within 1 % of what it was after the first 100 runs.
 *
 * Each run goes through both ways a host uses the library:
 *  - a private recorder: begin, 300 records, end, snapshot, info, every entry, JSON (compact
 *    and, every 10th run, pretty), frees;
 *  - the default recorder through the QEMU hooks: begin, 300 records, end, the QAPI list
 *    (query-migrate's device-state-times), devstate_qapi_list_free.
 * RSS is read from /proc/self/statm without allocating. Prints "rss: N passed, N failed" (harness.h) and the
 * figures as "rss-figures: after 100 runs X KiB, after 10000 runs Y KiB, growth Z %".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <devstate/devstate.h>
#include <devstate/qemu-hooks.h>

#include "harness.h"

#define RUNS 10000
#define EARLY 100
#define DEVICES 300

/* Reads /proc/self/statm with open/read into a stack buffer: measuring must not allocate
 * (fopen's FILE and stdio buffer would move the heap top and show up in the figure). */
static long page_kib = 4;

static long rss_kib(void)
{
    char text[128];
    char *end;
    ssize_t got;
    long resident;
    int fd = open("/proc/self/statm", O_RDONLY);

    if (fd < 0) {
        return -1;
    }
    got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got <= 0) {
        return -1;
    }
    text[got] = 0;
    strtol(text, &end, 10);              /* size */
    resident = strtol(end, &end, 10);    /* resident */
    return resident <= 0 ? -1 : resident * page_kib;
}

int main(int argc, char **argv)
{
    static char names[DEVICES][64];
    devstate_recorder *recorder = NULL;
    long early = -1, late = -1;
    long bad_status = 0, bad_query = 0;
    int runs = argc > 1 ? atoi(argv[1]) : RUNS;
    int run, i;

    /* QEMU-like idstrs of varied lengths. */
    for (i = 0; i < DEVICES; i++) {
        snprintf(names[i], sizeof names[i], "0000:00:%02x.%x/%s-%d", i % 32, i % 8,
                 i % 3 == 0 ? "virtio-net" : (i % 3 == 1 ? "ide" : "pci-bridge-controller"), i);
    }
    /* Warm the measuring code itself up, so its first use does not count as growth. */
    page_kib = sysconf(_SC_PAGESIZE) / 1024;
    CHECK(rss_kib() > 0);
    CHECK_INT(devstate_recorder_new(&recorder), DEVSTATE_OK);
    if (!recorder) {
        return harness_finish("rss");
    }

    for (run = 1; run <= runs; run++) {
        devstate_snapshot *snapshot = NULL;
        devstate_snapshot_info info;
        DeviceSaveStateTimeList *list = NULL, *node;
        char *json = NULL;
        uint64_t k;
        int count;

        bad_status += devstate_run_begin(recorder) != DEVSTATE_OK;
        bad_status += devstate_qemu_run_begin() != DEVSTATE_OK;
        for (i = 0; i < DEVICES; i++) {
            uint64_t t = (uint64_t)((run * 7 + i) % 997) + 1;
            bad_status += devstate_record(recorder, names[i], (uint32_t)i, t,
                                          i % 10 == 0 ? DEVSTATE_ENTRY_HANDLER : DEVSTATE_ENTRY_VMSD) != DEVSTATE_OK;
            bad_status += devstate_qemu_record(names[i], (uint32_t)i, 1000, 1000 + (int64_t)t,
                                               DEVSTATE_ENTRY_VMSD) != DEVSTATE_OK;
        }
        bad_status += devstate_run_end(recorder) != DEVSTATE_OK;
        bad_status += devstate_qemu_run_end() != DEVSTATE_OK;

        /* The query: a snapshot read completely and serialized. */
        if (devstate_snapshot_take(recorder, &snapshot) != DEVSTATE_OK) {
            bad_query++;
            continue;
        }
        if (devstate_snapshot_get_info(snapshot, &info) != DEVSTATE_OK || info.count != DEVICES
            || info.run != (uint64_t)run || !info.complete) {
            bad_query++;
        }
        for (k = 0; k < info.count; k++) {
            devstate_entry entry;
            if (devstate_snapshot_entry(snapshot, k, &entry) != DEVSTATE_OK
                || strcmp(entry.name, names[k]) != 0) {
                bad_query++;
            }
        }
        if (devstate_snapshot_json(snapshot, DEVSTATE_JSON_COMPACT, &json) != DEVSTATE_OK
            || strncmp(json, "[{\"name\":\"0000:00:00.0/virtio-net-0\"", 36) != 0) {
            bad_query++;
        }
        bad_query += devstate_json_free(json) != DEVSTATE_OK;
        if (run % 10 == 0) {
            json = NULL;
            bad_query += devstate_snapshot_json(snapshot, DEVSTATE_JSON_PRETTY, &json) != DEVSTATE_OK;
            bad_query += devstate_json_free(json) != DEVSTATE_OK;
        }
        bad_query += devstate_snapshot_free(snapshot) != DEVSTATE_OK;

        /* query-migrate's path. */
        if (devstate_qemu_device_state_times(&list) != DEVSTATE_OK) {
            bad_query++;
        }
        for (count = 0, node = list; node; node = node->next) {
            count++;
        }
        bad_query += count != DEVICES;
        bad_query += devstate_qapi_list_free(list) != DEVSTATE_OK;

        if (run == EARLY) {
            early = rss_kib();
        }
    }
    late = rss_kib();

    CHECK_INT(bad_status, 0);
    CHECK_INT(bad_query, 0);
    CHECK(early > 0 && late > 0);
    if (early > 0 && late > 0) {
        double growth = 100.0 * (double)(late - early) / (double)early;
        printf("rss-figures: after %d runs %ld KiB, after %d runs %ld KiB, growth %.3f %%\n", EARLY,
               early, runs, late, growth);
        /* Within 1 %: |late - early| * 100 <= early. */
        CHECK(labs(late - early) * 100 <= early);
    }
    CHECK_INT(devstate_recorder_free(recorder), DEVSTATE_OK);
    return harness_finish("rss");
}
