/* envcheck.h - the host checks of spillwayctl check: the decisions */
#ifndef SW_ENVCHECK_H
#define SW_ENVCHECK_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "global/conf.h"
#include "util/buf.h"

/*
 * What `spillwayctl check` finds, one line per finding:
 *   "error: WHAT: what is wrong; what to do"
 *   "warning: WHAT: ..."
 *   "ok: WHAT: ..."
 * The functions here decide from facts the caller gathered (stat results,
 * postconf's answers); they read no file and run nothing, so each case is
 * a unit test.
 */
enum sw_sev { SW_SEV_OK, SW_SEV_WARN, SW_SEV_ERROR };

struct sw_envrep {
    struct sw_buf *out;
    unsigned nwarn, nerr;
};

void sw_env_add(struct sw_envrep *r, enum sw_sev sev, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The configuration itself: a primary relay, relays for every residency
 * rule, an evidence source when rules divert automatically. */
void sw_envcheck_conf(const struct sw_conf *c, struct sw_envrep *r);

/* A file or directory: st NULL when it does not exist.  secret: a key
 * that others must not read. */
void sw_envcheck_path(const char *what, const char *path, const struct stat *st, bool dir,
                      bool secret, struct sw_envrep *r);

/* The mail-log source file: st NULL when missing, readable by the
 * checker, age of its last write in seconds. */
void sw_envcheck_maillog(const char *path, const struct stat *st, bool readable, time_t now,
                         struct sw_envrep *r);

/* A journal source: journald's files exist, the group adm exists. */
void sw_envcheck_journal(bool have_files, bool have_adm, struct sw_envrep *r);

/* Postfix's parameters as `postconf -h` prints them, in this order. */
#define SW_PF_TRANSPORT_MAPS 0
#define SW_PF_SMTPD_MILTERS  1
#define SW_PF_NON_SMTPD      2
#define SW_PF_DSN_FILTER     3
#define SW_PF_TLS_POLICY     4
#define SW_PF_NPARAMS        5
extern const char *const sw_pf_params[SW_PF_NPARAMS];

/* What Postfix has against the wiring the configuration implies;
 * map_types: `postconf -m`, one per line. */
void sw_envcheck_postfix(const struct sw_conf *c, const char *const val[SW_PF_NPARAMS],
                         const char *map_types, struct sw_envrep *r);

#endif
