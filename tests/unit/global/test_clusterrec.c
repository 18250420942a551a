/* test_clusterrec.c - the records nodes share through Redis (clusterrec.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "global/classify.h"
#include "global/clusterrec.h"
#include "fixture.h"

/* Two generations of the cluster key: NEW signs after a rotation, OLD
 * before it; OTHER belongs to another cluster. */
#define K_OLD   "2026a 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define K_NEW   "2026b ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n"
#define K_OTHER "2026a 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\n"

static struct sw_tag_keys keys_old, keys_rotated, keys_other;

/* keys - a key set from literal text */
static void
keys(const char *text, struct sw_tag_keys *k)
{
    struct sw_buf err;

    sw_buf_init(&err, 1024);
    if (!sw_tag_keys_parse(text, strlen(text), "test", k, &err))
        fail_msg("keys: %s", sw_buf_str(&err));
    sw_buf_free(&err);
}

static int
setup(void **state)
{
    (void) state;
    keys(K_OLD, &keys_old);
    keys(K_NEW K_OLD, &keys_rotated);
    keys(K_OTHER, &keys_other);
    return 0;
}

/* sign - line + "\tmac=" + HMAC as clusterrec.h describes it, computed
 * here independently of clusterrec.c */
static void
sign(const char *line, const struct sw_tag_key *k, struct sw_buf *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    struct sw_buf msg;
    size_t mdlen = 0, i;

    sw_buf_init(&msg, 2 * SW_CREC_MAX);
    assert_true(sw_buf_adds(&msg, "spillway-cluster/1|") && sw_buf_adds(&msg, line));
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->secret, k->len,
                              (const unsigned char *) msg.data, msg.len, md, sizeof(md), &mdlen));
    assert_int_equal(mdlen, 32);
    sw_buf_reset(out);
    assert_true(sw_buf_adds(out, line) && sw_buf_adds(out, "\tmac="));
    for (i = 0; i < mdlen; i++)
        assert_true(sw_buf_printf(out, "%02x", md[i]));
    sw_buf_free(&msg);
}

/* SET - a string field, the rest of it zero (records compare whole) */
#define SET(dst, src) (memset((dst), 0, sizeof(dst)), strcpy((dst), (src)))

static struct sw_crec
sample_ev(void)
{
    struct sw_crec r;

    memset(&r, 0, sizeof(r));
    r.type = SW_CREC_EVIDENCE;
    strcpy(r.node, "mta1");
    r.at = 1763812345123LL;
    r.ev.time = 1763812345;
    r.ev.source = SW_EV_DSN;
    r.ev.cls = SW_CLASS_REPUTATION;
    r.ev.trusted = true;
    r.ev.success = false;
    r.ev.code = 550;
    strcpy(r.ev.pool, "m365");
    strcpy(r.ev.relay, "m365");
    strcpy(r.ev.domain, "bigcorp.example");
    strcpy(r.ev.rcpt, "u@bigcorp.example");
    strcpy(r.ev.id, "<abc@ourorg.example>");
    strcpy(r.ev.dsn, "5.7.606");
    strcpy(r.ev.pattern, "m365-banned-ip");
    strcpy(r.ev.egress, "40.107.1.2");
    strcpy(r.ev.text, "550 5.7.606 Access denied, banned sending IP [40.107.1.2]");
    r.via_primary = true;
    return r;
}

static struct sw_crec
sample_dec(void)
{
    struct sw_crec r;

    memset(&r, 0, sizeof(r));
    r.type = SW_CREC_DECISION;
    strcpy(r.node, "mta-2.example");
    r.at = 1763812399001LL;
    strcpy(r.dec.scope, "destination:bigcorp.example");
    r.dec.state = SW_STATE_DIVERTED;
    strcpy(r.dec.relay, "alt-eu");
    r.dec.since = 1763812399;
    r.dec.until = 1763814199;
    r.dec.hold = 1800;
    strcpy(r.dec.rule, "m365-reputation");
    strcpy(r.dec.reason, "threshold crossed");
    r.dec.uid = SW_UID_NONE;
    strcpy(r.dec.event, "divert");
    strcpy(r.dec.evids, "mta1/4Xyz/u@bigcorp.example mta2/5Abc/v@bigcorp.example");
    return r;
}

