/* ctl_check.c - spillwayctl check: the configuration and the host, like
 * postfix check */

/*
 * Gathers what the host has (stat, access, postconf's answers, makemap
 * -l) and lets global/envcheck.c decide.  Runs no daemon and changes
 * nothing.  Exit status: 0 no error (warnings allowed), 1 an error, 2 the
 * configuration does not validate.
 */
#include "config.h"

#include <errno.h>
#include <dirent.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_check.h"
#include "global/conf.h"
#include "global/envcheck.h"
#include "util/buf.h"

#define CHECK_OUTPUT_MAX (64u * 1024u) /* of one command */

/* run - a command's standard output (at most CHECK_OUTPUT_MAX), or false
 * when it cannot run or fails; argv[0] is a full path */
static bool
run(char *const argv[], struct sw_buf *out)
{
    char chunk[4096];
    int fd[2], status = 0;
    ssize_t n;
    pid_t pid, w;

    if (access(argv[0], X_OK) != 0 || pipe(fd) != 0)
        return false;
    if ((pid = fork()) < 0) {
        (void) close(fd[0]);
        (void) close(fd[1]);
        return false;
    }
    if (pid == 0) {
        (void) dup2(fd[1], 1);
        (void) close(fd[0]);
        (void) close(fd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    (void) close(fd[1]);
    while ((n = read(fd[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0 && out->len + (size_t) n <= CHECK_OUTPUT_MAX)
            (void) sw_buf_add(out, chunk, (size_t) n);
    (void) close(fd[0]);
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    return w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* path_check - stat it and judge */
static void
path_check(const char *what, const char *path, bool dir, bool secret, struct sw_envrep *r)
{
    struct stat st;

    sw_envcheck_path(what, path, stat(path, &st) == 0 ? &st : NULL, dir, secret, r);
}

/* dir_of - the directory part of a path or of a unix:PATH endpoint; false
 * for other endpoints and relative paths */
static bool
dir_of(const char *s, char *buf, size_t size)
{
    const char *slash;

    if (strncmp(s, "unix:", 5) == 0)
        s += 5;
    if (s[0] != '/' || (slash = strrchr(s, '/')) == NULL)
        return false;
    (void) snprintf(buf, size, "%.*s", slash == s ? 1 : (int) (slash - s), s);
    return true;
}

#define CHECK_DIRS_MAX 16

/* Directories already judged: each is reported once. */
struct dirs {
    char seen[CHECK_DIRS_MAX][512];
    size_t n;
};

/* dir_check - the directory of a setting (a path or unix:PATH), once */
static void
dir_check(struct dirs *ds, const char *what, const char *s, bool whole, struct sw_envrep *r)
{
    char d[512];
    size_t i;

    if (whole)
        (void) snprintf(d, sizeof(d), "%s", s);
    else if (!dir_of(s, d, sizeof(d)))
        return;
    for (i = 0; i < ds->n; i++)
        if (strcmp(ds->seen[i], d) == 0)
            return;
    if (ds->n < CHECK_DIRS_MAX)
        (void) snprintf(ds->seen[ds->n++], sizeof(ds->seen[0]), "%s", d);
    path_check(what, d, true, false, r);
}

/* paths - the directories spillway writes in, and the key file */
static void
paths(const struct sw_conf *c, struct sw_envrep *r)
{
    struct dirs ds = { .n = 0 };
    size_t i;

    dir_check(&ds, "routed.state", c->routed.state, false, r);
    dir_check(&ds, "routed.render_dir", c->routed.render_dir, true, r);
    dir_check(&ds, "routed.control", c->routed.control, false, r);
    dir_check(&ds, "routed.evidence", c->routed.evidence, false, r);
    for (i = 0; i < c->routed.socketmap.n; i++)
        dir_check(&ds, "routed.socketmap", c->routed.socketmap.v[i], false, r);
    if (c->milter.present)
        dir_check(&ds, "milter.socket", c->milter.socket, false, r);
    if (c->milter.tag_keys)
        path_check("milter.tag_keys", c->milter.tag_keys, false, true, r);
}

/* dir_has_entries - a directory with something in it */
static bool
dir_has_entries(const char *path)
{
    struct dirent *de;
    bool any = false;
    DIR *d;

    if ((d = opendir(path)) == NULL)
        return false;
    while (!any && (de = readdir(d)) != NULL)
        any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    (void) closedir(d);
    return any;
}

/* maillog - a file source is there, readable and written lately */
static void
maillog(const struct sw_conf *c, struct sw_envrep *r)
{
    const char *m = c->routed.maillog, *colon;
    struct stat st;

    if (m == NULL)
        return;
    if ((colon = strchr(m, ':')) == NULL) {
        sw_envcheck_journal(dir_has_entries("/run/log/journal")
                                || dir_has_entries("/var/log/journal"),
                            getgrnam("adm") != NULL, r);
        return;
    }
    sw_envcheck_maillog(colon + 1, stat(colon + 1, &st) == 0 ? &st : NULL,
                        access(colon + 1, R_OK) == 0, time(NULL), r);
}

/* postfix - what Postfix really has */
static void
postfix(const struct sw_conf *c, const char *postconf, struct sw_envrep *r)
{
    char *argv[5 + SW_PF_NPARAMS], *val[SW_PF_NPARAMS], *line, *nl;
    struct sw_buf out, types;
    size_t i, n = 0, k;

    argv[n++] = (char *) postconf;
    if (c->routed.postfix_config) {
        argv[n++] = (char *) "-c";
        argv[n++] = c->routed.postfix_config;
    }
    k = n;
    argv[n++] = (char *) "-m";
    argv[n] = NULL;
    sw_buf_init(&types, CHECK_OUTPUT_MAX);
    sw_buf_init(&out, CHECK_OUTPUT_MAX);
    if (!run(argv, &types)) {
        sw_env_add(r, SW_SEV_ERROR, "postfix",
                   "%s cannot be run: routed.mta names Postfix (install postfix, or set "
                   "routed.mta = \"sendmail\")",
                   postconf);
        goto done;
    }
    n = k;
    argv[n++] = (char *) "-h";
    for (i = 0; i < SW_PF_NPARAMS; i++)
        argv[n++] = (char *) sw_pf_params[i];
    argv[n] = NULL;
    if (!run(argv, &out)) {
        sw_env_add(r, SW_SEV_ERROR, "postfix", "%s -h %s ... failed", postconf, sw_pf_params[0]);
        goto done;
    }
    /* One line per parameter, in order; an empty value is an empty line. */
    for (i = 0, line = (char *) sw_buf_str(&out); i < SW_PF_NPARAMS; i++) {
        val[i] = line ? line : (char *) "";
        if (line && (nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            line = nl + 1;
        } else {
            line = NULL;
        }
    }
    sw_envcheck_postfix(c, (const char *const *) val, sw_buf_str(&types), r);
done:
    sw_buf_free(&out);
    sw_buf_free(&types);
}

/* sendmail - makemap is there and knows the mailertable's type */
static void
sendmail(const struct sw_conf *c, struct sw_envrep *r)
{
    char *argv[] = { c->routed.makemap, (char *) "-l", NULL };
    struct sw_buf out;

    if (strcmp(c->routed.mailertable_format, "none") == 0)
        return;
    sw_buf_init(&out, CHECK_OUTPUT_MAX);
    if (!run(argv, &out))
        sw_env_add(r, SW_SEV_ERROR, "routed.makemap", "%s -l cannot be run (install sendmail-bin)",
                   c->routed.makemap);
    else if (strstr(sw_buf_str(&out), c->routed.mailertable_format) == NULL)
        sw_env_add(r, SW_SEV_ERROR, "routed.mailertable_format",
                   "%s does not know \"%s\" (makemap -l: %s)", c->routed.makemap,
                   c->routed.mailertable_format, sw_buf_str(&out));
    else
        sw_env_add(r, SW_SEV_OK, "routed.makemap", "%s knows %s", c->routed.makemap,
                   c->routed.mailertable_format);
    sw_buf_free(&out);
}

/* ctl_check - the whole check; prints the findings and a summary */
int
ctl_check(const char *conf_path, const char *postconf)
{
    struct sw_buf err, out;
    struct sw_envrep r = { &out, 0, 0 };
    struct sw_conf *c;

    sw_buf_init(&err, 65536);
    if ((c = sw_conf_load(conf_path, &err)) == NULL) {
        (void) fprintf(stderr, "%s\n", sw_buf_str(&err));
        sw_buf_free(&err);
        return 2;
    }
    sw_buf_init(&out, 1 << 16);
    sw_env_add(&r, SW_SEV_OK, "configuration", "%s validates", conf_path);
    sw_envcheck_conf(c, &r);
    paths(c, &r);
    maillog(c, &r);
    if (c->routed.mta & SW_WIRED_POSTFIX)
        postfix(c, postconf, &r);
    if (c->routed.mta & SW_WIRED_SENDMAIL)
        sendmail(c, &r);
    (void) fputs(sw_buf_str(&out), stdout);
    (void) printf("%u error(s), %u warning(s)\n", r.nerr, r.nwarn);
    sw_buf_free(&out);
    sw_buf_free(&err);
    sw_conf_free(c);
    return r.nerr ? 1 : 0;
}
