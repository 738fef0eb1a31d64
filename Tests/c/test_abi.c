/* SPDX-License-Identifier: MIT */
/* The C ABI's contract: versions, error codes, bad input, lifecycle, snapshots. */
#include <stdlib.h>

#include <devstate/devstate.h>

#include "harness.h"

static uint64_t count_of(devstate_recorder *r)
{
    devstate_snapshot *s = NULL;
    devstate_snapshot_info info;

    if (devstate_snapshot_take(r, &s) != DEVSTATE_OK) {
        return UINT64_MAX;
    }
    devstate_snapshot_get_info(s, &info);
    devstate_snapshot_free(s);
    return info.count;
}

static void test_versions(void)
{
    char expected[32];

    CHECK_INT(devstate_version_number(), DEVSTATE_VERSION_NUMBER);
    CHECK_STR(devstate_version_string(), DEVSTATE_VERSION_STRING);
    snprintf(expected, sizeof(expected), "%d.%d.%d", DEVSTATE_VERSION_MAJOR,
             DEVSTATE_VERSION_MINOR, DEVSTATE_VERSION_PATCH);
    CHECK_STR(devstate_version_string(), expected);
    CHECK_INT(devstate_abi_version(), DEVSTATE_ABI_VERSION);
}

static void test_strerror(void)
{
    int32_t code;

    CHECK(devstate_strerror(DEVSTATE_OK) != NULL);
    CHECK(devstate_strerror(DEVSTATE_SKIPPED_ZERO) != NULL);
    for (code = DEVSTATE_ERR_NULL; code >= DEVSTATE_ERR_NAME_NUL; code--) {
        const char *message = devstate_strerror(code);
        int32_t other;

        CHECK(message != NULL && message[0] != '\0');
        for (other = code - 1; other >= DEVSTATE_ERR_NAME_NUL; other--) {
            CHECK(strcmp(message, devstate_strerror(other)) != 0);
        }
    }
    CHECK_STR(devstate_strerror(-9999), "unknown status code");
    CHECK_STR(devstate_strerror(12345), "unknown status code");
}

