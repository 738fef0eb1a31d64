/* SPDX-License-Identifier: MIT */
/*
 * JSON round trips: every name is serialized by the library (json-c), parsed back with
 * json-c and compared entry by entry with what was recorded.
 */
#include <stdlib.h>

#include <json-c/json.h>

#include <devstate/devstate.h>

#include "harness.h"

typedef struct case_ {
    const char *recorded;
    const char *expected; /* what the JSON string must hold after parsing */
    uint32_t instance_id;
    uint64_t save_time;
} case_;

#define FFFD "\xef\xbf\xbd"

static const case_ cases[] = {
    {"quote\"inside\"", "quote\"inside\"", 0, 1},
    {"back\\slash\\", "back\\slash\\", 1, 2},
    {"ctl\x01\x02\t\n\r\x1f\x7f" "end", "ctl\x01\x02\t\n\r\x1f\x7f" "end", 2, 3},
    {"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80", 3, 4},
    {"0000:00:01.1/ide", "0000:00:01.1/ide", 0, UINT64_MAX},
    /* Invalid UTF-8: each maximal invalid subsequence becomes U+FFFD, as QMP writes it. */
    {"\xff", FFFD, 4, UINT64_MAX - 1},
    {"ok\xc3", "ok" FFFD, 5, 9007199254740993ULL},
    {"\xc0\xaf" "overlong", FFFD FFFD "overlong", 6, 5},
    {"\xed\xa0\x80" "surrogate", FFFD FFFD FFFD "surrogate", 7, 6},
    {"cut\xe6\x97" "x", "cut" FFFD "x", UINT32_MAX, 7},
    {"after-invalid", "after-invalid", 8, 8},
};
#define CASE_COUNT (sizeof(cases) / sizeof(cases[0]))

/* Strict UTF-8 check of the whole document. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        size_t k;

        if (len == 0 || i + len > n || (len == 2 && c < 0xc2)) {
            return 0;
        }
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }
        }
        i += len;
    }
    return 1;
}

static void check_document(const char *text, const char *longest)
{
    json_object *root = json_tokener_parse(text);
    json_object *value;
    size_t i;

    CHECK(valid_utf8((const unsigned char *)text, strlen(text)));
    CHECK(root != NULL);
    if (!root) {
        return;
    }
    CHECK_INT(json_object_array_length(root), CASE_COUNT + 1);
    for (i = 0; i < CASE_COUNT; i++) {
        json_object *entry = json_object_array_get_idx(root, i);
        const char *name;

        CHECK(json_object_object_get_ex(entry, "name", &value));
        name = json_object_get_string(value);
        CHECK_INT(json_object_get_string_len(value), strlen(cases[i].expected));
        CHECK(memcmp(name, cases[i].expected, strlen(cases[i].expected)) == 0);
        CHECK(json_object_object_get_ex(entry, "instance-id", &value));
        CHECK_INT(json_object_get_int64(value), cases[i].instance_id);
        CHECK(json_object_object_get_ex(entry, "save-time", &value));
        CHECK(json_object_get_uint64(value) == cases[i].save_time);
        CHECK(!json_object_object_get_ex(entry, "handler", &value));
        CHECK_INT(json_object_object_length(entry), 3);
    }
    value = json_object_array_get_idx(root, CASE_COUNT);
    CHECK(json_object_object_get_ex(value, "name", &value));
    CHECK_STR(json_object_get_string(value), longest);
    json_object_put(root);
}

int main(void)
{
    devstate_recorder *r = NULL;
    devstate_snapshot *s = NULL;
    char longest[DEVSTATE_NAME_MAX + 1];
    char *compact = NULL;
    char *pretty = NULL;
    size_t i;

    for (i = 0; i < DEVSTATE_NAME_MAX; i++) {
        longest[i] = (char)('a' + i % 26);
    }
    longest[DEVSTATE_NAME_MAX] = '\0';

    devstate_recorder_new(&r);
    devstate_run_begin(r);
    for (i = 0; i < CASE_COUNT; i++) {
        CHECK_INT(devstate_record(r, cases[i].recorded, cases[i].instance_id, cases[i].save_time, 0),
                  DEVSTATE_OK);
    }
    CHECK_INT(devstate_record(r, longest, 9, 10, 0), DEVSTATE_OK);
    devstate_run_end(r);
    CHECK_INT(devstate_snapshot_take(r, &s), DEVSTATE_OK);

    CHECK_INT(devstate_snapshot_json(s, DEVSTATE_JSON_COMPACT, &compact), DEVSTATE_OK);
    CHECK_INT(devstate_snapshot_json(s, DEVSTATE_JSON_PRETTY, &pretty), DEVSTATE_OK);
    CHECK(strchr(compact, '\n') == NULL);
    CHECK(strchr(pretty, '\n') != NULL);
    CHECK(strstr(compact, "\"0000:00:01.1/ide\"") != NULL); /* "/" is not escaped */
    CHECK(strstr(compact, "\"save-time\":18446744073709551615") != NULL);
    check_document(compact, longest);
    check_document(pretty, longest);

    /* The recorded bytes are kept as given; only the JSON repairs them. */
    {
        devstate_entry entry;
        CHECK_INT(devstate_snapshot_entry(s, 5, &entry), DEVSTATE_OK);
        CHECK_STR(entry.name, "\xff");
    }
    devstate_json_free(compact);
    devstate_json_free(pretty);
    devstate_snapshot_free(s);
    devstate_recorder_free(r);
    return harness_finish("json");
}