static struct sw_crec
sample_relay(void)
{
    struct sw_crec r;

    memset(&r, 0, sizeof(r));
    r.type = SW_CREC_RELAY;
    strcpy(r.node, "mta1");
    r.at = 1763812400000LL;
    strcpy(r.relay, "alt-us");
    r.admin = SW_ADMIN_DRAINING;
    return r;
}

static struct sw_crec
sample_hello(void)
{
    struct sw_crec r;

    memset(&r, 0, sizeof(r));
    r.type = SW_CREC_HELLO;
    strcpy(r.node, "mta1");
    r.at = 1763812401000LL;
    r.started = 1763800000;
    strcpy(r.state, "degraded");
    r.scopes = 12;
    return r;
}

/* encode - a record that must encode */
static void
encode(const struct sw_crec *r, const struct sw_tag_keys *k, struct sw_buf *out)
{
    sw_buf_reset(out);
    if (!sw_crec_encode(r, k, out))
        fail_msg("record of type %s does not encode", sw_crec_type_name(r->type));
}

/* round_trip - encoded, the record decodes to the same struct */
static void
round_trip(const struct sw_crec *in)
{
    struct sw_crec out;
    struct sw_buf b;
    const char *why = NULL;
    enum sw_crec_status st;

    sw_buf_init(&b, SW_CREC_MAX);
    encode(in, &keys_old, &b);
    assert_null(memchr(b.data, '\n', b.len));
    assert_true(strncmp(b.data, "v=1\ttype=", 9) == 0);
    if ((st = sw_crec_decode(b.data, b.len, &keys_old, &out, &why)) != SW_CREC_OK)
        fail_msg("status %d: %s\n%s", st, why, b.data);
    assert_memory_equal(&out, in, sizeof(out));
    sw_buf_free(&b);
}

static void
test_round_trip(void **state)
{
    struct sw_crec ev = sample_ev(), dec = sample_dec(), relay = sample_relay(),
                   hello = sample_hello(), primary = sample_dec();

    (void) state;
    round_trip(&ev);
    round_trip(&dec);
    round_trip(&relay);
    round_trip(&hello);
    primary.dec.state = SW_STATE_PRIMARY;
    SET(primary.dec.relay, "");
    primary.dec.until = 0;
    SET(primary.dec.evids, "");
    primary.dec.uid = 1000;
    SET(primary.dec.scope, "pool:m365");
    SET(primary.dec.event, "release");
    round_trip(&primary);
    ev.ev.code = 0;
    SET(ev.ev.pool, "");
    SET(ev.ev.relay, "");
    SET(ev.ev.text, "");
    SET(ev.ev.egress, "");
    ev.ev.source = SW_EV_LOG;
    ev.ev.success = true;
    ev.via_primary = false;
    round_trip(&ev);
}

/* The field order on the wire, for each type. */
static void
test_field_order(void **state)
{
    struct sw_crec dec = sample_dec(), hello = sample_hello();
    struct sw_buf b;

    (void) state;
    sw_buf_init(&b, SW_CREC_MAX);
    encode(&dec, &keys_old, &b);
    assert_true(strncmp(b.data,
                        "v=1\ttype=dec\tnode=mta-2.example\tat=1763812399001\tk=2026a\t"
                        "scope=destination:bigcorp.example\tstate=diverted\trelay=alt-eu\t"
                        "since=1763812399\tuntil=1763814199\thold=1800\trule=m365-reputation\t"
                        "reason=threshold crossed\tuid=-1\tevent=divert\tevids=",
                        strlen("v=1\ttype=dec\tnode=mta-2.example\tat=1763812399001\tk=2026a\t"
                               "scope=destination:bigcorp.example\tstate=diverted\t"
                               "relay=alt-eu\tsince=1763812399\tuntil=1763814199\thold=1800\t"
                               "rule=m365-reputation\treason=threshold crossed\tuid=-1\t"
                               "event=divert\tevids="))
                == 0);
    encode(&hello, &keys_old, &b);
    assert_int_equal(b.len, strlen("v=1\ttype=hello\tnode=mta1\tat=1763812401000\tk=2026a\t"
                                   "started=1763800000\tstate=degraded\tscopes=12\tmac=")
                                + 64);
    sw_buf_free(&b);
}

