/* test_logsrc.c - mail log sources and the proof of their writer (logsrc.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "util/logsrc.h"

static const struct spec_case {
    const char *spec;
    bool ok;
    enum sw_logsrc_kind kind;
    const char *path;
    bool legacy;
    bool forgeable;
} spec_cases[] = {
    { "journal", true, SW_LOGSRC_JOURNAL, "", false, false },
    { "journal:/var/lib/spillway/journal", true, SW_LOGSRC_JOURNAL, "/var/lib/spillway/journal",
      false, false },
    { "postlog:/var/log/postfix.log", true, SW_LOGSRC_POSTLOG, "/var/log/postfix.log", false,
      false },
    { "syslog:/var/log/mail.log", true, SW_LOGSRC_SYSLOG, "/var/log/mail.log", false, true },
    { "syslog:-", true, SW_LOGSRC_SYSLOG, "-", false, true },
    /* the form before kinds: a forgeable syslog source, flagged */
    { "/var/log/mail.log", true, SW_LOGSRC_SYSLOG, "/var/log/mail.log", true, true },
    { "-", true, SW_LOGSRC_SYSLOG, "-", true, true },
    { "", false, 0, NULL, false, false },
    { "journald", false, 0, NULL, false, false },
    { "file:/var/log/mail.log", false, 0, NULL, false, false },
    { "postlog:", false, 0, NULL, false, false },
    { "postlog:-", false, 0, NULL, false, false }, /* postlogd writes a file */
    { "postlog:var/log/postfix.log", false, 0, NULL, false, false },
    { "journal:", false, 0, NULL, false, false },
    { "journal:-", false, 0, NULL, false, false },
    { "syslog:mail.log", false, 0, NULL, false, false },
    { "var/log/mail.log", false, 0, NULL, false, false },
};

static void
test_parse(void **state)
{
    struct sw_logsrc src;
    struct sw_buf err;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(spec_cases) / sizeof(spec_cases[0]); i++) {
        const struct spec_case *c = &spec_cases[i];

        sw_buf_init(&err, 256);
        if (sw_logsrc_parse(c->spec, &src, &err) != c->ok)
            fail_msg("case %zu (%s): %s", i, c->spec, c->ok ? sw_buf_str(&err) : "accepted");
        if (c->ok) {
            assert_int_equal(src.kind, c->kind);
            assert_string_equal(src.path, c->path);
            assert_int_equal(src.legacy, c->legacy);
            assert_int_equal(sw_logsrc_forgeable(&src), c->forgeable);
        } else {
            assert_true(err.len > 0); /* a refusal says why */
        }
        sw_buf_free(&err);
    }
}

static const uid_t trusted[] = { 0, 107 };

static const struct file_case {
    uid_t owner;
    mode_t mode;
    bool ok;
    const char *why; /* in the reason */
} file_cases[] = {
    { 0, 0100644, true, NULL },           { 107, 0100600, true, NULL },
    { 0, 0100640, true, NULL },           { 0, 040755, true, NULL }, /* a journal directory */
    { 1000, 0100644, false, "uid 1000" }, { 0, 0100664, false, "its group" },
    { 0, 0100666, false, "every user" },  { 107, 0100602, false, "every user" },
    { 0, 041777, false, "every user" }, /* /tmp-like */
};

static void
test_file(void **state)
{
    struct sw_buf why;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
        sw_buf_init(&why, 256);
        if (sw_logsrc_file_trusted(file_cases[i].owner, file_cases[i].mode, trusted, 2, &why)
            != file_cases[i].ok)
            fail_msg("case %zu", i);
        if (file_cases[i].why && strstr(sw_buf_str(&why), file_cases[i].why) == NULL)
            fail_msg("case %zu: reason '%s' lacks '%s'", i, sw_buf_str(&why), file_cases[i].why);
        sw_buf_free(&why);
    }
    sw_buf_init(&why, 256);
    assert_false(sw_logsrc_file_trusted(0, 0100644, NULL, 0, &why)); /* nobody trusted */
    sw_buf_free(&why);
}

static const struct writer_case {
    const char *uid, *comm, *unit;
    enum sw_writer_verdict want;
} writer_cases[] = {
    /* Postfix under systemd (Debian: postfix@-.service), as user postfix */
    { "107", "smtp", "postfix@-.service", SW_WRITER_MTA },
    { "107", "smtp", NULL, SW_WRITER_MTA }, /* no systemd: the program proves it */
    { "107", "lmtp", NULL, SW_WRITER_MTA },
    { "107", "error", NULL, SW_WRITER_MTA },
    { "0", "sendmail-mta", "sendmail.service", SW_WRITER_MTA },
    { "0", "sm-mta", NULL, SW_WRITER_MTA },
    { "107", "postlogd", "postfix.service", SW_WRITER_MTA }, /* the unit proves it */
    { "107", "smtp", "postfix@out.service", SW_WRITER_MTA },
    /* logger -t postfix/smtp by a user: its uid */
    { "1000", "logger", "session-3.scope", SW_WRITER_UID },
    /* the same user, logger copied to ~/smtp: _COMM alone proves nothing */
    { "1000", "smtp", "session-3.scope", SW_WRITER_UID },
    { "65534", "smtp", "postfix@-.service", SW_WRITER_UID },
    /* no _UID at all (journal-remote from elsewhere), or garbage */
    { NULL, "smtp", "postfix@-.service", SW_WRITER_UID },
    { "", "smtp", NULL, SW_WRITER_UID },
    { "107x", "smtp", NULL, SW_WRITER_UID },
    { "-1", "smtp", NULL, SW_WRITER_UID },
    { "99999999999999999999", "smtp", NULL, SW_WRITER_UID },
    /* root, but not the MTA: a cron job's logger */
    { "0", "logger", "cron.service", SW_WRITER_PROGRAM },
    { "0", NULL, NULL, SW_WRITER_PROGRAM },
    { "107", "smtpd", NULL, SW_WRITER_PROGRAM },                /* not a delivery agent */
    { "107", "smtp", "postfix@.service", SW_WRITER_MTA },       /* comm proves it */
    { "107", "logger", "postfix@.service", SW_WRITER_PROGRAM }, /* no instance */
    { "107", "logger", "postfix.service.d", SW_WRITER_PROGRAM },
    { "107", "logger", "xpostfix.service", SW_WRITER_PROGRAM },
};

