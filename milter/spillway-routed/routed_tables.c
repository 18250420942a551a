/* routed_tables.c - which fail-static tables routed.mta asks for, and the
 * MTA tools that build them */

/*
 * A render (routed_render.c) writes the tables' text, then runs the
 * tools prepared here one after the other, each a child process with an
 * argv and no shell: postmap(1) for Postfix's transport and TLS policy
 * tables, makemap(8) for Sendmail's mailertable, with the text on its
 * standard input.  The next tool starts when the previous one exited 0;
 * the first failure ends the render.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/log.h"
#include "routed.h"

/* routed_render_tables - "DIR/transport", "DIR/mailertable", both, or
 * "no table" (routed.mta and the formats): for the log and -n */
void
routed_tables_names(const struct sw_conf *c, char *out, size_t size)
{
    const struct sw_routed_conf *r = &c->routed;
    bool pf = routed_tables_postfix(c), sm = routed_tables_sendmail(c);

    if (pf && sm)
        (void) snprintf(out, size, "%s/transport and %s/mailertable", r->render_dir,
                        r->render_dir);
    else if (pf || sm)
        (void) snprintf(out, size, "%s/%s", r->render_dir, pf ? "transport" : "mailertable");
    else
        (void) snprintf(out, size, "no table");
}

/* routed_render_postfix - Postfix's tables are rendered */
bool
routed_tables_postfix(const struct sw_conf *c)
{
    return (c->routed.mta & SW_WIRED_POSTFIX) && strcmp(c->routed.render_format, "none") != 0;
}

/* routed_render_sendmail - Sendmail's mailertable is rendered */
bool
routed_tables_sendmail(const struct sw_conf *c)
{
    return (c->routed.mta & SW_WIRED_SENDMAIL)
           && strcmp(c->routed.mailertable_format, "none") != 0;
}

/* routed_render_check - a warning when routed.mta wants Postfix's tables
 * on a host without Postfix's configuration (postmap would fail at each
 * render), else false */
bool
routed_tables_check(const struct sw_conf *c, struct sw_buf *warning)
{
    const char *dir = c->routed.postfix_config ? c->routed.postfix_config : "/etc/postfix";
    struct sw_buf path;
    bool bad;

    if (!routed_tables_postfix(c))
        return false;
    sw_buf_init(&path, 4096);
    bad = sw_buf_printf(&path, "%s/main.cf", dir) && access(sw_buf_str(&path), F_OK) != 0;
    if (bad)
        sw_buf_printf(warning,
                      "render: mta=%s but %s does not exist: postmap cannot build "
                      "%s/transport (on a Sendmail host set routed.mta = \"sendmail\"; "
                      "routed.render_format = \"none\" renders no Postfix table)",
                      (c->routed.mta & SW_WIRED_SENDMAIL) ? "both" : "postfix", sw_buf_str(&path),
                      c->routed.render_dir);
    sw_buf_free(&path);
    return bad;
}

/* routed_render_describe - "mta=sendmail tables=DIR/mailertable(hash)" */
void
routed_tables_describe(const struct sw_conf *c, struct sw_buf *out)
{
    const struct sw_routed_conf *r = &c->routed;
    bool pf = routed_tables_postfix(c), sm = routed_tables_sendmail(c);

    sw_buf_printf(out, "mta=%s tables=",
                  r->mta == (SW_WIRED_POSTFIX | SW_WIRED_SENDMAIL) ? "both"
                  : r->mta == SW_WIRED_SENDMAIL                     ? "sendmail"
                                                                    : "postfix");
    if (pf)
        sw_buf_printf(out, "%s/transport(%s)%s", r->render_dir, r->render_format, sm ? "," : "");
    if (sm)
        sw_buf_printf(out, "%s/mailertable(%s)", r->render_dir, r->mailertable_format);
    if (!pf && !sm)
        sw_buf_adds(out, "none");
}

/* routed_tools_reset - forget the prepared tool runs (a running child
 * is not waited for: the caller reaps it) */
void
routed_tools_reset(struct routed_tools *t)
{
    size_t i, k;

    for (i = 0; i < t->n; i++) {
        for (k = 0; t->v[i].argv[k]; k++)
            free(t->v[i].argv[k]);
        free(t->v[i].input);
        free(t->v[i].output);
    }
    memset(t, 0, sizeof(*t));
}

/* add - a tool run: up to ROUTED_TOOL_ARGS - 1 arguments, then NULL; input
 * (the file on its standard input) and output (the file it makes, to be
 * made world-readable) may be NULL */
