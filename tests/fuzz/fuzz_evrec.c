/* fuzz_evrec.c - fuzz target: one evidence datagram as spillway-routed receives it */

/*
 * A record that parses must have a domain, a known class and source, and
 * fields without control characters; written back with sw_evrec_encode
 * and parsed again it must give the same record.  A refusal must say why.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/evrec.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
no_controls(const char *s)
{
    if (!fz_plain(s, false))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sw_evrec r, again;
    const char *why = NULL;
    struct sw_buf b;

    if (!sw_evrec_parse((const char *) data, size, &r, &why)) {
        if (why == NULL || *why == '\0')
            abort();
        return 0;
    }
    if (r.ev.domain[0] == '\0' || r.ev.time <= 0)
        abort();
    no_controls(r.ev.domain);
    no_controls(r.ev.rcpt);
    no_controls(r.ev.text);
    no_controls(r.ev.pool);
    no_controls(r.tag);
    sw_buf_init(&b, 2 * SW_EVREC_MAX);
    if (sw_evrec_encode(&r, &b)) {
        if (!sw_evrec_parse(b.data, b.len, &again, &why))
            abort();
        if (again.ev.time != r.ev.time || again.ev.cls != r.ev.cls
            || again.ev.trusted != r.ev.trusted || strcmp(again.ev.domain, r.ev.domain) != 0
            || strcmp(again.ev.text, r.ev.text) != 0 || strcmp(again.ev.id, r.ev.id) != 0
            || strcmp(again.ev.rcpt, r.ev.rcpt) != 0 || strcmp(again.ev.pool, r.ev.pool) != 0)
            abort();
    }
    sw_buf_free(&b);
    return 0;
}