/* The MAC follows the description in clusterrec.h: a line signed by
 * another implementation of it verifies. */
static void
test_mac_as_documented(void **state)
{
    struct sw_crec r;
    struct sw_buf b;
    const char *why = NULL;

    (void) state;
    sw_buf_init(&b, SW_CREC_MAX);
    sign("v=1\ttype=relay\tnode=n1\tat=5\tk=2026a\trelay=alt-eu\tadmin=disabled", &keys_old.key[0],
         &b);
    assert_int_equal(sw_crec_decode(b.data, b.len, &keys_old, &r, &why), SW_CREC_OK);
    assert_int_equal(r.type, SW_CREC_RELAY);
    assert_int_equal(r.admin, SW_ADMIN_DISABLED);
    assert_string_equal(r.relay, "alt-eu");
    assert_string_equal(r.node, "n1");
    assert_int_equal(r.at, 5);
    /* And the other way: our encoding of a record is byte for byte what
     * the documented MAC gives. */
    {
        struct sw_buf mine;
        const char *mac;

        sw_buf_init(&mine, SW_CREC_MAX);
        encode(&r, &keys_old, &mine);
        assert_non_null(mac = strstr(mine.data, "\tmac="));
        mine.data[mac - mine.data] = '\0';
        sign(mine.data, &keys_old.key[0], &b);
        mine.data[mac - mine.data] = '\t';
        assert_string_equal(mine.data, b.data);
        sw_buf_free(&mine);
    }
    sw_buf_free(&b);
}

/* Any one byte changed anywhere in a record: refused as unsigned. */
static void
test_bad_mac(void **state)
{
    struct sw_crec all[4], out;
    struct sw_buf b;
    const char *why;
    size_t t, i;
    int bit;

    (void) state;
    all[0] = sample_ev();
    all[1] = sample_dec();
    all[2] = sample_relay();
    all[3] = sample_hello();
    sw_buf_init(&b, SW_CREC_MAX);
    for (t = 0; t < 4; t++) {
        encode(&all[t], &keys_old, &b);
        for (i = 0; i < b.len; i++)
            for (bit = 0; bit < 8; bit += 7) { /* the lowest and the highest bit */
                b.data[i] ^= (char) (1 << bit);
                why = NULL;
                if (sw_crec_decode(b.data, b.len, &keys_old, &out, &why) != SW_CREC_BADSIG)
                    fail_msg("type %zu: byte %zu bit %d changed, not BADSIG (%s)", t, i, bit,
                             why ? why : "accepted");
                assert_non_null(why);
                assert_int_equal(out.type, 0);
                assert_string_equal(out.node, "");
                b.data[i] ^= (char) (1 << bit);
            }
        assert_int_equal(sw_crec_decode(b.data, b.len, &keys_old, &out, &why), SW_CREC_OK);
    }
    sw_buf_free(&b);
}

