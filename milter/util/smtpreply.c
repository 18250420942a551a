/* smtpreply.c - incremental, bounded parser of SMTP server replies */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "util/smtpreply.h"

/* sw_reply_init - ready for a new reply */
void
sw_reply_init(struct sw_reply *r)
{
    r->code = 0;
    r->text[0] = '\0';
    r->ext = 0;
    r->lines = 0;
    r->error = NULL;
    r->len = 0;
}

/* keep_text - the first line's text, control bytes made '?' */
static void
keep_text(struct sw_reply *r, const char *s, size_t n)
{
    size_t i;

    if (n > SW_REPLY_TEXT_MAX)
        n = SW_REPLY_TEXT_MAX;
    for (i = 0; i < n; i++)
        r->text[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    r->text[n] = '\0';
}

/* keyword - an EHLO line's keyword, case-insensitively */
static void
keyword(struct sw_reply *r, const char *s, size_t n)
{
    static const struct {
        const char *word;
        unsigned bit;
    } words[] = {
        { "STARTTLS", SW_EXT_STARTTLS },
        { "PIPELINING", SW_EXT_PIPELINING },
        { "SIZE", SW_EXT_SIZE },
        { "8BITMIME", SW_EXT_8BITMIME },
    };
    size_t i, w;

    for (w = 0; w < n && s[w] != ' '; w++)
        ;
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i].word) == w && strncasecmp(s, words[i].word, w) == 0)
            r->ext |= words[i].bit;
}

/* one_line - a complete line without its ending: DONE, MORE or BAD */
static enum sw_reply_status
one_line(struct sw_reply *r, const char *s, size_t n)
{
    int code;

    if (n < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0'
        || s[2] > '9') {
        r->error = "reply line does not start with a 3-digit code";
        return SW_REPLY_BAD;
    }
    if (n > 3 && s[3] != ' ' && s[3] != '-') {
        r->error = "reply code not followed by a space or '-'";
        return SW_REPLY_BAD;
    }
    code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    if (r->lines == 0) {
        r->code = code;
        keep_text(r, n > 4 ? s + 4 : "", n > 4 ? n - 4 : 0);
    } else if (code != r->code) {
        r->error = "reply lines with different codes";
        return SW_REPLY_BAD;
    } else if (n > 4) {
        keyword(r, s + 4, n - 4);
    }
    if (++r->lines > SW_REPLY_LINES_MAX) {
        r->error = "reply longer than 100 lines";
        return SW_REPLY_BAD;
    }
    return (n == 3 || s[3] == ' ') ? SW_REPLY_DONE : SW_REPLY_MORE;
}

/* sw_reply_feed - take bytes up to the end of one reply */
enum sw_reply_status
sw_reply_feed(struct sw_reply *r, const char *data, size_t n, size_t *used)
{
    enum sw_reply_status st;
    const char *nl;
    size_t take, len;

    *used = 0;
    if (r->error)
        return SW_REPLY_BAD;
    while (*used < n) {
        nl = memchr(data + *used, '\n', n - *used);
        take = nl ? (size_t) (nl - (data + *used)) + 1 : n - *used;
        if (r->len + take > sizeof(r->line)) {
            r->error = "reply line longer than 1000 bytes";
            return SW_REPLY_BAD;
        }
        memcpy(r->line + r->len, data + *used, take);
        r->len += take;
        *used += take;
        if (nl == NULL)
            return SW_REPLY_MORE;
        len = r->len - 1; /* without LF; a bare LF is tolerated */
        if (len > 0 && r->line[len - 1] == '\r')
            len--;
        r->len = 0;
        if ((st = one_line(r, r->line, len)) != SW_REPLY_MORE)
            return st;
    }
    return SW_REPLY_MORE;
}
