/* envcheck.c - the host checks of spillwayctl check: the decisions */

/*
 * Pure: every function decides from what the caller found on the host
 * (milter/spillwayctl/ctl_check.c gathers it) and appends findings.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "global/envcheck.h"

#define SW_MAILLOG_STALE 3600 /* seconds without a write: worth a look */

const char *const sw_pf_params[SW_PF_NPARAMS] = {
    "transport_maps",
    "smtpd_milters",
    "non_smtpd_milters",
    "smtp_delivery_status_filter",
    "smtp_tls_policy_maps",
};

/* sw_env_add - one finding line */
void
sw_env_add(struct sw_envrep *r, enum sw_sev sev, const char *what, const char *fmt, ...)
{
    static const char *const word[] = { "ok", "warning", "error" };
    va_list ap;

    if (sev == SW_SEV_WARN)
        r->nwarn++;
    else if (sev == SW_SEV_ERROR)
        r->nerr++;
    sw_buf_printf(r->out, "%s: %s: ", word[sev], what);
    va_start(ap, fmt);
    sw_buf_vprintf(r->out, fmt, ap);
    va_end(ap);
    sw_buf_addc(r->out, '\n');
}

/* relay_allowed - a relay whose jurisdiction a residency rule allows */
static bool
relay_allowed(const struct sw_conf *c, const struct sw_residency *res)
{
    size_t i, j;

    for (i = 0; i < c->nrelays; i++)
        for (j = 0; c->relays[i].jurisdiction && j < res->allow.n; j++)
            if (strcmp(c->relays[i].jurisdiction, res->allow.v[j]) == 0)
                return true;
    return false;
}

/* sw_envcheck_conf - what the file implies, whatever the host */
void
sw_envcheck_conf(const struct sw_conf *c, struct sw_envrep *r)
{
    size_t i, nprimary = 0;

    for (i = 0; i < c->nrelays; i++)
        if (c->relays[i].role == SW_ROLE_PRIMARY)
            nprimary++;
    if (nprimary == 0)
        sw_env_add(r, SW_SEV_ERROR, "relays",
                   "no relay has role = \"primary\"; name the provider's relay as the primary");
    else
        sw_env_add(r, SW_SEV_OK, "relays", "%zu relays, %zu primary", c->nrelays, nprimary);
    for (i = 0; i < c->nresidency; i++)
        if (!relay_allowed(c, &c->residency[i]))
            sw_env_add(r, SW_SEV_ERROR, "residency",
                       "the rule at line %d allows no relay's jurisdiction: its destinations "
                       "stay on the primary route even when it is refused; give a relay one of "
                       "its jurisdictions",
                       c->residency[i].line);
    if (c->nrules > 0 && c->routed.maillog == NULL)
        sw_env_add(r, SW_SEV_WARN, "routed.maillog",
                   "rules divert on evidence but no mail log is read: only bounces (the "
                   "milter) count; set routed.maillog (\"journal\" or \"postlog:/path\")");
}

/* sw_envcheck_path - exists, the right kind, nobody else may write (or
 * read, for a secret) */
void
sw_envcheck_path(const char *what, const char *path, const struct stat *st, bool dir, bool secret,
                 struct sw_envrep *r)
{
    if (st == NULL) {
        sw_env_add(r, dir ? SW_SEV_WARN : SW_SEV_ERROR, what,
                   dir ? "%s does not exist (the unit's StateDirectory/RuntimeDirectory makes it "
                         "at start; otherwise create it for the daemon's user)"
                       : "%s does not exist",
                   path);
        return;
    }
    if (dir != S_ISDIR(st->st_mode)) {
        sw_env_add(r, SW_SEV_ERROR, what, "%s is %s", path,
                   dir ? "not a directory" : "a directory");
        return;
    }
    if ((st->st_mode & S_IWOTH) && !(dir && (st->st_mode & S_ISVTX))) {
        sw_env_add(r, SW_SEV_ERROR, what, "%s is writable by every user (mode %04o): chmod o-w",
                   path, (unsigned) (st->st_mode & 07777));
        return;
    }
    if (secret && (st->st_mode & (S_IROTH | S_IWOTH))) {
        sw_env_add(r, SW_SEV_ERROR, what,
                   "%s is readable by every user (mode %04o): anyone could sign tags; "
                   "chmod 0640 and give it to the milter's group",
                   path, (unsigned) (st->st_mode & 07777));
        return;
    }
    sw_env_add(r, SW_SEV_OK, what, "%s (uid %ld, gid %ld, mode %04o)", path, (long) st->st_uid,
               (long) st->st_gid, (unsigned) (st->st_mode & 07777));
}

/* sw_envcheck_maillog - the evidence source can be read and is alive */
void
sw_envcheck_maillog(const char *path, const struct stat *st, bool readable, time_t now,
                    struct sw_envrep *r)
{
    if (st == NULL) {
        sw_env_add(r, SW_SEV_ERROR, "routed.maillog",
                   "%s does not exist: no delivery outcome will be read", path);
        return;
    }
    if (!readable) {
        sw_env_add(r, SW_SEV_ERROR, "routed.maillog",
                   "%s cannot be read by this user: spillway-routed needs group adm "
                   "(SupplementaryGroups) or read access",
                   path);
        return;
    }
    if (now - st->st_mtime > SW_MAILLOG_STALE) {
        sw_env_add(r, SW_SEV_WARN, "routed.maillog",
                   "%s was last written %ld minutes ago: is the MTA logging there?", path,
                   (long) (now - st->st_mtime) / 60);
        return;
    }
    sw_env_add(r, SW_SEV_OK, "routed.maillog", "%s, last written %lds ago", path,
               (long) (now - st->st_mtime));
}