static void
test_keys(void **state)
{
    struct sw_crec r = sample_dec(), out;
    struct sw_buf b, c;
    const char *why = NULL, *mac;
    struct sw_tag_keys none;

    (void) state;
    sw_buf_init(&b, SW_CREC_MAX);
    sw_buf_init(&c, SW_CREC_MAX);
    encode(&r, &keys_old, &b);
    /* rotation: signed with the old key[0], read where it is key[1] */
    assert_int_equal(sw_crec_decode(b.data, b.len, &keys_rotated, &out, &why), SW_CREC_OK);
    assert_memory_equal(&out, &r, sizeof(r));
    /* and the rotated set signs with the new key, which the old set lacks */
    encode(&r, &keys_rotated, &c);
    assert_non_null(strstr(c.data, "\tk=2026b\t"));
    assert_int_equal(sw_crec_decode(c.data, c.len, &keys_rotated, &out, &why), SW_CREC_OK);
    assert_int_equal(sw_crec_decode(c.data, c.len, &keys_old, &out, &why), SW_CREC_BADSIG);
    assert_non_null(strstr(why, "key"));
    /* same id, another secret (another cluster) */
    assert_int_equal(sw_crec_decode(b.data, b.len, &keys_other, &out, &why), SW_CREC_BADSIG);
    assert_string_equal(why, "mac does not verify");
    /* no keys at all */
    memset(&none, 0, sizeof(none));
    assert_int_equal(sw_crec_decode(b.data, b.len, &none, &out, &why), SW_CREC_BADSIG);
    assert_int_equal(sw_crec_decode(b.data, b.len, NULL, &out, &why), SW_CREC_BADSIG);
    sw_buf_reset(&c);
    assert_false(sw_crec_encode(&r, &none, &c));
    assert_false(sw_crec_encode(&r, NULL, &c));
    assert_int_equal(c.len, 0);
    /* the mac cut off, or lost */
    mac = strstr(b.data, "\tmac=");
    assert_int_equal(sw_crec_decode(b.data, (size_t) (mac - b.data), &keys_old, &out, &why),
                     SW_CREC_BADSIG);
    assert_string_equal(why, "no mac");
    assert_int_equal(sw_crec_decode(b.data, b.len - 1, &keys_old, &out, &why), SW_CREC_BADSIG);
    assert_int_equal(sw_crec_decode(b.data, 0, &keys_old, &out, &why), SW_CREC_BADSIG);
    /* one trailing newline is allowed */
    assert_true(sw_buf_addc(&b, '\n'));
    assert_int_equal(sw_crec_decode(b.data, b.len, &keys_old, &out, &why), SW_CREC_OK);
    sw_buf_free(&b);
    sw_buf_free(&c);
}

/* Signed records whose fields are wrong: status and reason. */
#define HEAD     "v=1\ttype=dec\tnode=mta1\tat=1763812399001\tk=2026a\t"
#define DEC_TAIL "\tsince=1\thold=0\tuid=-1\tevent=pin"
#define DEC(x)   HEAD "scope=destination:x.example\tstate=pinned\trelay=alt-eu" DEC_TAIL x
#define EV(x)                                                                      \
    "v=1\ttype=ev\tnode=mta1\tat=1\tk=2026a\ttime=1\tsource=log\tdomain=x.example" \
    "\tclass=reputation\ttrusted=1\tsuccess=0\tvia_primary=0" x
#define S8   "abcdefgh"
#define S64  S8 S8 S8 S8 S8 S8 S8 S8
#define S400 S64 S64 S64 S64 S64 S64 S8 S8
#define L63  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

