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

static int
restore_usage(void)
{
    fprintf(stderr, "usage: spillway-milter --restore [-c FILE] SENDER RECIPIENT "
                    "[-- COMMAND ARG...]\n");
    return EX_USAGE;
}

/* milter_restore - argv: "--restore" [-c FILE] SENDER RCPT [-- COMMAND ARG...] */
int
milter_restore(const char *conf_path, int argc, char **argv)
{
    char *cmd[RESTORE_ARGS_MAX + 8], to[SW_RPATH_ADDR_MAX];
    const char *sender, *rcpt;
    struct sw_rpath_check chk;
    struct sw_tag_keys keys;
    struct sw_conf *conf;
    struct sw_buf err;
    int i = 1, n = 0;

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
    if (i < argc && strcmp(argv[i], "--") != 0) {
        /* Postfix's pipe gives every recipient of a delivery at once: a
         * usage error would return the message. */
        sw_error("restore: more than one recipient in one delivery: set "
                 "spillway-rp_destination_recipient_limit = 1 (Postfix); the MTA tries again later");
        fprintf(stderr, "spillway-milter: --restore takes one recipient per delivery\n");
        return EX_TEMPFAIL;
    }
    if (i < argc)
        i++; /* "--" */
    if (i < argc && argc - i > RESTORE_ARGS_MAX)
        return restore_usage();
    if (i < argc)
        while (i < argc)
            cmd[n++] = argv[i++];
    else
        cmd[n++] = SW_DEF_SENDMAIL;
    if (strcmp(sender, "<>") == 0 || strcasecmp(sender, "MAILER-DAEMON") == 0
        || strncasecmp(sender, "MAILER-DAEMON@", 14) == 0)
        sender = "";

    sw_buf_init(&err, 16384);
    memset(&keys, 0, sizeof(keys));
    if ((conf = sw_conf_load(conf_path, &err)) == NULL
        || (conf->milter.tag_keys && !sw_tag_keys_load(conf->milter.tag_keys, &keys, &err))) {
        sw_error("restore: rcpt=%.320s: %s: the MTA tries again later", rcpt, sw_buf_str(&err));
        fprintf(stderr, "spillway-milter: %s\n", sw_buf_str(&err));
        sw_buf_free(&err);
        sw_conf_free(conf);
        return EX_TEMPFAIL;
    }
    sw_buf_free(&err);
    sw_rpath_check(&conf->milter.rp, &keys, rcpt, time(NULL), &chk);
    sw_conf_free(conf);
    if (chk.state == SW_RPATH_NOT_OURS || chk.state == SW_RPATH_EXEMPT) {
        sw_error("restore: rcpt=%.320s state=%s: not a return-path address of %s: check the MTA's "
                 "route to this agent; the MTA tries again later",
                 rcpt, sw_rpath_state_name(chk.state), conf_path);
        fprintf(stderr, "spillway-milter: %.320s: not a return-path address of %s\n", rcpt,
                conf_path);
        return EX_TEMPFAIL;
    }
    if (chk.state != SW_RPATH_VALID) {
        sw_info("restore: rcpt=%.320s state=%s: returned to the MTA", rcpt,
                sw_rpath_state_name(chk.state));
        fprintf(stderr, "spillway-milter: %.320s: %s return-path address\n", rcpt,
                chk.state == SW_RPATH_EXPIRED ? "an expired" : "not a valid");
        return EX_NOUSER;
    }
    SW_COPY(to, chk.sender);
    cmd[n++] = "-i";
    cmd[n++] = "-f";
    cmd[n++] = (char *) sender;
    cmd[n++] = "--";
    cmd[n++] = to;
    cmd[n] = NULL;
    sw_info("restore: rcpt=%.320s state=valid from=<%.320s> -> <%s> (through %s)", rcpt, sender,
            to, cmd[0]);
    (void) execv(cmd[0], cmd);
    sw_error("restore: %s: %s: the MTA tries again later", cmd[0], strerror(errno));
    fprintf(stderr, "spillway-milter: %s: %s\n", cmd[0], strerror(errno));
    return EX_TEMPFAIL;
}
