/* milter_analyze.c - spillway-milter --analyze: the milter's reading of bounce files */

/*
 * For operators and tests: each FILE is read as the milter would have
 * received it and goes through exactly the milter's code (sw_analyze), and
 * each recipient found is printed as one JSON object per line; a file
 * with no recipient at all gives one line with "recipient" null and
 * "failed" false.  An mbox file (messages after "From " lines) is read
 * message by message.  Nothing is
 * sent to spillway-routed.  Exit 0 when every file was read, 1 otherwise,
 * 2 for a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/mbox.h"
#include "global/analyze.h"
#include "milter.h"

#define SW_DEF_CONF SW_SYSCONFDIR "/spillway/spillway.conf"
#define SW_ANALYZE_OVERRIDES 8 /* --patterns files after the library */

/* read_file - at most SW_BOUNCE_KEEP_MAX bytes (what the milter keeps) */
static ssize_t
read_file(const char *path, char *buf, size_t size)
{
    size_t len = 0;
    ssize_t n;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    while (len < size && (n = read(fd, buf + len, size - len)) > 0)
        len += (size_t) n;
    (void) close(fd);
    return (ssize_t) len;
}

/* load_conf - -c FILE, --patterns FILE, or the default configuration */
static struct sw_conf *
load_conf(const char *conf_path, const char *patterns, struct sw_buf *err)
{
    struct sw_buf text;
    struct sw_conf *c;

    if (conf_path)
        return sw_conf_load(conf_path, err);
    if (patterns == NULL && access(SW_DEF_CONF, F_OK) == 0)
        return sw_conf_load(SW_DEF_CONF, err);
    sw_buf_init(&text, 8192);
    /* A configuration needs a relay; analysis does not use it. */
    sw_buf_adds(&text, "milter: { };\nrelays = ( { name = \"analyze\"; nexthop = \"[127.0.0.1]\"; "
                       "role = \"primary\"; } );\n");
    if (patterns) {
        sw_buf_adds(&text, "classify: { patterns = ");
        sw_buf_add_json(&text, patterns); /* a quoted string libconfig reads */
        sw_buf_adds(&text, "; };\n");
    }
    c = sw_conf_load_string(sw_buf_str(&text), "--patterns", err);
    sw_buf_free(&text);
    return c;
}

static int
analyze(const struct sw_conf *conf, const struct sw_tag_keys *keys, const char *rcpt, int nfiles,
        char **files)
{
    struct sw_analysis *a = malloc(sizeof(*a));
    char *msg = malloc(SW_BOUNCE_KEEP_MAX);
    struct sw_buf out;
    int i, rc = 0;
    size_t j, off, start, n, nrec;
    ssize_t len;

    if (a == NULL || msg == NULL) {
        fprintf(stderr, "spillway-milter: out of memory\n");
        free(a);
        free(msg);
        return 1;
    }
    sw_buf_init(&out, 64 * 1024);
    for (i = 0; i < nfiles; i++) {
        if ((len = read_file(files[i], msg, SW_BOUNCE_KEEP_MAX)) < 0) {
            fprintf(stderr, "spillway-milter: %s: %s\n", files[i], strerror(errno));
            rc = 1;
            continue;
        }
        /* An mbox file may hold several bounces: each is read alone. */
        for (off = 0, nrec = 0; sw_mbox_next(msg, (size_t) len, &off, &start, &n);) {
            sw_analyze_to(conf, keys, msg + start, n, rcpt, time(NULL), a);
            sw_analysis_explain(conf, a);
            for (j = 0; j < a->n; j++) {
                sw_buf_reset(&out);
                sw_analysis_json(a, j, files[i], &out);
                puts(sw_buf_str(&out));
            }
            nrec += a->n;
        }
        if (nrec == 0) {
            /* One line all the same: read, and no recipient found. */
            if (len == 0)
                sw_analyze_to(conf, keys, msg, 0, rcpt, time(NULL), a);
            sw_buf_reset(&out);
            sw_analysis_json_none(a, files[i], &out);
            puts(sw_buf_str(&out));
        }
    }
    sw_buf_free(&out);
    free(a);
    free(msg);
    return fflush(stdout) == 0 ? rc : 1;
}

/* overrides - the library again, with files of overrides after it (each
 * read as an operator's patterns list); false after printing why */
static bool
overrides(struct sw_conf *conf, const char *const *files, size_t n, struct sw_buf *err)
{
    struct sw_patterns *p;
    size_t i;
    bool ok;

    if (n == 0)
        return true;
    if ((p = sw_patterns_new()) == NULL)
        return false;
    ok = sw_patterns_load_file(p, conf->patterns_file, err);
    for (i = 0; ok && i < n; i++)
        ok = sw_patterns_load_file(p, files[i], err);
    if (!ok || !sw_patterns_compile(p, err)) {
        fprintf(stderr, "%s\n", err->len ? sw_buf_str(err) : "out of memory");
        sw_patterns_free(p);
        return false;
    }
    sw_patterns_free(conf->patterns);
    conf->patterns = p;
    return true;
}

/* milter_analyze_files - argv: "--analyze" [-c FILE | --patterns FILE
 * [--patterns OVERRIDES]...] [--rcpt ADDR] FILE...; --rcpt: the envelope
 * recipient the bounces came to, judged as a return-path address
 * (milter.return_path) */
int
milter_analyze_files(const char *conf_path, int argc, char **argv)
{
    const char *patterns = NULL, *rcpt = NULL, *more[SW_ANALYZE_OVERRIDES];
    size_t nmore = 0;
    struct sw_tag_keys keys;
    struct sw_conf *conf;
    struct sw_buf err;
    int i = 1, rc;

    for (; i < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            goto usage;
        if (strcmp(argv[i], "-c") == 0)
            conf_path = argv[i + 1];
        else if (strcmp(argv[i], "--patterns") == 0 && patterns == NULL)
            patterns = argv[i + 1];
        else if (strcmp(argv[i], "--patterns") == 0 && nmore < SW_ANALYZE_OVERRIDES)
            more[nmore++] = argv[i + 1];
        else if (strcmp(argv[i], "--rcpt") == 0)
            rcpt = argv[i + 1];
        else
            goto usage;
    }
    if (i >= argc || (conf_path && patterns))
        goto usage;
    sw_buf_init(&err, 16384);
    if ((conf = load_conf(conf_path, patterns, &err)) == NULL) {
        fprintf(stderr, "%s\n", sw_buf_str(&err));
        sw_buf_free(&err);
        return 1;
    }
    if (!overrides(conf, more, nmore, &err)) {
        sw_buf_free(&err);
        sw_conf_free(conf);
        return 1;
    }
    memset(&keys, 0, sizeof(keys));
    if (conf->milter.tag_keys && !sw_tag_keys_load(conf->milter.tag_keys, &keys, &err)) {
        fprintf(stderr, "%s\n", sw_buf_str(&err));
        sw_buf_free(&err);
        sw_conf_free(conf);
        return 1;
    }
    sw_buf_free(&err);
    rc = analyze(conf, keys.n ? &keys : NULL, rcpt, argc - i, argv + i);
    sw_conf_free(conf);
    return rc;
usage:
    fprintf(stderr, "usage: spillway-milter --analyze [-c FILE | --patterns FILE [--patterns "
                    "OVERRIDES]...] [--rcpt ADDR] BOUNCE...\n");
    return 2;
}