static void test_null_arguments(void)
{
    devstate_recorder *r = NULL;
    devstate_snapshot *s = NULL;
    devstate_snapshot_info info;
    devstate_entry entry;
    char *json = NULL;

    CHECK_INT(devstate_recorder_new(NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_recorder_free(NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_run_begin(NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_run_end(NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_record(NULL, "apic", 0, 1, 0), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_take(NULL, &s), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_free(NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_get_info(NULL, &info), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_entry(NULL, 0, &entry), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_json(NULL, 0, &json), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_json_free(NULL), DEVSTATE_ERR_NULL);

    CHECK_INT(devstate_recorder_new(&r), DEVSTATE_OK);
    CHECK_INT(devstate_run_begin(r), DEVSTATE_OK);
    CHECK_INT(devstate_record(r, "apic", 0, 5, 0), DEVSTATE_OK);
    CHECK_INT(devstate_record(r, NULL, 0, 5, 0), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_take(r, NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_take(r, &s), DEVSTATE_OK);
    CHECK_INT(devstate_snapshot_get_info(s, NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_entry(s, 0, NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_json(s, 0, NULL), DEVSTATE_ERR_NULL);
    CHECK_INT(devstate_snapshot_free(s), DEVSTATE_OK);
    CHECK_INT(count_of(r), 1);
    CHECK_INT(devstate_recorder_free(r), DEVSTATE_OK);
}

static void test_names(void)
{
    devstate_recorder *r = NULL;
    devstate_snapshot *s = NULL;
    devstate_entry entry;
    char longest[DEVSTATE_NAME_MAX + 1];
    char too_long[DEVSTATE_NAME_MAX + 2];
    char unterminated[4096];

    memset(longest, 'a', DEVSTATE_NAME_MAX);
    longest[DEVSTATE_NAME_MAX] = '\0';
    memset(too_long, 'b', DEVSTATE_NAME_MAX + 1);
    too_long[DEVSTATE_NAME_MAX + 1] = '\0';
    /* No NUL in the first 256 bytes: the library must stop reading there. */
    memset(unterminated, 'c', sizeof(unterminated));
    unterminated[sizeof(unterminated) - 1] = '\0';

    devstate_recorder_new(&r);
    devstate_run_begin(r);
    CHECK_INT(devstate_record(r, "cpu", 0, 10, 0), DEVSTATE_OK);
    CHECK_INT(devstate_record(r, "", 0, 10, 0), DEVSTATE_ERR_NAME_EMPTY);
    CHECK_INT(devstate_record(r, too_long, 0, 10, 0), DEVSTATE_ERR_NAME_TOO_LONG);
    CHECK_INT(devstate_record(r, unterminated, 0, 10, 0), DEVSTATE_ERR_NAME_TOO_LONG);
    CHECK_INT(devstate_record(r, "cpu", 1, 10, 0x80), DEVSTATE_ERR_FLAGS);
    CHECK_INT(devstate_record(r, longest, 7, 10, 0), DEVSTATE_OK);
    CHECK_INT(devstate_record(r, "\xff\xfe not utf-8", 3, 10, 0), DEVSTATE_OK);

    CHECK_INT(devstate_snapshot_take(r, &s), DEVSTATE_OK);
    CHECK_INT(devstate_snapshot_entry(s, 0, &entry), DEVSTATE_OK);
    CHECK_STR(entry.name, "cpu");
    CHECK_INT(devstate_snapshot_entry(s, 1, &entry), DEVSTATE_OK);
    CHECK_INT(entry.name_len, DEVSTATE_NAME_MAX);
    CHECK(memcmp(entry.name, longest, DEVSTATE_NAME_MAX + 1) == 0);
    CHECK_INT(entry.instance_id, 7);
    CHECK_INT(devstate_snapshot_entry(s, 2, &entry), DEVSTATE_OK);
    CHECK_STR(entry.name, "\xff\xfe not utf-8");
    CHECK_INT(devstate_snapshot_entry(s, 3, &entry), DEVSTATE_ERR_RANGE);
    CHECK_INT(devstate_snapshot_entry(s, UINT64_MAX, &entry), DEVSTATE_ERR_RANGE);
    devstate_snapshot_free(s);
    devstate_recorder_free(r);
}

static void test_call_order(void)
{
    devstate_recorder *r = NULL;
    devstate_snapshot *s = NULL;
    devstate_snapshot_info info;

    CHECK_INT(devstate_recorder_new(&r), DEVSTATE_OK);
    /* Query of a recorder that never ran. */
    CHECK_INT(devstate_snapshot_take(r, &s), DEVSTATE_ERR_EMPTY);
    CHECK(s == NULL);
    /* Record and end outside a run. */
    CHECK_INT(devstate_record(r, "apic", 0, 3, 0), DEVSTATE_ERR_NO_RUN);
    CHECK_INT(devstate_run_end(r), DEVSTATE_ERR_NO_RUN);

    CHECK_INT(devstate_run_begin(r), DEVSTATE_OK);
    CHECK_INT(devstate_record(r, "apic", 0, 3, 0), DEVSTATE_OK);
    CHECK_INT(devstate_record(r, "pcspk", 0, 0, 0), DEVSTATE_SKIPPED_ZERO);
    CHECK_INT(devstate_run_end(r), DEVSTATE_OK);
    CHECK_INT(devstate_run_end(r), DEVSTATE_ERR_NO_RUN);
    /* A record after the end is refused and loses nothing. */
    CHECK_INT(devstate_record(r, "late", 0, 3, 0), DEVSTATE_ERR_NO_RUN);
    CHECK_INT(devstate_snapshot_take(r, &s), DEVSTATE_OK);
    devstate_snapshot_get_info(s, &info);
    CHECK_INT(info.count, 1);
    CHECK_INT(info.skipped_zero, 1);
    CHECK_INT(info.dropped, 0);
    CHECK_INT(info.run, 1);
    CHECK_INT(info.complete, 1);
    devstate_snapshot_free(s);

    /* A begin while open abandons the open run. */
    CHECK_INT(devstate_run_begin(r), DEVSTATE_OK);
    CHECK_INT(devstate_record(r, "x", 0, 3, 0), DEVSTATE_OK);
    CHECK_INT(devstate_run_begin(r), DEVSTATE_OK);
    CHECK_INT(devstate_snapshot_take(r, &s), DEVSTATE_OK);
    devstate_snapshot_get_info(s, &info);
    CHECK_INT(info.count, 0);
    CHECK_INT(info.run, 3);
    CHECK_INT(info.complete, 0);
    devstate_snapshot_free(s);
    devstate_recorder_free(r);
}

static void test_double_free(void)
{
    devstate_recorder *r = NULL;
    devstate_recorder *other = NULL;
    devstate_snapshot *s = NULL;
    devstate_snapshot_info info;
    char *json = NULL;

    devstate_recorder_new(&r);
    devstate_recorder_new(&other);
    devstate_run_begin(other);
    devstate_record(other, "kept", 1, 9, 0);
    devstate_run_begin(r);
    devstate_record(r, "apic", 0, 2, 0);
    devstate_snapshot_take(r, &s);
    devstate_snapshot_json(s, DEVSTATE_JSON_COMPACT, &json);

    CHECK_INT(devstate_json_free(json), DEVSTATE_OK);
    CHECK_INT(devstate_json_free(json), DEVSTATE_ERR_INVALID_HANDLE);
    CHECK_INT(devstate_snapshot_free(s), DEVSTATE_OK);
    CHECK_INT(devstate_snapshot_free(s), DEVSTATE_ERR_INVALID_HANDLE);
    CHECK_INT(devstate_snapshot_get_info(s, &info), DEVSTATE_ERR_INVALID_HANDLE);
    CHECK_INT(devstate_recorder_free(r), DEVSTATE_OK);
    CHECK_INT(devstate_recorder_free(r), DEVSTATE_ERR_INVALID_HANDLE);
    CHECK_INT(devstate_record(r, "apic", 0, 2, 0), DEVSTATE_ERR_INVALID_HANDLE);
    CHECK_INT(devstate_run_begin(r), DEVSTATE_ERR_INVALID_HANDLE);
    CHECK_INT(devstate_snapshot_take(r, &s), DEVSTATE_ERR_INVALID_HANDLE);
    /* The default recorder belongs to the library. */
    CHECK_INT(devstate_recorder_free(devstate_default_recorder()), DEVSTATE_ERR_NOT_OWNED);
    /* A string the library never issued. */
    {
        char *foreign = (char *)malloc(8);
        CHECK_INT(devstate_json_free(foreign), DEVSTATE_ERR_INVALID_HANDLE);
        free(foreign);
    }
    /* Nothing of another recorder was touched. */
    CHECK_INT(count_of(other), 1);
    devstate_recorder_free(other);
}

static void test_snapshot_is_a_copy(void)
{
    devstate_recorder *r = NULL;
    devstate_snapshot *first = NULL;
    devstate_snapshot *second = NULL;
    devstate_snapshot_info info;
    devstate_entry entry;

    devstate_recorder_new(&r);
    devstate_run_begin(r);
    devstate_record(r, "cpu", 0, 40, 0);
    devstate_record(r, "cpu", 1, 41, 0);
    devstate_snapshot_take(r, &first);
    devstate_record(r, "apic", 0, 5, 0);
    devstate_run_end(r);
    devstate_run_begin(r);
    devstate_record(r, "other", 0, 1, 0);
    devstate_recorder_free(r);

    CHECK_INT(devstate_snapshot_get_info(first, &info), DEVSTATE_OK);
    CHECK_INT(info.count, 2);
    CHECK_INT(info.complete, 0);
    CHECK_INT(devstate_snapshot_entry(first, 1, &entry), DEVSTATE_OK);
    CHECK_STR(entry.name, "cpu");
    CHECK_INT(entry.instance_id, 1);
    CHECK_INT(entry.save_time_us, 41);
    CHECK_INT(entry.flags, DEVSTATE_ENTRY_VMSD);

    devstate_recorder_new(&r);
    devstate_run_begin(r);
    devstate_record(r, "slirp", 0, 12, DEVSTATE_ENTRY_HANDLER);
    devstate_snapshot_take(r, &second);
    devstate_snapshot_entry(second, 0, &entry);
    CHECK_INT(entry.flags, DEVSTATE_ENTRY_HANDLER);
    devstate_snapshot_free(second);
    devstate_snapshot_free(first);
    devstate_recorder_free(r);
}

static void test_flags(void)
{
    devstate_recorder *r = NULL;
    devstate_snapshot *s = NULL;
    char *json = NULL;

    devstate_recorder_new(&r);
    devstate_run_begin(r);
    devstate_snapshot_take(r, &s);
    CHECK_INT(devstate_snapshot_json(s, 0x10, &json), DEVSTATE_ERR_FLAGS);
    CHECK(json == NULL);
    CHECK_INT(devstate_snapshot_json(s, DEVSTATE_JSON_COMPACT, &json), DEVSTATE_OK);
    CHECK_STR(json, "[]");
    devstate_json_free(json);
    devstate_snapshot_free(s);
    devstate_recorder_free(r);
}

int main(void)
{
    test_versions();
    test_strerror();
    test_null_arguments();
    test_names();
    test_call_order();
    test_double_free();
    test_snapshot_is_a_copy();
    test_flags();
    return harness_finish("abi");
}