/* sw_envcheck_journal - a journal source: journald keeps files, and the
 * group the unit gives spillway-routed (adm) exists to read them */
void
sw_envcheck_journal(bool have_files, bool have_adm, struct sw_envrep *r)
{
    if (!have_files)
        sw_env_add(r, SW_SEV_ERROR, "routed.maillog",
                   "journal: no journal files under /run/log/journal or /var/log/journal: is "
                   "systemd-journald running?");
    else if (!have_adm)
        sw_env_add(r, SW_SEV_ERROR, "routed.maillog",
                   "journal: no group adm: spillway-routed's unit reads the journal with "
                   "SupplementaryGroups=adm; create it or give the unit a group that may read");
    else
        sw_env_add(r, SW_SEV_OK, "routed.maillog",
                   "journal: files present, read with group adm (the unit's SupplementaryGroups)");
}

/* has_type - a map type among postconf -m's lines */
static bool
has_type(const char *types, const char *t)
{
    size_t n = strlen(t);
    const char *p;

    for (p = types; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, t, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* tail - the last component of a unix:PATH endpoint (Postfix often names
 * it relative to its queue directory), or the endpoint */
static const char *
tail(const char *endpoint, char *buf, size_t size)
{
    const char *s = strrchr(endpoint, '/');

    (void) snprintf(buf, size, "%s", s ? s + 1 : endpoint);
    return buf;
}

/* sw_envcheck_postfix - Postfix's parameters against the wiring */
void
sw_envcheck_postfix(const struct sw_conf *c, const char *const val[SW_PF_NPARAMS],
                    const char *map_types, struct sw_envrep *r)
{
    const char *tm = val[SW_PF_TRANSPORT_MAPS], *sock, *table;
    bool rp = c->milter.rp.domain != NULL || c->milter.rp.subdomain != NULL;
    const struct sw_routed_conf *rc = &c->routed;
    bool render = strcmp(rc->render_format, "none") != 0;
    char want[4096], t[256];

    if (render && !has_type(map_types, rc->render_format))
        sw_env_add(r, SW_SEV_ERROR, "routed.render_format",
                   "Postfix has no %s maps (postconf -m): install postfix-%s or choose another "
                   "format",
                   rc->render_format, rc->render_format);
    sock = strstr(tm, "socketmap:");
    (void) snprintf(want, sizeof(want), "%s:%s/transport", rc->render_format, rc->render_dir);
    table = render ? strstr(tm, want) : NULL;
    if (sock == NULL && table == NULL)
        sw_env_add(r, SW_SEV_ERROR, "transport_maps",
                   "\"%s\": Postfix does not ask spillway-routed; add it in front of your own "
                   "tables: postconf -e \"transport_maps = socketmap:%s:transport%s%s\"",
                   tm, rc->socketmap.n ? rc->socketmap.v[0] : "unix:PATH", *tm ? " " : "", tm);
    else if (sock == NULL)
        sw_env_add(r, SW_SEV_OK, "transport_maps",
                   "%s: the fail-static table alone (routing follows each render; no "
                   "answer waits on spillway-routed)",
                   tm);
    else
        sw_env_add(r, SW_SEV_OK, "transport_maps", "%s", tm);
    if (c->milter.present) {
        tail(c->milter.socket, t, sizeof(t));
        if (strstr(val[SW_PF_SMTPD_MILTERS], t) == NULL)
            sw_env_add(r, SW_SEV_ERROR, "smtpd_milters",
                       "\"%s\" does not name the milter socket (%s): outbound mail is not "
                       "tagged and bounces are not read; append it to the list",
                       val[SW_PF_SMTPD_MILTERS], c->milter.socket);
        else
            sw_env_add(r, SW_SEV_OK, "smtpd_milters", "%s", val[SW_PF_SMTPD_MILTERS]);
        if (rp && strstr(val[SW_PF_NON_SMTPD], t) == NULL)
            sw_env_add(r, SW_SEV_WARN, "non_smtpd_milters",
                       "\"%s\" does not name the milter: the return path of mail submitted "
                       "with sendmail(1) is not rewritten; append the same milter there",
                       val[SW_PF_NON_SMTPD]);
    }
    if (render) {
        (void) snprintf(want, sizeof(want), "%s/dsn-filter.pcre", rc->render_dir);
        if (strstr(val[SW_PF_DSN_FILTER], want) == NULL)
            sw_env_add(r, SW_SEV_WARN, "smtp_delivery_status_filter",
                       "\"%s\" does not include pcre:%s: a refusal the primary's pool earned "
                       "bounces instead of waiting for the alternate; put it first",
                       val[SW_PF_DSN_FILTER], want);
        (void) snprintf(want, sizeof(want), "%s/tls-policy", rc->render_dir);
        if (strstr(val[SW_PF_TLS_POLICY], want) == NULL)
            sw_env_add(r, SW_SEV_WARN, "smtp_tls_policy_maps",
                       "\"%s\" does not include %s:%s: the relays' TLS settings are not "
                       "applied",
                       val[SW_PF_TLS_POLICY], rc->render_format, want);
    }
}
