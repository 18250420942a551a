/* fuzz_tag.c - fuzz target: a returned X-Spillway-Tag and Message-ID, and a key file */

/*
 * The input is split at its first newline: the tag value a bounce
 * returned, then the returned Message-ID (both come from whoever sent the
 * bounce).  Verification must answer one of its states without reading
 * out of bounds; a tag it calls valid or expired must have the canonical
 * form of one sw_tag_make() would write for that time and Message-ID, or
 * for no Message-ID (nobody forges a MAC by fuzzing: the seeds carry
 * genuine ones, and their variants must stay invalid).  The whole input is
 * also read as a key file.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/tag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* made_form - the canonical form of the tag sw_tag_make() writes */
static void
made_form(const struct sw_tag_keys *keys, long long t, const char *mid, char *canon)
{
    char made[SW_TAG_MAX + 1];

    canon[0] = '\0';
    if (sw_tag_make(keys, (time_t) t, mid, made, sizeof(made)))
        (void) sw_tag_check(keys, made, mid, (time_t) t, 0, canon);
}

#define FZ_KEYS "k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define FZ_NOW  1795354257L

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sw_tag_keys keys;
    struct sw_tag_keys parsed;
    char tag[SW_TAG_MAX * 4], mid[1024], canon[SW_TAG_CANON_MAX], want[SW_TAG_CANON_MAX];
    const char *nl = memchr(data, '\n', size);
    size_t tn = nl ? (size_t) (nl - (const char *) data) : size, mn;
    enum sw_tag_state st;
    struct sw_buf err;

    if (keys.n == 0) {
        sw_buf_init(&err, 1024);
        if (!sw_tag_keys_parse(FZ_KEYS, strlen(FZ_KEYS), "keys", &keys, &err))
            abort();
        sw_buf_free(&err);
    }
    mn = nl ? size - tn - 1 : 0;
    if (tn >= sizeof(tag))
        tn = sizeof(tag) - 1;
    memcpy(tag, data, tn);
    tag[tn] = '\0';
    if (mn >= sizeof(mid))
        mn = sizeof(mid) - 1;
    memcpy(mid, nl ? nl + 1 : "", mn);
    mid[mn] = '\0';
    st = sw_tag_check(&keys, tag, mid, FZ_NOW, 7 * 86400, canon);
    if (st != SW_TAG_ABSENT && st != SW_TAG_VALID && st != SW_TAG_EXPIRED && st != SW_TAG_INVALID)
        abort();
    if ((st == SW_TAG_ABSENT) != (tag[0] == '\0'))
        abort();
    if ((st == SW_TAG_VALID || st == SW_TAG_EXPIRED) != (canon[0] != '\0'))
        abort(); /* a form exactly for the tags that verify */
    if (canon[0]) {
        const char *tp = strstr(canon, " t=");
        long long t = tp ? strtoll(tp + 3, NULL, 10) : 0;

        made_form(&keys, t, mid, want);
        if (strcmp(canon, want) != 0) {
            made_form(&keys, t, "", want);
            if (strcmp(canon, want) != 0)
                abort();
        }
    }
    if (sw_tag_verify(&keys, tag, mid, FZ_NOW, 7 * 86400) != st)
        abort();
    sw_buf_init(&err, 4096);
    if (!sw_tag_keys_parse((const char *) data, size, "fuzz", &parsed, &err) && err.len == 0)
        abort(); /* a refusal names its reason */
    sw_buf_free(&err);
    return 0;
}