static void
test_writer(void **state)
{
    size_t i;
    enum sw_writer_verdict v;

    (void) state;
    for (i = 0; i < sizeof(writer_cases) / sizeof(writer_cases[0]); i++) {
        const struct writer_case *c = &writer_cases[i];
        struct sw_journal_writer w = { c->uid, c->comm, c->unit };

        if ((v = sw_logsrc_journal_writer(&w, trusted, 2)) != c->want)
            fail_msg("case %zu (uid %s comm %s unit %s): %s, want %s", i, c->uid ? c->uid : "-",
                     c->comm ? c->comm : "-", c->unit ? c->unit : "-", sw_writer_verdict_name(v),
                     sw_writer_verdict_name(c->want));
    }
}

/* The source watch: one story per table, each step a line or a look at a
 * time (silence 60 s, reminders every 300 s), with what must be logged. */
#define M SW_SRC_MISSING
#define U SW_SRC_UNREADABLE
#define O SW_SRC_OK
#define S SW_SRC_SILENT
#define Q SW_SRCWATCH_QUIET
#define C SW_SRCWATCH_CHANGED
#define R SW_SRCWATCH_REMIND
static const struct watch_step {
    int story;
    bool line;               /* a line came (else: a look) */
    time_t t;
    enum sw_srcstate access; /* what the look found */
    enum sw_srcwatch_say say;
    enum sw_srcstate state;
} watch_steps[] = {
    /* missing at start: warned at once, reminded every 300 s, not more */
    { 1, false, 0, M, C, M },   { 1, false, 1, M, Q, M },     { 1, false, 299, M, Q, M },
    { 1, false, 300, M, R, M }, { 1, false, 301, M, Q, M },   { 1, false, 600, M, R, M },
    /* created and written: ok, said once; silent after 60 s without a line */
    { 1, false, 610, O, C, O }, { 1, true, 611, O, Q, O },    { 1, false, 612, O, Q, O },
    { 1, false, 671, O, Q, O }, { 1, false, 672, O, C, S },   { 1, false, 700, O, Q, S },
    { 1, false, 972, O, R, S }, { 1, true, 973, O, Q, S },    { 1, false, 973, O, C, O },
    /* ok at start, no line: silent counts from the start */
    { 2, false, 0, O, Q, O },   { 2, false, 60, O, Q, O },    { 2, false, 61, O, C, S },
    /* a rotation: missing for less than the grace is no news */
    { 3, true, 0, O, Q, O },    { 3, false, 1, O, Q, O },     { 3, false, 2, M, Q, O },
    { 3, false, 5, M, Q, O },   { 3, false, 6, O, Q, O },     { 3, false, 7, M, Q, O },
    { 3, false, 16, M, Q, O },  { 3, false, 17, M, C, M },
    /* unreadable after being fine, then missing: each change logged */
    { 4, true, 0, O, Q, O },    { 4, false, 0, O, Q, O },     { 4, false, 1, U, Q, O },
     { 4, false, 11, U, C, U },
    { 4, false, 12, M, C, M },  { 4, false, 13, U, C, U },
};
#undef M
#undef U
#undef O
#undef S
#undef Q
#undef C
#undef R

static void
test_watch(void **state)
{
    struct sw_srcwatch w;
    const struct watch_step *c;
    enum sw_srcwatch_say say;
    int story = 0;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(watch_steps) / sizeof(watch_steps[0]); i++) {
        c = &watch_steps[i];
        if (c->story != story) {
            story = c->story;
            sw_srcwatch_init(&w, c->t);
        }
        if (c->line) {
            sw_srcwatch_line(&w, c->t);
            continue;
        }
        say = sw_srcwatch_check(&w, c->access, c->t, 60, 300);
        if (say != c->say || w.state != c->state)
            fail_msg("step %zu (story %d, t=%ld): said %d state %s, want %d state %s", i,
                     c->story, (long) c->t, (int) say, sw_srcstate_name(w.state), (int) c->say,
                     sw_srcstate_name(c->state));
    }
    assert_int_equal(sw_srcwatch_age(&w, 20), 20);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_watch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
