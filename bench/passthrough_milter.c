/* passthrough_milter - a milter that does nothing, at full protocol cost
 *
 * The baseline "what users would otherwise run" for bench/run-intake.sh: it
 * registers every callback, asks the MTA for every protocol step with a
 * reply to each (no SMFIP_NO* or SMFIP_NR_* flags, no SMFIS_SKIP), and
 * answers SMFIS_CONTINUE everywhere.  It counts the messages it saw to the
 * end (eom) and prints the count to stderr when libmilter stops (SIGTERM).
 *
 * With -m it is the opposite, the cheapest milter that adds a header: only
 * eom is registered (libmilter then asks the MTA to skip every other step)
 * and it adds "X-Bench-Minimal: 1".  That is the floor for any libmilter
 * milter that tags mail, spillway-milter included.
 *
 * Usage: passthrough_milter [-m] unix:/path/sock | inet:PORT@127.0.0.1
 * Build: make -C bench passthrough_milter (needs libmilter-dev)
 */
#include <libmilter/mfapi.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static atomic_ulong eom_count;

/* pt_conn, pt_str, ... - every step: do nothing, go on */
static sfsistat
pt_conn(SMFICTX *c, char *h, _SOCK_ADDR *a)
{
    (void) c;
    (void) h;
    (void) a;
    return SMFIS_CONTINUE;
}
static sfsistat
pt_str(SMFICTX *c, char *s)
{
    (void) c;
    (void) s;
    return SMFIS_CONTINUE;
}
static sfsistat
pt_argv(SMFICTX *c, char **v)
{
    (void) c;
    (void) v;
    return SMFIS_CONTINUE;
}
static sfsistat
pt_hdr(SMFICTX *c, char *f, char *v)
{
    (void) c;
    (void) f;
    (void) v;
    return SMFIS_CONTINUE;
}
static sfsistat
pt_ctx(SMFICTX *c)
{
    (void) c;
    return SMFIS_CONTINUE;
}
static sfsistat
pt_body(SMFICTX *c, unsigned char *b, size_t n)
{
    (void) c;
    (void) b;
    (void) n;
    return SMFIS_CONTINUE;
}
static sfsistat
pt_eom(SMFICTX *c)
{
    (void) c;
    atomic_fetch_add(&eom_count, 1);
    return SMFIS_CONTINUE;
}
/* pt_eom_tag - the -m milter's only step */
static sfsistat
pt_eom_tag(SMFICTX *c)
{
    atomic_fetch_add(&eom_count, 1);
    (void) smfi_addheader(c, "X-Bench-Minimal", "1");
    return SMFIS_CONTINUE;
}
static sfsistat
pt_unknown(SMFICTX *c, const char *s)
{
    (void) c;
    (void) s;
    return SMFIS_CONTINUE;
}

/* pt_negotiate - the actions a header-adding milter asks for; every step, each with a reply */
static sfsistat
pt_negotiate(SMFICTX *c, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
             unsigned long *p0, unsigned long *p1, unsigned long *p2, unsigned long *p3)
{
    (void) c;
    (void) f1;
    (void) f2;
    (void) f3;
    *p0 = f0 & SMFIF_ADDHDRS;
    *p1 = 0;
    *p2 = 0;
    *p3 = 0;
    return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
    .xxfi_name = "passthrough",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS,
    .xxfi_connect = pt_conn,
    .xxfi_helo = pt_str,
    .xxfi_envfrom = pt_argv,
    .xxfi_envrcpt = pt_argv,
    .xxfi_header = pt_hdr,
    .xxfi_eoh = pt_ctx,
    .xxfi_body = pt_body,
    .xxfi_eom = pt_eom,
    .xxfi_abort = pt_ctx,
    .xxfi_close = pt_ctx,
    .xxfi_unknown = pt_unknown,
    .xxfi_data = pt_ctx,
    .xxfi_negotiate = pt_negotiate,
};
static struct smfiDesc minimal = {
    .xxfi_name = "minimal",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS,
    .xxfi_eom = pt_eom_tag,
};

int
main(int argc, char **argv)
{
    bool min = argc == 3 && strcmp(argv[1], "-m") == 0;
    char *spec = argv[argc - 1];
    int rc;

    if (argc != 2 && !min) {
        fprintf(stderr, "usage: passthrough_milter [-m] unix:/path | inet:PORT@127.0.0.1\n");
        return 2;
    }
    if (smfi_setconn(spec) != MI_SUCCESS || smfi_register(min ? minimal : desc) != MI_SUCCESS
        || smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "passthrough_milter: cannot listen on %s\n", spec);
        return 1;
    }
    fprintf(stderr, "passthrough_milter: %s, listening on %s\n", min ? "minimal" : "all steps",
            spec);
    rc = smfi_main();
    fprintf(stderr, "passthrough_milter: stopped; messages=%lu\n", atomic_load(&eom_count));
    return rc == MI_SUCCESS ? 0 : 1;
}