static bool
add(struct routed_tools *t, const char *what, const char *input, const char *output,
    const char *const *argv)
{
    struct routed_tool *st;
    size_t k;

    if (t->n == ROUTED_TOOLS)
        return false;
    st = &t->v[t->n];
    memset(st, 0, sizeof(*st));
    (void) snprintf(st->what, sizeof(st->what), "%s", what);
    for (k = 0; argv[k] && k + 1 < ROUTED_TOOL_ARGS; k++)
        if ((st->argv[k] = strdup(argv[k])) == NULL)
            goto fail;
    if ((input && (st->input = strdup(input)) == NULL)
        || (output && (st->output = strdup(output)) == NULL))
        goto fail;
    t->n++;
    return true;
fail:
    for (k = 0; st->argv[k]; k++)
        free(st->argv[k]);
    free(st->input);
    free(st->output);
    memset(st, 0, sizeof(*st));
    return false;
}

/* routed_tools_postmap - "postmap [-c DIR] TYPE:PATH TYPE:PATH2" */
bool
routed_tools_postmap(struct routed_tools *t, const struct sw_conf *c, const char *path,
                     const char *path2)
{
    const char *type = c->routed.render_format;
    const char *confdir = c->routed.postfix_config;
    struct sw_buf arg, arg2, what;
    const char *argv[6];
    int argc = 0;
    bool ok;

    sw_buf_init(&arg, 4096);
    sw_buf_init(&arg2, 4096);
    sw_buf_init(&what, 4200);
    ok = sw_buf_printf(&arg, "%s:%s", type, path) && sw_buf_printf(&arg2, "%s:%s", type, path2)
         && sw_buf_printf(&what, "postmap %s", sw_buf_str(&arg));
    argv[argc++] = SW_POSTMAP_PATH;
    if (confdir) {
        argv[argc++] = "-c";
        argv[argc++] = confdir;
    }
    argv[argc++] = sw_buf_str(&arg);
    argv[argc++] = sw_buf_str(&arg2);
    argv[argc] = NULL;
    ok = ok && add(t, sw_buf_str(&what), NULL, NULL, argv);
    sw_buf_free(&arg);
    sw_buf_free(&arg2);
    sw_buf_free(&what);
    return ok;
}

/* routed_tools_makemap - "makemap [-C CF] TYPE PATH < PATH" (makemap
 * reads the .cf for its TrustedUser, and stops without one).  makemap
 * makes PATH.db 0640; root's Sendmail reads a map that root does not own
 * only if its DefaultUser could (Sendmail's safefile(): "unsafe map file:
 * Permission denied", and FEATURE's -o skips it without a word), so the
 * map is made 0644 after each build, like the text beside it. */
bool
routed_tools_makemap(struct routed_tools *t, const struct sw_conf *c, const char *path)
{
    const struct sw_routed_conf *r = &c->routed;
    const char *argv[6];
    char what[512], db[4096];
    int argc = 0;

    argv[argc++] = r->makemap;
    if (r->sendmail_cf) {
        argv[argc++] = "-C";
        argv[argc++] = r->sendmail_cf;
    }
    argv[argc++] = r->mailertable_format;
    argv[argc++] = path;
    argv[argc] = NULL;
    (void) snprintf(what, sizeof(what), "makemap %s %s", r->mailertable_format, path);
    if ((size_t) snprintf(db, sizeof(db), "%s.db", path) >= sizeof(db))
        return false;
    return add(t, what, path, db, argv);
}

/* routed_tools_start - fork and exec the current tool; false with the
 * reason */
bool
routed_tools_start(struct routed_tools *t, struct sw_buf *why)
{
    const struct routed_tool *st = &t->v[t->cur];
    pid_t pid;
    int fd;

    if (t->cur >= t->n) {
        sw_buf_adds(why, "no tool to run");
        return false;
    }
    if ((pid = fork()) < 0) {
        sw_buf_printf(why, "fork: %s", strerror(errno));
        return false;
    }
    if (pid == 0) {
        sigset_t none;

        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        if ((fd = open(st->input ? st->input : "/dev/null", O_RDONLY | O_CLOEXEC)) < 0
            || dup2(fd, STDIN_FILENO) < 0)
            _exit(126);
        execv(st->argv[0], st->argv);
        _exit(127);
    }
    t->child = pid;
    return true;
}

/* routed_tools_exited - a child exited: the next tool started, the last
 * one done, or a failure with its reason in why */
enum routed_tools_result
routed_tools_exited(struct routed_tools *t, pid_t pid, int status, struct sw_buf *why)
{
    if (t->child <= 0 || pid != t->child)
        return ROUTED_TOOLS_NOT_OURS;
    t->child = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        sw_buf_printf(why, "%s failed (%s %d)", t->v[t->cur].what,
                      WIFEXITED(status) ? "exit" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return ROUTED_TOOLS_FAILED;
    }
    if (t->v[t->cur].output && chmod(t->v[t->cur].output, 0644) != 0) {
        sw_buf_printf(why, "%s: chmod %s: %s", t->v[t->cur].what, t->v[t->cur].output,
                      strerror(errno));
        return ROUTED_TOOLS_FAILED;
    }
    if (++t->cur < t->n)
        return routed_tools_start(t, why) ? ROUTED_TOOLS_RUNNING : ROUTED_TOOLS_FAILED;
    return ROUTED_TOOLS_DONE;
}
