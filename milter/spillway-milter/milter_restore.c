/* milter_restore.c - spillway-milter --restore: delivery agent for return-path addresses */

/*
 * The safety net behind the milter's restore (milter_rpath.c).  A message
 * still addressed to a return-path address when the MTA delivers it was
 * not restored by the milter: the milter was down when the report came
 * (default_action=accept let it in), or the MTA wrote the report itself
 * (Postfix's and Sendmail's own bounces pass no milter).  The MTA routes
 * the return-path domains to this program (Postfix: a pipe(8) transport;
 * Sendmail: a prog mailer), which checks the address with the tag keys and
 * hands the message, unread, to the MTA's sendmail(1) for the sender it
 * names, with the same envelope sender.
 *
 *   spillway-milter --restore [-c FILE] SENDER RECIPIENT [-- COMMAND ARG...]
 *
 * SENDER is the message's envelope sender ("", "<>" or MAILER-DAEMON for
 * the null sender: Sendmail gives its own reports that sender); COMMAND
 * (an absolute path; default /usr/sbin/sendmail) gets "-i -f SENDER --
 * ORIGINAL" appended and the message on its standard input.  Exit codes
 * are sysexits(3), which both MTAs read: EX_OK, handed on; EX_NOUSER, an
 * address that does not verify or has expired (the MTA returns the
 * message; a report to a report goes to the postmaster); EX_TEMPFAIL, the
 * configuration or the keys cannot be read, COMMAND cannot run, or the
 * address is not one this configuration makes (return_path off, another
 * domain, postmaster@): a routing mistake keeps the mail queued for the
 * administrator rather than returning it; EX_USAGE.  One log line says
 * what was done.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "global/rpath.h"
#include "util/log.h"
#include "milter.h"

#define SW_DEF_SENDMAIL "/usr/sbin/sendmail"
#define RESTORE_ARGS_MAX 32

/* fail - one reason, to syslog and to standard error (which the MTA
 * quotes in its report or log); returns code */
static int __attribute__((format(printf, 2, 3)))
fail(int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (code == EX_NOUSER)
        sw_info("restore: %s", msg);
    else
        sw_error("restore: %s", msg);
    fprintf(stderr, "spillway-milter: %s\n", msg);
    return code;
}

static int
restore_usage(void)
{
    fprintf(stderr, "usage: spillway-milter --restore [-c FILE] SENDER RECIPIENT "
                    "[-- COMMAND ARG...]\n");
    return EX_USAGE;
}

/* judge - the original sender of rcpt into to; EX_OK or the exit status */
static int
judge(const char *conf_path, const char *rcpt, char *to, size_t size)
{
    struct sw_rpath_check chk;
    struct milter_gen *g;
    struct sw_buf err;

    sw_buf_init(&err, 16384);
    if ((g = milter_gen_load(conf_path, &err)) == NULL) {
        (void) fail(EX_TEMPFAIL, "rcpt=%.320s: %s: the MTA tries again later", rcpt,
                    sw_buf_str(&err));
        sw_buf_free(&err);
        return EX_TEMPFAIL;
    }
    sw_buf_free(&err);
    sw_log_set_facility(g->conf->log_facility);
    sw_rpath_check(&g->conf->milter.rp, &g->keys, rcpt, time(NULL), &chk);
    milter_gen_put(g);
    if (chk.state == SW_RPATH_NOT_OURS || chk.state == SW_RPATH_EXEMPT)
        return fail(EX_TEMPFAIL,
                    "rcpt=%.320s state=%s: not a return-path address of %s: check the MTA's "
                    "route to this agent; the MTA tries again later",
                    rcpt, sw_rpath_state_name(chk.state), conf_path);
    if (chk.state != SW_RPATH_VALID)
        return fail(EX_NOUSER, "rcpt=%.320s state=%s: returned to the MTA: %s return-path address",
                    rcpt, sw_rpath_state_name(chk.state),
                    chk.state == SW_RPATH_EXPIRED ? "an expired" : "not a valid");
    (void) snprintf(to, size, "%s", chk.sender);
    return EX_OK;
}

/* milter_restore - argv: "--restore" [-c FILE] SENDER RCPT [-- COMMAND ARG...] */
int
milter_restore(const char *conf_path, int argc, char **argv)
{
    char *cmd[RESTORE_ARGS_MAX + 8], to[SW_RPATH_ADDR_MAX];
    const char *sender, *rcpt;
    int i = 1, n = 0, rc;

    sw_log_open("spillway-milter", false, false);
    if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
        conf_path = argv[i + 1];
        i += 2;
    }
    if (argc - i < 2)
        return restore_usage();
    sender = argv[i];
    rcpt = argv[i + 1];
    i += 2;
    /* Postfix's pipe gives every recipient of a delivery at once: a usage
     * error would return the message. */
    if (i < argc && strcmp(argv[i], "--") != 0)
        return fail(EX_TEMPFAIL, "one recipient per delivery: set "
                                 "spillway-rp_destination_recipient_limit = 1 (Postfix); the "
                                 "MTA tries again later");
    if (i < argc)
        i++; /* "--" */
    if (argc - i > RESTORE_ARGS_MAX)
        return restore_usage();
    while (i < argc)
        cmd[n++] = argv[i++];
    if (n == 0)
        cmd[n++] = SW_DEF_SENDMAIL;
    if (strcmp(sender, "<>") == 0 || strcasecmp(sender, "MAILER-DAEMON") == 0
        || strncasecmp(sender, "MAILER-DAEMON@", 14) == 0)
        sender = "";
    if ((rc = judge(conf_path, rcpt, to, sizeof(to))) != EX_OK)
        return rc;
    cmd[n++] = "-i";
    cmd[n++] = "-f";
    cmd[n++] = (char *) sender;
    cmd[n++] = "--";
    cmd[n++] = to;
    cmd[n] = NULL;
    sw_info("restore: rcpt=%.320s state=valid from=<%.320s> -> <%s> (through %s)", rcpt, sender,
            to, cmd[0]);
    (void) execv(cmd[0], cmd);
    return fail(EX_TEMPFAIL, "%s: %s: the MTA tries again later", cmd[0], strerror(errno));
}