static const struct {
    const char *line;
    enum sw_crec_status st;
    const char *why; /* a word of the reason; NULL: accepted */
} rows[] = {
    /* the envelope */
    { "v=2\ttype=dec\tnode=mta1\tat=1\tk=2026a", SW_CREC_VERSION_UNKNOWN, "version" },
    { "v=0\ttype=dec\tnode=mta1\tat=1\tk=2026a", SW_CREC_VERSION_UNKNOWN, "version" },
    { "type=dec\tnode=mta1\tat=1\tk=2026a", SW_CREC_MALFORMED, "version" },
    { "v=x\ttype=dec\tnode=mta1\tat=1\tk=2026a", SW_CREC_MALFORMED, "version" },
    { "v=1\ttype=spam\tnode=mta1\tat=1\tk=2026a", SW_CREC_MALFORMED, "type" },
    { "v=1\ttype=hello\tat=1\tk=2026a\tstarted=1\tstate=ok\tscopes=0", SW_CREC_MALFORMED, "node" },
    { "v=1\ttype=hello\tnode=" S64 "\tat=1\tk=2026a\tstarted=1\tstate=ok\tscopes=0", SW_CREC_OK,
      NULL },
    { "v=1\ttype=hello\tnode=" S64 "x\tat=1\tk=2026a\tstarted=1\tstate=ok\tscopes=0",
      SW_CREC_MALFORMED, "node" },
    { "v=1\ttype=hello\tnode=mta 1\tat=1\tk=2026a\tstarted=1\tstate=ok\tscopes=0",
      SW_CREC_MALFORMED, "node" },
    { "v=1\ttype=hello\tnode=mta1\tat=0\tk=2026a\tstarted=1\tstate=ok\tscopes=0", SW_CREC_MALFORMED,
      "at" },
    { "v=1\ttype=hello\tnode=mta1\tat=-5\tk=2026a\tstarted=1\tstate=ok\tscopes=0",
      SW_CREC_MALFORMED, "at" },
    { "v=1\ttype=hello\tnode=mta1\tat=7258118400001\tk=2026a\tstarted=1\tstate=ok\tscopes=0",
      SW_CREC_MALFORMED, "at" },
    { "k=2026a\tv=1\ttype=hello\tnode=mta1\tat=1\tk=2026b\tstarted=1\tstate=ok\tscopes=0",
      SW_CREC_BADSIG, "key" },
    { "k=2026b\tv=1\ttype=hello\tnode=mta1\tat=1\tk=2026a\tstarted=1\tstate=ok\tscopes=0",
      SW_CREC_MALFORMED, "k=" },
    { "v=1\ttype=hello\tnode=mta1\tat=1\tk=2026a\tstarted=1\tstate=fine\tscopes=0",
      SW_CREC_MALFORMED, "state" },
    { "v=1\ttype=hello\tnode=mta1\tat=1\tk=2026a\tstarted=1\tstate=ok\tscopes=-1",
      SW_CREC_MALFORMED, "scopes" },
    { "v=1\ttype=hello\tnode=mta1\tat=1\tk=2026a\tstarted=7258118401\tstate=ok\tscopes=1",
      SW_CREC_MALFORMED, "started" },
    { "v=1\ttype=relay\tnode=mta1\tat=1\tk=2026a\trelay=alt-eu\tadmin=off", SW_CREC_MALFORMED,
      "admin" },
    { "v=1\ttype=relay\tnode=mta1\tat=1\tk=2026a\trelay=" S64 "\tadmin=enabled", SW_CREC_OK, NULL },
    { "v=1\ttype=relay\tnode=mta1\tat=1\tk=2026a\trelay=" S64 "x\tadmin=enabled", SW_CREC_MALFORMED,
      "relay" },
    { "v=1\ttype=relay\tnode=mta1\tat=1\tk=2026a\trelay=alt/eu\tadmin=enabled", SW_CREC_MALFORMED,
      "relay" },
    { "v=1\ttype=relay\tnode=mta1\tat=1\tk=2026a\tre\\lay=x", SW_CREC_MALFORMED,
      "key" }, /* kv.h refuses it, after the MAC */
    /* decisions */
    { DEC(""), SW_CREC_OK, NULL },
    { HEAD "scope=destination:" L63 "." L63 "." L63 "." L63 "\tstate=pinned\trelay=alt-eu" DEC_TAIL,
      SW_CREC_MALFORMED, "scope" }, /* 255 bytes of domain */
    { HEAD "scope=destination:" L63 "." L63 "." L63 ".abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"
           "rstuvwxyzabcdefghi\tstate=pinned\trelay=alt-eu" DEC_TAIL,
      SW_CREC_OK, NULL }, /* 253 */
    { HEAD "scope=destination:X.example\tstate=pinned\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED,
      "scope" },
    { HEAD "scope=destination:x.example.\tstate=pinned\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED,
      "scope" },
    { HEAD "scope=destination:x..example\tstate=pinned\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED,
      "scope" },
    { HEAD "scope=x.example\tstate=pinned\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED, "scope" },
    { HEAD "scope=relay:alt-eu\tstate=pinned\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED, "scope" },
    { HEAD "scope=pool:\tstate=pinned\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED, "scope" },
    { HEAD "scope=pool:" S64 "\tstate=pinned\trelay=alt-eu" DEC_TAIL, SW_CREC_OK, NULL },
    { HEAD "scope=pool:" S64 "x\tstate=pinned\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED, "scope" },
    { HEAD "scope=pool:m 365\tstate=pinned\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED, "scope" },
    { HEAD "scope=destination:x.example\tstate=gone\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED,
      "state" },
    { HEAD "scope=destination:x.example\tstate=pinned" DEC_TAIL, SW_CREC_MALFORMED, "relay" },
    { HEAD "scope=destination:x.example\tstate=primary\trelay=alt-eu" DEC_TAIL, SW_CREC_MALFORMED,
      "relay" },
    { HEAD "scope=destination:x.example\tstate=primary" DEC_TAIL, SW_CREC_OK, NULL },
    { HEAD "scope=destination:x.example\tstate=pinned\trelay=" S64 "x" DEC_TAIL, SW_CREC_MALFORMED,
      "relay" },
    { DEC("\treason=" S400), SW_CREC_OK, NULL },
    { DEC("\treason=" S400 "x"), SW_CREC_MALFORMED, "reason" },
    { DEC("\tuntil=-1"), SW_CREC_MALFORMED, "until" },
    { DEC("\tuntil=7258118400"), SW_CREC_OK, NULL },
    { DEC("\tuntil=7258118401"), SW_CREC_MALFORMED, "until" },
    { HEAD "scope=destination:x.example\tstate=pinned\trelay=alt-eu\tsince=-1\thold=0\tuid=-1"
           "\tevent=pin",
      SW_CREC_MALFORMED, "since" },
    { HEAD "scope=destination:x.example\tstate=pinned\trelay=alt-eu\tsince=1\thold=1e3\tuid=-1"
           "\tevent=pin",
      SW_CREC_MALFORMED, "hold" },
    { HEAD "scope=destination:x.example\tstate=pinned\trelay=alt-eu\tsince=1\thold=0\tuid=-2"
           "\tevent=pin",
      SW_CREC_MALFORMED, "uid" },
    { HEAD "scope=destination:x.example\tstate=pinned\trelay=alt-eu\tsince=1\thold=0\tuid=+5"
           "\tevent=pin",
      SW_CREC_MALFORMED, "uid" },
    { HEAD "scope=destination:x.example\tstate=pinned\trelay=alt-eu\tsince=1\thold=0\tuid=0"
           "\tevent=Pin",
      SW_CREC_MALFORMED, "event" },
    { HEAD "scope=destination:x.example\tstate=pinned\trelay=alt-eu\tsince=1\thold=0\tuid=0"
           "\tevent=abcdefghijklmnop",
      SW_CREC_MALFORMED, "event" },
    { DEC("\trule=a b"), SW_CREC_MALFORMED, "rule" },
    { DEC("\tevids=a b c d e"), SW_CREC_OK, NULL },
    { DEC("\tevids=a b c d e f"), SW_CREC_MALFORMED, "evids" },
    { DEC("\tevids=a  b"), SW_CREC_MALFORMED, "evids" },
    { DEC("\tevids=a\\tb"), SW_CREC_MALFORMED, "evids" },
    /* evidence */
    { EV(""), SW_CREC_OK, NULL },
    { EV("\tpool=m 365"), SW_CREC_MALFORMED, "pool" },
    { EV("\trelay=" S64 "x"), SW_CREC_MALFORMED, "relay" },
    { EV("\tpattern=a:b"), SW_CREC_MALFORMED, "pattern" },
    { EV("\tcode=600"), SW_CREC_MALFORMED, "code" },
    { EV("\trcpt=a\\nb"), SW_CREC_MALFORMED, "rcpt" },
    { EV("\tegress=40.107.1"), SW_CREC_MALFORMED, "egress" },
    { "v=1\ttype=ev\tnode=mta1\tat=1\tk=2026a\ttime=1\tsource=log\tdomain=x.example"
      "\tclass=reputation\ttrusted=1\tsuccess=0",
      SW_CREC_MALFORMED, "via_primary" },
    { "v=1\ttype=ev\tnode=mta1\tat=1\tk=2026a\ttime=1\tsource=mail\tdomain=x.example"
      "\tclass=reputation\ttrusted=1\tsuccess=0\tvia_primary=0",
      SW_CREC_MALFORMED, "source" },
    { "v=1\ttype=ev\tnode=mta1\tat=1\tk=2026a\ttime=1\tsource=log\tdomain=x.example"
      "\tclass=spam\ttrusted=1\tsuccess=0\tvia_primary=0",
      SW_CREC_MALFORMED, "class" },
};

static void
test_fields(void **state)
{
    struct sw_crec r, again;
    struct sw_buf b, c;
    enum sw_crec_status st;
    const char *why;
    size_t i;

    (void) state;
    sw_buf_init(&b, 2 * SW_CREC_MAX);
    sw_buf_init(&c, SW_CREC_MAX);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sign(rows[i].line, &keys_old.key[0], &b);
        why = NULL;
        st = sw_crec_decode(b.data, b.len, &keys_old, &r, &why);
        if (st != rows[i].st)
            fail_msg("row %zu: status %d, want %d (%s)", i, st, rows[i].st, why ? why : "");
        if (rows[i].why == NULL) {
            /* accepted: it encodes back, and that decodes the same */
            encode(&r, &keys_old, &c);
            assert_int_equal(sw_crec_decode(c.data, c.len, &keys_old, &again, &why), SW_CREC_OK);
            assert_memory_equal(&r, &again, sizeof(r));
        } else if (why == NULL || strstr(why, rows[i].why) == NULL) {
            fail_msg("row %zu: reason \"%s\" lacks \"%s\"", i, why ? why : "(none)", rows[i].why);
        }
    }
    sw_buf_free(&b);
    sw_buf_free(&c);
}

/* What does not fit is not written; what is too long is not read. */
static void
test_bounds(void **state)
{
    struct sw_crec r = sample_dec(), out;
    struct sw_buf b;
    const char *why = NULL;
    char big[SW_CREC_MAX + 64];

    (void) state;
    sw_buf_init(&b, 2 * SW_CREC_MAX);
    /* a record at most SW_CREC_MAX long, not one byte more */
    memset(big, 'a', sizeof(big));
    assert_int_equal(sw_crec_decode(big, SW_CREC_MAX + 1, &keys_old, &out, &why),
                     SW_CREC_MALFORMED);
    assert_string_equal(why, "record too long");
    /* a node name of the longest length is written; fields out of
     * bounds are not */
    memset(r.node, 'n', SW_CREC_NODE_MAX);
    r.node[SW_CREC_NODE_MAX] = '\0';
    encode(&r, &keys_old, &b);
    assert_false(sw_crec_node_valid("bad node"));
    assert_false(sw_crec_node_valid(""));
    r = sample_dec();
    strcpy(r.dec.relay, "no way");
    sw_buf_reset(&b);
    assert_false(sw_crec_encode(&r, &keys_old, &b));
    assert_int_equal(b.len, 0);
    r = sample_dec();
    strcpy(r.dec.scope, "destination:Bigcorp.example");
    assert_false(sw_crec_encode(&r, &keys_old, &b));
    r = sample_dec();
    memset(r.dec.reason, 'r', SW_REASON_MAX);
    assert_true(sw_crec_encode(&r, &keys_old, &b));
    /* evidence text near its bound, with the rest as long as allowed:
     * still fits in one record */
    r = sample_ev();
    memset(r.ev.text, 'x', SW_EV_TEXT_MAX);
    memset(r.ev.rcpt, 'y', sizeof(r.ev.rcpt) - 1);
    memset(r.ev.domain, 'z', sizeof(r.ev.domain) - 1);
    encode(&r, &keys_old, &b);
    assert_true(b.len <= SW_CREC_MAX);
    /* something appended to a buffer keeps what was there */
    sw_buf_reset(&b);
    assert_true(sw_buf_adds(&b, "before\n"));
    r = sample_dec();
    strcpy(r.dec.relay, "no way");
    assert_false(sw_crec_encode(&r, &keys_old, &b));
    assert_string_equal(b.data, "before\n");
    r = sample_dec();
    assert_true(sw_crec_encode(&r, &keys_old, &b));
    assert_int_equal(sw_crec_decode(b.data + 7, b.len - 7, &keys_old, &out, &why), SW_CREC_OK);
    sw_buf_free(&b);
}

/* An operator's reason is free text: tabs, newlines, backslashes and a
 * fake "\tmac=" survive the trip; the line stays one line. */
static void
test_reason_escaped(void **state)
{
    struct sw_crec r = sample_dec(), out;
    struct sw_buf b;
    const char *why = NULL, *p;
    size_t tabs = 0;

    (void) state;
    strcpy(r.dec.reason, "line one\nline two\tcol\\n \x01 mac=00\tmac=ff\r");
    sw_buf_init(&b, SW_CREC_MAX);
    encode(&r, &keys_old, &b);
    assert_null(memchr(b.data, '\n', b.len));
    assert_null(memchr(b.data, '\r', b.len));
    for (p = b.data; *p; p++)
        tabs += *p == '\t';
    assert_int_equal(tabs, 16); /* 17 fields, one tab between each */
    assert_int_equal(sw_crec_decode(b.data, b.len, &keys_old, &out, &why), SW_CREC_OK);
    assert_string_equal(out.dec.reason, r.dec.reason);
    assert_memory_equal(&out, &r, sizeof(r));
    /* a provider's text is cut and its control bytes become spaces */
    r = sample_ev();
    strcpy(r.ev.text, "550\tno\nway");
    encode(&r, &keys_old, &b);
    assert_int_equal(sw_crec_decode(b.data, b.len, &keys_old, &out, &why), SW_CREC_OK);
    assert_string_equal(out.ev.text, "550 no way");
    sw_buf_free(&b);
}

/* Against this node's configuration (fixture.h: pool m365, relays m365,
 * alt-eu, alt-eu2, alt-us, alt-uk). */
static void
test_check(void **state)
{
    struct sw_conf *conf = fx_load(FX_CONF_TEXT);
    struct sw_crec r;
    const char *why = NULL;

    (void) state;
    r = sample_dec();
    assert_true(sw_crec_check(&r, conf, &why));
    strcpy(r.dec.relay, "alt-mars");
    assert_false(sw_crec_check(&r, conf, &why));
    assert_non_null(strstr(why, "relay"));
    r = sample_dec();
    strcpy(r.dec.scope, "pool:m365");
    assert_true(sw_crec_check(&r, conf, &why));
    strcpy(r.dec.scope, "pool:gmail");
    assert_false(sw_crec_check(&r, conf, &why));
    assert_non_null(strstr(why, "pool"));
    r = sample_dec();
    r.dec.state = SW_STATE_PRIMARY;
    r.dec.relay[0] = '\0';
    assert_true(sw_crec_check(&r, conf, &why));
    r = sample_ev();
    assert_true(sw_crec_check(&r, conf, &why));
    strcpy(r.ev.pool, "gmail");
    assert_false(sw_crec_check(&r, conf, &why));
    r = sample_ev();
    strcpy(r.ev.relay, "alt-mars");
    assert_false(sw_crec_check(&r, conf, &why));
    r.ev.relay[0] = r.ev.pool[0] = '\0';
    assert_true(sw_crec_check(&r, conf, &why));
    r = sample_relay();
    assert_true(sw_crec_check(&r, conf, &why));
    strcpy(r.relay, "alt-mars");
    assert_false(sw_crec_check(&r, conf, &why));
    r = sample_hello();
    assert_true(sw_crec_check(&r, conf, &why));
    sw_conf_free(conf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_field_order),
        cmocka_unit_test(test_mac_as_documented),
        cmocka_unit_test(test_bad_mac),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_reason_escaped),
        cmocka_unit_test(test_check),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
