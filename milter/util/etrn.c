/* etrn.c - ask an SMTP server to run its queue (RFC 1985 ETRN) */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/etrn.h"
#include "util/smtpreply.h"

/* reply - read one whole reply; false with the reason */
static bool
reply(int fd, struct sw_reply *r, const char *step, struct sw_buf *why)
{
    char buf[512];
    size_t used;
    ssize_t n;

    sw_reply_init(r);
    for (;;) {
        if ((n = read(fd, buf, sizeof(buf))) < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            sw_buf_printf(why, "%s: %s", step,
                          n == 0 ? "connection closed" : strerror(errno));
            return false;
        }
        /* Bytes past the reply belong to no command we sent: dropped. */
        switch (sw_reply_feed(r, buf, (size_t) n, &used)) {
        case SW_REPLY_MORE: continue;
        case SW_REPLY_DONE: return true;
        case SW_REPLY_BAD: sw_buf_printf(why, "%s: %s", step, r->error); return false;
        }
    }
}

/* say - write a whole command line */
static bool
say(int fd, const char *line, struct sw_buf *why)
{
    size_t len = strlen(line), off = 0;
    ssize_t n;

    while (off < len) {
        if ((n = write(fd, line + off, len - off)) < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            sw_buf_printf(why, "write: %s", strerror(errno));
            return false;
        }
        off += (size_t) n;
    }
    return true;
}

/* step - send a command (NULL: none, the greeting) and want a 2xx reply */
static bool
step(int fd, const char *cmd, const char *name, struct sw_reply *r, struct sw_buf *why)
{
    if (cmd && !say(fd, cmd, why))
        return false;
    if (!reply(fd, r, name, why))
        return false;
    if (r->code / 100 != 2) {
        sw_buf_printf(why, "%s: %d %s", name, r->code, r->text);
        return false;
    }
    return true;
}

/* sw_etrn - one ETRN */
bool
sw_etrn(const struct sw_endpoint *ep, const char *helo, const char *arg, struct sw_buf *why)
{
    struct sw_reply r;
    struct sw_buf cmd, ignored;
    bool ok;
    int fd;

    if (strpbrk(helo, "\r\n") || strpbrk(arg, "\r\n")) {
        sw_buf_adds(why, "line break in the EHLO name or the ETRN argument");
        return false;
    }
    if ((fd = sw_endpoint_connect(ep, why)) < 0)
        return false;
    sw_buf_init(&cmd, 1024);
    ok = step(fd, NULL, "greeting", &r, why) && sw_buf_printf(&cmd, "EHLO %s\r\n", helo)
         && step(fd, sw_buf_str(&cmd), "EHLO", &r, why);
    sw_buf_reset(&cmd);
    ok = ok && sw_buf_printf(&cmd, "ETRN %s\r\n", arg) && step(fd, sw_buf_str(&cmd), "ETRN", &r, why);
    if (ok && (r.code < 250 || r.code > 253)) {
        sw_buf_printf(why, "ETRN: %d %s", r.code, r.text);
        ok = false;
    }
    sw_buf_init(&ignored, 256);
    (void) say(fd, "QUIT\r\n", &ignored); /* a courtesy: the reply is not awaited */
    sw_buf_free(&ignored);
    sw_buf_free(&cmd);
    (void) close(fd);
    return ok;
}
