/* milter_rpath.c - the return path in one message: rewrite, verify, restore */

/*
 * DESIGN.md 5.7, rpath.h.  Three moments of a message:
 *   RCPT  a recipient at a return-path domain must verify: an invalid
 *         address is refused (550 5.1.1), an expired one too (550 5.7.1),
 *         so that nobody can use the domain to mail our users
 *         (backscatter); postmaster@ is left to the MTA.  A valid one is
 *         remembered with the sender it restores.
 *   EOM   (inbound) each valid return-path recipient is replaced by its
 *         sender: smfi_addrcpt first, then smfi_delrcpt, so a failure
 *         leaves the recipient rather than losing the message's only one.
 *   EOM   (outbound) the envelope sender becomes its return-path address
 *         (smfi_chgfrom with no ESMTP arguments: Postfix 3.7 and Sendmail
 *         8.17 then keep all of the client's, BODY=, RET=, ENVID=; given
 *         arguments, Sendmail uses them instead, dropping BODY=, and
 *         Postfix warns about any but RET= and ENVID=).
 * The null sender is never rewritten (rpath.c), nor the sender of a
 * message with a recipient in return_path.skip_recipients.
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"
#include "milter.h"

void
milter_rp_reset(struct milter_rp *rp)
{
    rp->skip = false;
    rp->n = 0;
}

/* milter_qid - the message's queue id, or NOQUEUE before it has one */
const char *
milter_qid(SMFICTX *ctx)
{
    const char *q = smfi_getsymval(ctx, "i");

    return q && *q ? q : "NOQUEUE";
}

/* milter_rp_rcpt - judge one recipient; the libmilter answer for it */
int
milter_rp_rcpt(SMFICTX *ctx, struct milter_rp *rp, const struct milter_gen *g, const char *rcpt)
{
    const struct sw_rpath_conf *c = &g->conf->milter.rp;
    struct sw_rpath_check chk;
    char text[SW_RPATH_ADDR_MAX + 128];
    size_t i;

    if (sw_rpath_skip_rcpt(c, rcpt))
        rp->skip = true;
    sw_rpath_check(c, &g->keys, rcpt, time(NULL), &chk);
    switch (chk.state) {
    case SW_RPATH_NOT_OURS:
    case SW_RPATH_EXEMPT:
        return SMFIS_CONTINUE;
    case SW_RPATH_VALID:
        for (i = 0; i < rp->n; i++)
            if (strcmp(rp->r[i].rcpt, rcpt) == 0)
                return SMFIS_CONTINUE;
        if (rp->n == MILTER_RP_RCPTS) {
            (void) smfi_setreply(ctx, "452", "4.5.3", "Too many return-path recipients");
            return SMFIS_TEMPFAIL;
        }
        SW_COPY(rp->r[rp->n].rcpt, rcpt);
        SW_COPY(rp->r[rp->n].sender, chk.sender);
        rp->n++;
        return SMFIS_CONTINUE;
    case SW_RPATH_EXPIRED:
        (void) snprintf(text, sizeof(text),
                        "%.*s: return-path address expired (spillway: made %ld days ago)",
                        SW_RPATH_ADDR_MAX, rcpt, chk.age_days);
        (void) smfi_setreply(ctx, "550", "5.7.1", text);
        break;
    default:
        (void) snprintf(text, sizeof(text),
                        "%.*s: no such return-path address (spillway: invalid tag)",
                        SW_RPATH_ADDR_MAX, rcpt);
        (void) smfi_setreply(ctx, "550", "5.1.1", text);
        break;
    }
    milter_stat_add(&sw_milter.stats.rp_refused, 1);
    sw_info("%s: return-path: refused rcpt=%.*s state=%s", milter_qid(ctx), SW_RPATH_ADDR_MAX, rcpt,
            sw_rpath_state_name(chk.state));
    return SMFIS_REJECT;
}

/* milter_rp_restore - each return-path recipient back to its sender */
void
milter_rp_restore(SMFICTX *ctx, const struct milter_rp *rp, const char *queue_id)
{
    char to[SW_RPATH_ADDR_MAX + 2];
    size_t i, j;
    bool added;

    for (i = 0; i < rp->n; i++) {
        added = false;
        for (j = 0; j < i; j++) /* two addresses of one sender: one copy */
            if (strcasecmp(rp->r[j].sender, rp->r[i].sender) == 0)
                added = true;
        (void) snprintf(to, sizeof(to), "<%s>", rp->r[i].sender);
        if (!added && smfi_addrcpt(ctx, to) != MI_SUCCESS) {
            milter_stat_add(&sw_milter.stats.failures, 1);
            sw_warn("%s: return-path: could not add %s: %s stays as it is", queue_id, to,
                    rp->r[i].rcpt);
            continue;
        }
        if (smfi_delrcpt(ctx, (char *) rp->r[i].rcpt) != MI_SUCCESS) {
            milter_stat_add(&sw_milter.stats.failures, 1);
            sw_warn("%s: return-path: could not remove %s (%s added)", queue_id, rp->r[i].rcpt,
                    to);
            continue;
        }
        milter_stat_add(&sw_milter.stats.rp_restored, 1);
        sw_info("%s: return-path: restored %s -> %s", queue_id, rp->r[i].rcpt, to);
    }
}

/* milter_rp_rewrite - the outbound envelope sender to its return path */
void
milter_rp_rewrite(SMFICTX *ctx, const struct milter_rp *rp, const struct milter_gen *g,
                  const char *sender, const char *queue_id)
{
    char addr[SW_RPATH_ADDR_MAX], from[SW_RPATH_ADDR_MAX + 2];
    enum sw_rpath_skip why;

    if (!sw_rpath_on(&g->conf->milter.rp))
        return;
    if (rp->skip)
        why = SW_RPATH_SKIPPED;
    else
        why = sw_rpath_make(&g->conf->milter.rp, &g->keys, sender, time(NULL), addr, sizeof(addr));
    if (why != SW_RPATH_REWRITE) {
        milter_stat_add(&sw_milter.stats.rp_left, 1);
        sw_debug("%s: return-path: sender %s left alone (%s)", queue_id, sender,
                 sw_rpath_skip_name(why));
        return;
    }
    (void) snprintf(from, sizeof(from), "<%s>", addr);
    if (smfi_chgfrom(ctx, from, NULL) != MI_SUCCESS) {
        milter_stat_add(&sw_milter.stats.failures, 1);
        sw_warn("%s: return-path: could not change the sender %s: it leaves as it is", queue_id,
                sender);
        return;
    }
    milter_stat_add(&sw_milter.stats.rp_rewritten, 1);
    sw_debug("%s: return-path: sender %s -> %s", queue_id, sender, from);
}
