/* test_classify.c - SMTP reply classification (classify.h) */

/*
 * Built twice from this file:
 *
 *   test_classify         hand-written cases per provider against the
 *                         shipped library, override semantics and error
 *                         messages, edge cases of the input, and a check
 *                         that the literal prefilter never changes an
 *                         answer (against plain sequential evaluation);
 *   test_classify_corpus  (-DSW_TEST_CORPUS) the measurement on
 *                         provider-replies.tsv: confusion matrix,
 *                         precision and recall; exit 77 (skip) when the
 *                         corpus is not there.
 *
 * Paths: SW_PATTERNS (the library, default $srcdir/conf/patterns.conf)
 * and SPILLWAY_CORPUS (default $srcdir/../shared/corpus); automake
 * exports srcdir to tests, and "." is used when it is not set.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8

#include <libconfig.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "global/classify.h"
#include "tsv.h"

#define T_PATH_MAX        4096
#define T_LINE_MAX        8192
#define T_REP             SW_CLASS_REPUTATION
#define T_THR             SW_CLASS_THROTTLE
#define T_OTH             SW_CLASS_OTHER

/* classify a C string */
#define CLASSIFY(p, s, v) sw_classify((p), (s), strlen(s), (v))

/* The shipped library, loaded once by the group setup. */
static struct sw_patterns *lib;

/* srcdir_path - "$srcdir/rel" (srcdir defaults to ".") */
static const char *
srcdir_path(char *buf, size_t size, const char *rel)
{
    const char *d = getenv("srcdir");

    (void) snprintf(buf, size, "%s/%s", d && *d ? d : ".", rel);
    return buf;
}

/* patterns_path - $SW_PATTERNS or the shipped file */
static const char *
patterns_path(char *buf, size_t size)
{
    const char *e = getenv("SW_PATTERNS");

    if (e && *e) {
        (void) snprintf(buf, size, "%s", e);
        return buf;
    }
    return srcdir_path(buf, size, "conf/patterns.conf");
}

/* load_shipped - group setup: the library every case runs against */
static int
load_shipped(void **state)
{
    char path[T_PATH_MAX];
    struct sw_buf err;
    bool ok;

    (void) state;
    sw_buf_init(&err, 65536);
    lib = sw_patterns_new();
    ok = lib && sw_patterns_load_file(lib, patterns_path(path, sizeof(path)), &err)
         && sw_patterns_compile(lib, &err);
    if (!ok)
        fprintf(stderr, "cannot load %s:\n%s\n", path, sw_buf_str(&err));
    sw_buf_free(&err);
    return ok ? 0 : -1;
}

/* free_shipped - group teardown */
static int
free_shipped(void **state)
{
    (void) state;
    sw_patterns_free(lib);
    lib = NULL;
    return 0;
}

/*
 * brute_force - first pattern in evaluation order that matches, each
 * compiled alone and tried in turn (a Postfix pcre table's rule); the
 * reference the prefilter must agree with.  NULL when none matches.
 */
static const char *
brute_force(const struct sw_patterns *p, const char *text, size_t len, unsigned *cls)
{
    const uint32_t opts = PCRE2_CASELESS | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP;
    const char *name, *re, *found = NULL;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    pcre2_code *code;
    PCRE2_SIZE off;
    size_t i;
    int rc;

    if (len > SW_CLASSIFY_MAX_TEXT)
        len = SW_CLASSIFY_MAX_TEXT;
    *cls = SW_CLASS_OTHER;
    for (i = 0; found == NULL && sw_patterns_get(p, i, &name, cls, &re, NULL, NULL); i++) {
        code = pcre2_compile((PCRE2_SPTR) re, PCRE2_ZERO_TERMINATED, opts, &rc, &off, NULL);
        if (code == NULL)
            fail_msg("pattern %s does not compile alone", name);
        if (pcre2_match(code, (PCRE2_SPTR) text, len, 0, 0, md, NULL) >= 0)
            found = name;
        pcre2_code_free(code);
    }
    if (found == NULL)
        *cls = SW_CLASS_OTHER;
    pcre2_match_data_free(md);
    return found;
}

/*
 * brute_cues - the cues by brute force: after the winner (index w in
 * evaluation order), every later pattern of the same class and tier that
 * matches, up to SW_CUES_MAX names in all; returns how many
 */
static size_t
brute_cues(const struct sw_patterns *p, size_t w, const char *text, size_t len,
           const char **names)
{
    const uint32_t opts = PCRE2_CASELESS | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    const char *name, *re;
    unsigned cls, wcls;
    size_t i, n = 0;
    pcre2_code *code;
    PCRE2_SIZE off;
    int rc;

    if (len > SW_CLASSIFY_MAX_TEXT)
        len = SW_CLASSIFY_MAX_TEXT;
    assert_true(sw_patterns_get(p, w, &names[n++], &wcls, NULL, NULL, NULL));
    for (i = w + 1; n < SW_CUES_MAX && sw_patterns_get(p, i, &name, &cls, &re, NULL, NULL); i++) {
        if ((cls == SW_CLASS_OTHER) != (wcls == SW_CLASS_OTHER)
            || sw_patterns_tier(p, i) != sw_patterns_tier(p, w))
            break;
        code = pcre2_compile((PCRE2_SPTR) re, PCRE2_ZERO_TERMINATED, opts, &rc, &off, NULL);
        if (pcre2_match(code, (PCRE2_SPTR) text, len, 0, 0, md, NULL) >= 0)
            names[n++] = name;
        pcre2_code_free(code);
    }
    pcre2_match_data_free(md);
    return n;
}

/* agrees - sw_classify and brute force name the same pattern and the same
 * cues, and each cue's offsets lie in the text (texts with a Postfix
 * "host ..." prefix are skipped: classify drops the prefix) */
static bool
agrees(const struct sw_patterns *p, const char *text, size_t len)
{
    const char *names[SW_CUES_MAX], *name;
    struct sw_verdict v;
    const char *ref;
    unsigned cls;
    size_t i, w, n;

    if (len >= 5 && memcmp(text, "host ", 5) == 0)
        return true;
    sw_classify(p, text, len, &v);
    if (v.ncues != (v.name ? 1u : 0u) || (v.name && v.cue[0].name != v.name)) {
        print_error("sw_classify: %zu cues\n", v.ncues);
        return false;
    }
    sw_classify_cues(p, text, len, &v);
    ref = brute_force(p, text, len, &cls);
    if ((ref == NULL) != (v.name == NULL) || (ref && strcmp(ref, v.name) != 0) || cls != v.cls) {
        print_error("prefilter disagrees: classify %s, sequential %s: \"%.*s\"\n",
                    v.name ? v.name : "-", ref ? ref : "-", (int) (len > 200 ? 200 : len), text);
        return false;
    }
    if (ref == NULL)
        return v.ncues == 0;
    for (w = 0; sw_patterns_get(p, w, &name, NULL, NULL, NULL, NULL) && strcmp(name, ref) != 0; w++)
        ;
    n = brute_cues(p, w, text, len, names);
    if (n != v.ncues || v.tier != sw_patterns_tier(p, w)) {
        print_error("cues disagree: classify %zu, sequential %zu: \"%.*s\"\n", v.ncues, n,
                    (int) (len > 200 ? 200 : len), text);
        return false;
    }
    for (i = 0; i < n; i++)
        if (strcmp(names[i], v.cue[i].name) != 0 || v.cue[i].off + v.cue[i].len > len) {
            print_error("cue %zu: classify %s, sequential %s\n", i, v.cue[i].name, names[i]);
            return false;
        }
    return true;
}

#ifndef SW_TEST_CORPUS

/*
 * Hand-written replies, per provider, with the class they must get and
 * (where it matters) the pattern that must decide.  Written from the
 * providers' documentation and common bounces, not copied from the
 * corpus, which is the separate measurement.
 */
static const struct reply_case {
    const char *text;
    unsigned cls;
    const char *name; /* NULL: any (or none) */
} reply_cases[] = {
    /* Microsoft 365 / Exchange Online / Outlook.com */
    { "550 5.7.606 Access denied, banned sending IP [203.0.113.7]. To request removal from this "
      "list please visit https://sender.office.com/ (AS16012609) "
      "[AM4PEPF00027A5C.eurprd04.prod.outlook.com]",
      T_REP, "m365-banned-ip" },
    { "550 5.7.649 Access denied, banned sending IP [198.51.100.9]", T_REP, "m365-banned-ip" },
    { "5.7.606", T_REP, "m365-banned-ip" },
    { "4.7.650", T_REP, "m365-ip-temporary" },
    { "451 4.7.650 The mail server [192.0.2.44] has been temporarily rate limited due to IP "
      "reputation. For e-mail delivery information, see https://postmaster.live.com (S775) "
      "[Name=Protocol Filter Agent][AGT=PFA]",
      T_REP, "m365-ip-temporary" },
    /* "Server busy" under 4.7.500 is Microsoft's IP restriction, not a throttle. */
    { "451 4.7.500 Server busy. Please try again later from [40.92.0.1]. (S77719) "
      "[BN8NAM12FT021.eop-nam12.prod.protection.outlook.com]",
      T_REP, "m365-ip-temporary" },
    { "550 5.7.708 Access denied, traffic not accepted from this IP. For more information please "
      "go to http://go.microsoft.com/fwlink/?LinkId=526653",
      T_REP, "m365-ip-not-accepted" },
    { "550 5.7.705 Access denied, tenant has exceeded threshold. For more information please go "
      "to http://go.microsoft.com/fwlink/?LinkId=526653",
      T_OTH, "m365-tenant-policy" },
    { "550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains.",
      T_OTH, "m365-tenant-policy" },
    { "530 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM", T_OTH,
      "unauthenticated" },
    { "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
      T_OTH, "unknown-user" },
    { "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", T_OTH, NULL },
    { "421 RP-002 (BAY004-MC5F12) Unfortunately, some messages from 192.0.2.8 weren't sent. "
      "Please try again. We have limits for how many messages can be sent per hour and per day.",
      T_THR, "outlook-rate-limits" },
    { "550 SC-001 (BAY004-MC1F45) Unfortunately, messages from 192.0.2.8 weren't sent. Please "
      "contact your Internet service provider.",
      T_REP, "outlook-policy-codes" },
    { "550 DY-001 (SNT0-MC4-F14) Unfortunately, messages from 198.51.100.3 weren't sent. You can "
      "tell them that Outlook.com does not accept email from dynamic IP addresses.",
      T_REP, "outlook-policy-codes" },
    { "550 5.7.1 Unfortunately, messages from [203.0.113.50] weren't sent. Please contact your "
      "Internet service provider since part of their network is on our block list (S3140).",
      T_REP, "outlook-network-blocked" },
    { "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to "
      "process message due to a permanent exception",
      T_THR, "m365-sending-limits" },
    { "550 5.1.90 Your message can't be sent because you've reached your daily limit for message "
      "recipients.",
      T_THR, "m365-sending-limits" },
    { "421 4.3.2 The maximum number of concurrent server connections has exceeded a limit, closing "
      "transmission channel",
      T_THR, NULL },
    { "421 4.7.0 Connection is throttled, please retry later", T_THR, "rate-limited" },

    /* Gmail / Google Workspace */
    { "550-5.7.25 [203.0.113.9] The IP address sending this message does not have a PTR record "
      "setup, or the corresponding forward DNS entry does not point to the sending IP. As a "
      "policy, Gmail does not accept messages from IPs with missing PTR records. - gsmtp",
      T_REP, "missing-ptr" },
    { "421-4.7.0 [198.51.100.7      15] Our system has detected that this message is suspicious "
      "due to the very low reputation of the sending IP address. To protect our users from spam, "
      "mail sent from your IP address has been temporarily rate limited. - gsmtp",
      T_REP, "gmail-ip-reputation" },
    { "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires "
      "all senders to authenticate with either SPF or DKIM.",
      T_OTH, NULL },
    /* The same rate limit keyed on the SPF domain: authentication, not the IP. */
    { "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your SPF "
      "domain [example.com 10]. To protect our users from spam, mail sent from your domain has "
      "been temporarily rate limited.",
      T_OTH, NULL },
    { "550-5.7.1 [192.0.2.33] Our system has detected that this message is likely unsolicited "
      "mail. To reduce the amount of spam sent to Gmail, this message has been blocked.",
      T_OTH, "spam-verdict" },
    { "550-5.7.1 [203.0.113.4] The IP you're using to send mail is not authorized to send email "
      "directly to our servers. Please use the SMTP relay at your service provider instead.",
      T_REP, "gmail-ip-not-allowed" },
    { "452-4.2.2 The email account that you tried to reach is over quota. Please direct the "
      "recipient to https://support.google.com/mail/?p=OverQuotaTemp",
      T_OTH, "mailbox-full" },
    { "550-5.1.1 The email account that you tried to reach does not exist. Please try "
      "double-checking the recipient's email address for typos",
      T_OTH, "unknown-user" },
    /* A sending quota is a throttle, a mailbox quota is not. */
    { "550 5.4.5 Daily user sending quota exceeded.", T_THR, "google-relay-limits" },
    { "450-4.2.1 Peak SMTP relay limit exceeded for customer C0abc123. To learn more about SMTP "
      "relay sending limits please visit https://support.google.com/a/answer/166852",
      T_THR, "google-relay-limits" },
    { "421-4.7.0 Try again later, closing connection. (EHLO) s12-20020a05", T_THR,
      "gmail-closing-connection" },
    { "421 4.7.0 TLS required for RCPT domain, closing connection.", T_OTH, NULL },
    { "450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend "
      "your message at a later time.",
      T_THR, NULL },

    /* Yahoo / AOL */
    { "421 4.7.0 [TS02] Messages from 198.51.100.2 temporarily deferred due to user complaints - "
      "4.16.56.1",
      T_REP, "yahoo-ip-deferral" },
    { "421 4.7.0 [GL01] Message from (198.51.100.6) temporarily deferred - 4.16.50. "
      "Please refer to https://postmaster.yahooinc.com/error-codes",
      T_REP, "yahoo-ip-deferral" },
    { "553 5.7.1 [BL22] Connections not accepted from IP addresses listed on Spamhaus PBL", T_REP,
      "yahoo-blocklist" },
    /* A TSS code, but about unauthenticated traffic. */
    { "421 4.7.0 [TSS11] Excessive unauthenticated traffic. See "
      "https://postmaster.yahooinc.com/error-codes",
      T_OTH, "unauthenticated" },
    { "554 Message not allowed - [PH01] Email not accepted for policy reasons. Please visit "
      "https://postmaster.yahooinc.com/error-codes",
      T_OTH, "yahoo-policy-content" },
    { "554 delivery error: dd Sorry your message to user@yahoo.com cannot be delivered. This "
      "mailbox is disabled (554.30). - mta1234.mail.bf1.yahoo.com",
      T_OTH, "mailbox-inactive" },

    /* Apple iCloud */
    { "554 5.7.1 [CS01] Message rejected due to local policy. Please visit "
      "https://support.apple.com/en-us/HT204137",
      T_OTH, "icloud-content-policy" },
    { "550 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=203.0.113.8", T_REP,
      "proofpoint-dnsbl" },

    /* Spamhaus: IP zones divert, DBL and ZRD (domains) never do */
    { "554 5.7.1 Service unavailable; Client host [203.0.113.21] blocked using zen.spamhaus.org; "
      "https://www.spamhaus.org/query/ip/203.0.113.21",
      T_REP, "spamhaus-zones" },
    { "blocked using zen.spamhaus.org", T_REP, NULL },
    { "550 5.7.1 Service unavailable; client [198.51.100.4] blocked using sbl-xbl.spamhaus.org",
      T_REP, "spamhaus-zones" },
    { "554 5.7.1 Rejected: IP 203.0.113.12 listed in Spamhaus XBL (https://check.spamhaus.org)",
      T_REP, NULL },
    { "554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked using "
      "abcdefkey.zen.dq.spamhaus.net",
      T_REP, "spamhaus-zones" },
    { "554 5.7.1 Service unavailable; Sender address [news@example.com] blocked using "
      "dbl.spamhaus.org; https://www.spamhaus.org/query/dbl?domain=example.com",
      T_OTH, "spamhaus-dbl" },
    { "550 5.7.1 Message rejected: URL in message body listed in Spamhaus DBL", T_OTH, NULL },
    { "Spamhaus DBL", T_OTH, "spamhaus-dbl" },
    { "550 5.7.1 Message rejected: the sending domain example.net is listed in Spamhaus ZRD", T_OTH,
      NULL },

    /* Barracuda, SpamCop, SORBS, Proofpoint, Trend Micro, Cloudmark, Cisco */
    { "554 Service unavailable; Client host [192.0.2.40] blocked using b.barracudacentral.org; "
      "http://www.barracudanetworks.com/reputation/?pr=1&ip=192.0.2.40",
      T_REP, NULL },
    { "550 5.7.1 Message content rejected by Barracuda spam filter", T_OTH, "content-rejected" },
    { "550 5.7.1 Service unavailable; Client host [198.51.100.23] blocked using bl.spamcop.net; "
      "Blocked - see https://www.spamcop.net/bl.shtml?198.51.100.23",
      T_REP, NULL },
    { "554 5.7.1 Service unavailable; Client host [192.0.2.61] blocked using dnsbl.sorbs.net; "
      "Currently Sending Spam See: http://www.sorbs.net/lookup.shtml?192.0.2.61",
      T_REP, NULL },
    { "554 5.7.1 Service unavailable; Sender address [a@example.org] blocked using "
      "rhsbl.sorbs.net",
      T_OTH, NULL },
    { "550 5.7.1 Message blocked due to spam content in the message", T_OTH, "content-rejected" },
    { "550 5.7.1 Message rejected due to spam content", T_OTH, "content-rejected" },
    { "550 5.7.1 Service unavailable; Client host [192.0.2.77] blocked using Trend Micro Email "
      "Reputation database. Please see "
      "http://www.mail-abuse.com/cgi-bin/lookup?ip_address=192.0.2.77",
      T_REP, NULL },
    { "550 5.7.1 ERS-DUL Service unavailable; the IP is in a dynamic range", T_REP, NULL },
    { "550 5.7.1 Connection refused: your IP 198.51.100.88 has a poor reputation with Cloudmark "
      "Sender Intelligence",
      T_REP, NULL },
    { "554 5.7.1 Message rejected by Cloudmark Authority as spam", T_OTH, "spam-verdict" },
    { "550 #5.7.1 Your access to submit messages to this e-mail system has been rejected. Talos "
      "Intelligence reputation: poor (SBRS -6.2)",
      T_REP, "ironport-sbrs" },

    /* GoDaddy: the IP is blocked, whatever the reason's words */
    { "554 This IP has been temporarily blocked for attempting to send too many messages "
      "containing content judged to be spam by the Internet community. IB110",
      T_REP, "godaddy-ip-block" },
    { "554 This IP has been temporarily blocked for attempting to mail too many invalid "
      "recipients. IB112",
      T_REP, "godaddy-ip-block" },
    { "421 Connection refused, too many sessions from This IP. Please lower the number of "
      "concurrent sessions.",
      T_THR, "too-many-connections" },

    /* Comcast, Cox, Spectrum, AT&T */
    { "554 resimta-po-32v.sys.comcast.net comcast 192.0.2.14 found on one or more DNSBLs, see "
      "http://postmaster.comcast.net/smtp-error-codes.php#BL000001",
      T_REP, "comcast-blocklist" },
    { "421 resimta-h1p-028598.sys.comcast.net Too many sessions opened RL000001", T_THR, NULL },
    { "554 cox 192.0.2.20 rejected. Please see "
      "https://www.cox.com/residential/support/email-error-codes.html AUP#CXBL",
      T_REP, "cox-ip-block" },
    { "421 cox connection limit exceeded AUP#CXCNCT", T_THR, NULL },
    { "554 5.7.1 Your IP has been flagged: see "
      "https://www.spectrum.net/support/internet/understanding-email-error-codes AUP#In-1000",
      T_REP, NULL },
    { "421 4.7.0 Too many connections from your IP AUP#In-1320", T_THR, NULL },
    { "553 5.3.0 flpd575 DNSBL:RBL 521< 203.0.113.6 >_is_blocked.For assistance forward this "
      "error to abuse_rbl@abuse-att.net",
      T_REP, "att-blocklist" },

    /* GMX / WEB.DE, Orange, QQ, Mimecast */
    { "554-mx.web.de (mxweb112) Nemesis ESMTP Service not available 554-No SMTP service 554-Bad "
      "DNS PTR resource record. 554 For explanation visit https://postmaster.web.de/en/case?c=bdns",
      T_REP, NULL },
    { "421 mwinf5c20 ME Trop de connexions, veuillez verifier votre configuration. Too many "
      "connections, slow down. OFR005_104 [104]",
      T_THR, NULL },
    { "550 mwinf5c10 ME Votre adresse IP n'a pas de reverse DNS. Your IP has no reverse DNS.",
      T_REP, NULL },
    { "550 Ip frequency limited. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022",
      T_THR, "qq-frequency" },
    { "550 Mail content denied. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022", T_OTH,
      "content-rejected" },
    { "550 Rejected - sender IP reputation is poor (Mimecast)", T_REP, "ip-reputation" },
    { "550 Envelope blocked - User Entry - https://community.mimecast.com/docs/DOC-1369#550", T_OTH,
      NULL },

    /* General wording and the decisions this module documents */
    { "421 4.7.0 Too many concurrent connections from this IP, try again later", T_THR,
      "too-many-connections" },
    /* A busy receiver asking for a later retry is a capacity limit (as
     * AT&T's "busy--Please try again later"): slowing down or another
     * pool gets the mail through, and nothing blames content. */
    { "450 4.7.1 Primary relay busy, try later", T_THR, "server-busy" },
    { "421 4.4.5 Server busy, try again later.", T_THR, "server-busy" },
    { "421 4.7.0 Message deferred due to excessive volume, try again later", T_THR, "volume" },
    { "421 4.7.0 Rate limit exceeded for 198.51.100.7, try again in 60 seconds", T_THR,
      "rate-limited" },
    { "451 4.7.1 Please try again later (ratelimited)", T_THR, "rate-limited" },
    /* A bare "try again later" says nothing about volume. */
    { "451 4.3.0 Temporary failure, please try again later", T_OTH, NULL },
    { "421 Service not available, closing transmission channel", T_OTH, NULL },
    { "450 4.2.0 <bob@example.com>: Recipient address rejected: Greylisted, see "
      "http://postgrey.schweikert.ch/help/example.com.html, please try again later",
      T_OTH, "greylisting" },
    { "SPF fail", T_OTH, "spf-dkim-dmarc" },
    { "550 5.7.1 SPF fail - not authorized", T_OTH, "spf-dkim-dmarc" },
    { "spam content", T_OTH, "content-rejected" },
    { "550 5.7.1 Unauthenticated email from example.com is not accepted due to domain's DMARC "
      "policy. Please contact the administrator of example.com domain",
      T_OTH, NULL },
    { "550 5.7.1 Rejected: message contains a virus (Eicar-Test-Signature)", T_OTH, "malware" },
    { "552 5.3.4 Message size exceeds fixed maximum message size", T_OTH, "message-size" },
    /* Exclusions win even when the same text blames the IP. */
    { "550 5.7.1 This message looks like spam; also 203.0.113.2 is blocked using zen.spamhaus.org",
      T_OTH, "spam-verdict" },
    { "550 5.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.9]", T_REP,
      NULL },
    { "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied", T_REP, "postfix-rbl" },
    { "550 5.7.1 Mail from dynamic IP address 203.0.113.5 refused; use your ISP's relay", T_REP,
      NULL },
    { "550 5.7.1 Unsolicited mail from your IP address has been blocked", T_REP, "ip-reputation" },
    { "550 5.7.1 Recipient domain does not accept mail from example.org (domain blocklisted)",
      T_OTH, "domain-listed" },
    /* A status code inside an IP address is not a status code. */
    { "451 4.3.0 Temporary failure, relay 10.5.7.25 not responding", T_OTH, NULL },
    { "451 4.3.0 Temporary failure, relay 192.4.7.600 not responding", T_OTH, NULL },

    /* Postfix log reasons */
    { "host mx1.example.com[192.0.2.1] said: 554 5.7.1 Service unavailable; Client host "
      "[198.51.100.3] blocked using zen.spamhaus.org; "
      "https://www.spamhaus.org/query/ip/198.51.100.3 (in reply to RCPT TO command)",
      T_REP, "spamhaus-zones" },
    { "host mx.example.com[192.0.2.1] said: 550 5.1.1 <bob@example.com>: Recipient address "
      "rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)",
      T_OTH, "unknown-user" },
    /* The receiving host's name is not part of the reply. */
    { "host mx.spamcop.net[192.0.2.9] said: 421 4.3.2 Service shutting down, closing channel (in "
      "reply to RCPT TO command)",
      T_OTH, NULL },
    { "host mx.sorbs.net[192.0.2.9] said: 450 4.7.1 Too many connections, slow down (in reply to "
      "MAIL FROM command)",
      T_THR, NULL },

    /* The client's name does not confirm its IP (forward-confirmed
     * reverse DNS, HELO checks). */
    { "550 5.7.1 HELO name relay.example.com mismatches client ip 203.0.113.9", T_REP,
      "helo-ip-mismatch" },
    { "450 4.7.1 Too many unverifiable sending IPs for example.com, try again later", T_REP,
      "helo-ip-mismatch" },
    { "451 4.7.1 Message from unverified client IP 198.51.100.61 deferred", T_REP,
      "helo-ip-mismatch" },
    { "450 4.7.1 Access denied. IP name lookup failed [192.0.2.33]", T_REP, "missing-ptr" },
    /* Open relays: a verdict on the sending host. */
    { "554 5.7.1 Rejected: 192.0.2.7 is an open relay, see http://relays.example.org/", T_REP,
      "open-relay" },
    { "550 5.7.1 Connection from 203.0.113.5 refused: listed in our open relay database", T_REP,
      "ip-lookup-url" },
    /* A permanent refusal before MAIL FROM: only the client is known.
     * Log shape and the shape sw_bounce_reason() gives a bounce. */
    { "host mx.example.org[192.0.2.80] refused to talk to me: 554 5.7.1 Go away", T_REP,
      "refused-before-mail" },
    { "refused to talk to me: 550 Access denied", T_REP, "refused-before-mail" },
    { "550 Rejected (in reply to EHLO command)", T_REP, "refused-before-mail" },
    { "host mx.example.org[192.0.2.80] said: 501 5.0.0 Invalid domain name (in reply to HELO "
      "command)",
      T_REP, "refused-before-mail" },
    /* ... but not a temporary one, one at a later command, or one that
     * says why (an exclusion, or a throttle). */
    { "refused to talk to me: 421 4.3.2 Service shutting down", T_OTH, NULL },
    { "421 4.3.2 Service shutting down (in reply to EHLO command)", T_OTH, NULL },
    { "550 5.1.1 User unknown (in reply to RCPT TO command)", T_OTH, "unknown-user" },
    { "refused to talk to me: 554 5.7.1 SPF check failed for example.com", T_OTH,
      "spf-dkim-dmarc" },
    { "refused to talk to me: 554 Too many connections from your host", T_THR,
      "too-many-connections" },

    /* The general tier: wording no provider pattern knows.  Volume and
     * rate, in English and in the large European and Asian providers'
     * languages (UTF-8; the Latin-1 accent of "dépassée" too). */
    { "450 4.7.1 Number of messages per hour exceeded for this sender", T_THR, "per-time-limit" },
    { "452 4.5.3 Too many recipients in this session", T_THR, "too-many-recipients" },
    { "450 Connects too frequent from 192.0.2.26, try again later", T_THR, "limit-exceeded" },
    { "451 4.7.1 Your organisation's sending quota has been used up", T_THR, "too-many-messages" },
    { "451 4.4.5 Mail system congestion, try again later", T_THR, "server-busy" },
    { "421 Trop d'envois depuis votre serveur, r\xc3\xa9" "essayez plus tard", T_THR,
      "limit-words-intl" },
    { "550 Limite d'envoi d\xe9pass\xe9" "e pour ce compte", T_THR, "limit-words-intl" },
    { "452 Zu viele Empf\xc3\xa4nger in dieser Sitzung", T_THR, "limit-words-intl" },
    { "451 Sendelimit \xc3\xbc" "berschritten, bitte sp\xc3\xa4" "ter erneut versuchen", T_THR,
      "limit-words-intl" },
    { "421 Demasiadas conexiones desde su servidor", T_THR, "limit-words-intl" },
    { "450 Troppi messaggi inviati in poco tempo", T_THR, "limit-words-intl" },
    { "451 \xd0\xa1\xd0\xbb\xd0\xb8\xd1\x88\xd0\xba\xd0\xbe\xd0\xbc \xd0\xbc\xd0\xbd"
      "\xd0\xbe\xd0\xb3\xd0\xbe \xd0\xbf\xd0\xb8\xd1\x81\xd0\xb5\xd0\xbc",
      T_THR, "limit-words-ru" }, /* "Слишком много писем" */
    { "451 \xe5\x8f\x91\xe9\x80\x81\xe9\xa2\x91\xe7\x8e\x87\xe8\xbf\x87\xe9\xab\x98",
      T_THR, "limit-words-zh" }, /* "发送频率过高" */
    { "550 \xe9\x80\x81\xe4\xbf\xa1\xe6\x95\xb0\xe3\x81\x8c\xe5\xa4\x9a\xe3\x81\x99"
      "\xe3\x81\x8e\xe3\x81\xbe\xe3\x81\x99",
      T_THR, "limit-words-ja" }, /* "送信数が多すぎます" */
    /* ... the client IP or host. */
    { "554 5.7.1 Rejected because Bad IP", T_REP, "bad-host" },
    { "550 Please use the SMTP server of your ISP", T_REP, "use-isp-relay" },
    { "450 4.7.1 <pc1>: Helo command rejected: need fully-qualified hostname", T_REP,
      "helo-rejected" },
    { "554 5.7.1 Mail from 192.0.2.44 rejected, see https://lists.example.net/query?ip=192.0.2.44",
      T_REP, "ip-lookup-url" },
    { "451 4.7.1 The mail server [192.0.2.4] has been temporarily rate limited due to IP "
      "reputation",
      T_REP, "ip-reputation" }, /* the reputation outranks the volume words */
    /* ... and what looks like them but is not: exclusions win. */
    { "452 4.2.2 The mailbox has too many messages on the server", T_OTH, NULL },
    { "550 5.7.1 Message blocked using spam pattern", T_OTH, "content-rejected" },
    { "552 Message length exceeds administrative limit", T_OTH, "message-size" },
    { "550 5.4.6 Routing loop detected, hop count exceeded", T_OTH, "mail-loop" },
    { "500 5.5.6 SASL response limit exceeded", T_OTH, "unauthenticated" },
    { "550 User jdoe not listed in public Name & Address Book", T_OTH, "unknown-user" },
    { "452 4.5.3 Recipients belong to multiple regions", T_OTH, NULL }, /* X.5.3 alone */
    { "421 Quota exceeded, message not delivered", T_OTH, NULL },         /* whose quota? */
};

static void
test_reply_cases(void **state)
{
    const size_t n = sizeof(reply_cases) / sizeof(reply_cases[0]);
    struct sw_verdict v;
    size_t i, per_class[3] = { 0, 0, 0 };
    int failed = 0;

    (void) state;
    for (i = 0; i < n; i++) {
        const struct reply_case *c = &reply_cases[i];

        sw_classify(lib, c->text, strlen(c->text), &v);
        per_class[c->cls]++;
        if (v.cls != c->cls || (c->name && (v.name == NULL || strcmp(v.name, c->name) != 0))) {
            print_error("case %zu: %s (%s), expected %s (%s): \"%s\"\n", i, sw_class_name(v.cls),
                        v.name ? v.name : "no pattern", sw_class_name(c->cls),
                        c->name ? c->name : "any", c->text);
            failed++;
        }
        if ((v.name == NULL) != (v.provider == NULL) || (v.name == NULL) != (v.note == NULL)
            || (v.name == NULL && v.cls != SW_CLASS_OTHER)) {
            print_error("case %zu: inconsistent verdict\n", i);
            failed++;
        }
        if (!agrees(lib, c->text, strlen(c->text)))
            failed++;
    }
    print_message("%zu cases: %zu reputation, %zu throttle, %zu other\n", n,
                  per_class[SW_CLASS_REPUTATION], per_class[SW_CLASS_THROTTLE],
                  per_class[SW_CLASS_OTHER]);
    assert_true(n >= 40);
    assert_int_equal(failed, 0);
}

/* Every shipped pattern: name, provider and note present; the library
 * loads without error; evaluation order puts the exclusions first. */
static void
test_shipped_library(void **state)
{
    const char *name, *re, *prov, *note;
    unsigned cls, last = SW_CLASS_OTHER;
    size_t i, n = sw_patterns_count(lib);

    (void) state;
    assert_true(n >= 60);
    for (i = 0; i < n; i++) {
        assert_true(sw_patterns_get(lib, i, &name, &cls, &re, &prov, &note));
        if (*note == '\0' || strcmp(prov, "local") == 0)
            fail_msg("%s: shipped patterns need a provider and a note", name);
        if (last != SW_CLASS_OTHER && cls == SW_CLASS_OTHER)
            fail_msg("%s: an exclusion after a diverting pattern in evaluation order", name);
        last = cls;
    }
    assert_false(sw_patterns_get(lib, n, &name, &cls, &re, &prov, &note));
}

/* Input edges: empty, NULL, NUL bytes, the length bound, a library that
 * is not compiled. */
static void
test_input_edges(void **state)
{
    static const char with_nul[] = "550 5.7.1 \0 blocked using zen.spamhaus.org";
    char *big;
    struct sw_verdict v;
    struct sw_patterns *empty;
    struct sw_buf err;
    size_t at;

    (void) state;
    sw_buf_init(&err, 1024);
    sw_classify(lib, "", 0, &v);
    assert_int_equal(v.cls, SW_CLASS_OTHER);
    assert_null(v.name);
    sw_classify(lib, NULL, 0, &v);
    assert_null(v.name);
    sw_classify(lib, NULL, 5, &v);
    assert_null(v.name);
    sw_classify(NULL, "5.7.606", 7, &v);
    assert_null(v.name);
    /* NUL is an ordinary byte; the length is what counts. */
    sw_classify(lib, with_nul, sizeof(with_nul) - 1, &v);
    assert_int_equal(v.cls, SW_CLASS_REPUTATION);
    sw_classify(lib, with_nul, 12, &v);
    assert_null(v.name);
    /* Only the first SW_CLASSIFY_MAX_TEXT bytes are looked at. */
    big = malloc(3 * SW_CLASSIFY_MAX_TEXT);
    assert_non_null(big);
    memset(big, 'x', 3 * SW_CLASSIFY_MAX_TEXT);
    at = SW_CLASSIFY_MAX_TEXT - 7;
    memcpy(big + at, "5.7.606", 7);
    sw_classify(lib, big, 3 * SW_CLASSIFY_MAX_TEXT, &v);
    assert_int_equal(v.cls, SW_CLASS_REPUTATION);
    memset(big + at, 'x', 7);
    memcpy(big + at + 1, "5.7.606", 7);
    sw_classify(lib, big, 3 * SW_CLASSIFY_MAX_TEXT, &v);
    assert_int_equal(v.cls, SW_CLASS_OTHER);
    assert_null(v.name);
    free(big);
    /* Not compiled, or compiled empty: no answer but "other". */
    empty = sw_patterns_new();
    assert_non_null(empty);
    sw_classify(empty, "5.7.606", 7, &v);
    assert_null(v.name);
    assert_true(sw_patterns_compile(empty, &err));
    assert_int_equal(sw_patterns_count(empty), 0);
    sw_classify(empty, "5.7.606", 7, &v);
    assert_null(v.name);
    sw_patterns_free(empty);
    sw_patterns_free(NULL);
    sw_buf_free(&err);
}

static void
test_class_words(void **state)
{
    unsigned c = 99;

    (void) state;
    assert_string_equal(sw_class_name(SW_CLASS_OTHER), "other");
    assert_string_equal(sw_class_name(SW_CLASS_REPUTATION), "reputation");
    assert_string_equal(sw_class_name(SW_CLASS_THROTTLE), "throttle");
    assert_true(sw_class_parse("reputation", &c) && c == SW_CLASS_REPUTATION);
    assert_true(sw_class_parse("throttle", &c) && c == SW_CLASS_THROTTLE);
    assert_true(sw_class_parse("other", &c) && c == SW_CLASS_OTHER);
    assert_false(sw_class_parse("Reputation", &c));
    assert_false(sw_class_parse("", &c));
}

/* add_text - parse a libconfig text and add its patterns list */
static bool
add_text(struct sw_patterns *p, const char *text, const char *file, struct sw_buf *err)
{
    config_t cf;
    bool ok;

    config_init(&cf);
    if (config_read_string(&cf, text) != CONFIG_TRUE)
        fail_msg("test config does not parse: line %d: %s", config_error_line(&cf),
                 config_error_text(&cf));
    ok = sw_patterns_add_list(p, config_lookup(&cf, "patterns"), file, err);
    config_destroy(&cf);
    return ok;
}

static const char base_list[] =
    "patterns = (\n"
    "  { name = \"ex-content\"; class = \"other\"; provider = \"base\";\n"
    "    match = \"content\"; note = \"n\"; },\n"
    "  { name = \"rep-blocked\"; class = \"reputation\"; provider = \"base\";\n"
    "    match = \"\\\\bblocked\\\\b\"; note = \"n\"; },\n"
    "  { name = \"thr-busy\"; class = \"throttle\"; provider = \"base\";\n"
    "    match = \"\\\\bbusy\\\\b\"; note = \"n\"; },\n"
    "  { name = \"rep-listed\"; class = \"reputation\"; provider = \"base\";\n"
    "    match = \"listed\"; note = \"n\"; }\n"
    ");\n";

/* order_names - names in evaluation order, space-separated */
static const char *
order_names(const struct sw_patterns *p, char *buf, size_t size)
{
    const char *name;
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; sw_patterns_get(p, i, &name, NULL, NULL, NULL, NULL); i++)
        o += (size_t) snprintf(buf + o, size - o, "%s%s", i ? " " : "", name);
    return buf;
}

/* Operators override shipped patterns: replace in place, remove, and add
 * new ones that are evaluated before everything shipped. */
static void
test_overrides(void **state)
{
    struct sw_patterns *p = sw_patterns_new();
    struct sw_verdict v;
    struct sw_buf err;
    char names[512];
    const char *prov, *re;
    unsigned cls;

    (void) state;
    sw_buf_init(&err, 8192);
    assert_true(add_text(p, base_list, "shipped.conf", &err));
    assert_string_equal(order_names(p, names, sizeof(names)),
                        "ex-content rep-blocked thr-busy rep-listed");
    assert_true(add_text(p,
                         "patterns = (\n"
                         "  { name = \"my-relay\"; class = \"throttle\";\n"
                         "    match = \"relay (?:is )?blocked\"; },\n"
                         "  { name = \"rep-blocked\"; class = \"throttle\"; match = \"blocked\";\n"
                         "    provider = \"ops\"; note = \"we know better\"; },\n"
                         "  { name = \"rep-listed\"; enabled = false; },\n"
                         "  { name = \"never-defined\"; enabled = false; }\n"
                         ");\n",
                         "local.conf", &err));
    assert_int_equal(err.len, 0);
    assert_true(sw_patterns_compile(p, &err));
    /* New names first, replaced ones in place, removed ones gone. */
    assert_string_equal(order_names(p, names, sizeof(names)),
                        "ex-content my-relay rep-blocked thr-busy");
    assert_int_equal(sw_patterns_count(p), 4);
    assert_true(sw_patterns_get(p, 2, NULL, &cls, &re, &prov, NULL));
    assert_int_equal(cls, SW_CLASS_THROTTLE);
    assert_string_equal(re, "blocked");
    assert_string_equal(prov, "ops");
    assert_true(sw_patterns_get(p, 1, NULL, NULL, NULL, &prov, NULL));
    assert_string_equal(prov, "local"); /* default */
    /* The operator's pattern is tried before the shipped ones. */
    CLASSIFY(p, "451 relay blocked, server busy", &v);
    assert_string_equal(v.name, "my-relay");
    CLASSIFY(p, "554 you are blocked", &v);
    assert_string_equal(v.name, "rep-blocked");
    assert_int_equal(v.cls, SW_CLASS_THROTTLE);
    CLASSIFY(p, "554 listed", &v);
    assert_null(v.name);
    /* Exclusions still win over an operator's diverting pattern. */
    CLASSIFY(p, "554 relay blocked for content", &v);
    assert_string_equal(v.name, "ex-content");
    assert_int_equal(v.cls, SW_CLASS_OTHER);
    /* Frozen once compiled. */
    assert_false(add_text(p, base_list, "late.conf", &err));
    assert_non_null(strstr(sw_buf_str(&err), "already compiled"));
    sw_patterns_free(p);
    sw_buf_free(&err);
}

/* Lists with errors: each message names file, line, the key path and
 * the problem, and a failed list changes nothing. */
static const struct error_case {
    const char *text;
    const char *msg[3];
} error_cases[] = {
    { "patterns = (\n"
      "  { name = \"a\"; class = \"other\"; match = \"ok\"; },\n"
      "  { name = \"b\"; class = \"reputation\";\n"
      "    match = \"banned (sending IP\"; }\n"
      ");\n",
      { "op.conf:4: patterns[1].match: bad regular expression at offset 18:",
        "missing closing parenthesis", NULL } },
    { "patterns = (\n"
      "  { name = \"a\"; class = \"reputation\"; match = \"x\"; colour = \"red\"; }\n);\n",
      { "op.conf:2: patterns[0].colour: unknown key", NULL } },
    { "patterns = (\n  { name = \"a\"; class = \"reputation\";\n    tier = \"generic\"; "
      "match = \"x\"; }\n);\n",
      { "op.conf:3: patterns[0].tier: \"generic\": must be \"provider\" or \"general\"", NULL } },
    { "patterns = (\n  { name = \"a\"; class = \"reputaton\"; match = \"x\"; }\n);\n",
      { "op.conf:2: patterns[0].class: \"reputaton\": must be \"reputation\", \"throttle\" or "
        "\"other\"",
        NULL } },
    { "patterns = ( { name = \"a\"; class = \"throttle\"; } );\n",
      { "op.conf:1: patterns[0].match: missing (required)", NULL } },
    { "patterns = ( { class = \"throttle\"; match = \"x\"; } );\n",
      { "op.conf:1: patterns[0].name: missing (required)", NULL } },
    { "patterns = ( { name = \"a b\"; class = \"throttle\"; match = \"x\"; } );\n",
      { "patterns[0].name: \"a b\": use letters, digits", NULL } },
    { "patterns = ( { name = \"a\"; class = \"throttle\"; match = \"x|\"; } );\n",
      { "patterns[0].match: can match an empty string", NULL } },
    { "patterns = ( { name = \"a\"; class = \"throttle\"; match = \"\\\\bx?\\\\b\"; } );\n",
      { "patterns[0].match: can match an empty string", NULL } },
    { "patterns = ( { name = \"a\"; class = \"throttle\"; match = \"\"; } );\n",
      { "patterns[0].match: must not be empty", NULL } },
    { "patterns = ( { name = \"a\"; class = \"throttle\"; match = 5; } );\n",
      { "patterns[0].match: must be a string", NULL } },
    { "patterns = ( { name = \"a\"; class = \"throttle\"; match = \"x\"; enabled = \"no\"; } );\n",
      { "patterns[0].enabled: must be true or false", NULL } },
    { "patterns = (\n  { name = \"a\"; class = \"other\"; match = \"x\"; },\n"
      "  { name = \"a\"; class = \"other\"; match = \"y\"; }\n);\n",
      { "op.conf:3: patterns[1]: pattern \"a\" already defined at line 2", NULL } },
    { "patterns = ( \"x\" );\n", { "patterns[0]: must be a group", NULL } },
    { "patterns = { name = \"a\"; };\n", { "op.conf:1: patterns: must be a list", NULL } },
    { "other = 1;\n", { "patterns: missing (required)", NULL } },
};

/*
 * Tiers: the four groups decide the order whatever the file order; a
 * general exclusion still beats a provider's diverting code; the cues
 * are the winner and the later matches of its group, with offsets.
 */
static void
test_tiers(void **state)
{
    struct sw_patterns *p = sw_patterns_new();
    struct sw_verdict v;
    struct sw_buf err;
    char names[512];
    const char *text = "550 5.7.99 your IP is listed, too many messages (X99)";

    (void) state;
    sw_buf_init(&err, 8192);
    assert_true(add_text(p,
                         "patterns = (\n"
                         "  { name = \"gen-listed\"; class = \"reputation\"; tier = \"general\";\n"
                         "    match = \"\\\\bIP is listed\"; },\n"
                         "  { name = \"gen-volume\"; class = \"throttle\"; tier = \"general\";\n"
                         "    match = \"too many messages\"; },\n"
                         "  { name = \"gen-spam\"; class = \"other\"; tier = \"general\";\n"
                         "    match = \"\\\\bspam\\\\b\"; },\n"
                         "  { name = \"prov-code\"; class = \"throttle\"; match = \"\\\\(X99\\\\)\"; },\n"
                         "  { name = \"prov-other\"; class = \"other\"; tier = \"provider\";\n"
                         "    match = \"\\\\(X98\\\\)\"; }\n"
                         ");\n",
                         "tiers.conf", &err));
    assert_true(sw_patterns_compile(p, &err));
    assert_string_equal(order_names(p, names, sizeof(names)),
                        "prov-other gen-spam prov-code gen-listed gen-volume");
    assert_int_equal(sw_patterns_tier(p, 0), SW_TIER_PROVIDER);
    assert_int_equal(sw_patterns_tier(p, 2), SW_TIER_PROVIDER); /* the default */
    assert_int_equal(sw_patterns_tier(p, 3), SW_TIER_GENERAL);
    assert_int_equal(sw_patterns_tier(p, 99), SW_TIER_PROVIDER);
    /* The provider's code decides before the general words; its group
     * has nothing else that matches, so it is the only cue. */
    CLASSIFY(p, text, &v);
    assert_string_equal(v.name, "prov-code");
    assert_int_equal(v.tier, SW_TIER_PROVIDER);
    assert_int_equal(v.cls, SW_CLASS_THROTTLE);
    assert_int_equal(v.ncues, 1);
    assert_int_equal(v.cue[0].off, strlen(text) - 5);
    assert_int_equal(v.cue[0].len, 5);
    /* Without it: the general group, first match wins, both are cues
     * (a reputation and a throttle word: the file order decides). */
    CLASSIFY(p, "550 5.7.99 your IP is listed, too many messages", &v);
    assert_int_equal(v.ncues, 1); /* the mail path keeps the winner only */
    sw_classify_cues(p, "550 5.7.99 your IP is listed, too many messages",
                     strlen("550 5.7.99 your IP is listed, too many messages"), &v);
    assert_string_equal(v.name, "gen-listed");
    assert_int_equal(v.tier, SW_TIER_GENERAL);
    assert_int_equal(v.ncues, 2);
    assert_string_equal(v.cue[0].name, "gen-listed");
    assert_int_equal(v.cue[0].off, 16);
    assert_int_equal(v.cue[0].len, 12);
    assert_string_equal(v.cue[1].name, "gen-volume");
    assert_int_equal(v.cue[1].off, 30);
    /* A general exclusion beats the provider's diverting code. */
    CLASSIFY(p, "550 spam (X99)", &v);
    assert_string_equal(v.name, "gen-spam");
    assert_int_equal(v.cls, SW_CLASS_OTHER);
    assert_int_equal(v.tier, SW_TIER_GENERAL);
    /* Nothing: other, no cues. */
    CLASSIFY(p, "250 ok", &v);
    assert_null(v.name);
    assert_int_equal(v.ncues, 0);
    /* The offsets count the skipped Postfix prefix too. */
    CLASSIFY(p, "host mx.example[192.0.2.1] said: 550 IP is listed", &v);
    assert_string_equal(v.name, "gen-listed");
    assert_int_equal(v.cue[0].off, 37);
    sw_patterns_free(p);
    sw_buf_free(&err);
}

static void
test_errors(void **state)
{
    struct sw_patterns *p = sw_patterns_new();
    struct sw_buf err;
    char names[512];
    size_t i, k;
    int failed = 0;

    (void) state;
    sw_buf_init(&err, 8192);
    assert_true(add_text(p, base_list, "shipped.conf", &err));
    for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        sw_buf_reset(&err);
        if (add_text(p, error_cases[i].text, "op.conf", &err)) {
            print_error("error case %zu: accepted\n", i);
            failed++;
            continue;
        }
        for (k = 0; k < 3 && error_cases[i].msg[k]; k++)
            if (strstr(sw_buf_str(&err), error_cases[i].msg[k]) == NULL) {
                print_error("error case %zu: \"%s\" lacks \"%s\"\n", i, sw_buf_str(&err),
                            error_cases[i].msg[k]);
                failed++;
            }
    }
    /* All or nothing: the valid first entry of a bad list was not added. */
    assert_string_equal(order_names(p, names, sizeof(names)),
                        "ex-content rep-blocked thr-busy rep-listed");
    sw_patterns_free(p);
    sw_buf_free(&err);
    assert_int_equal(failed, 0);
}

/* sw_patterns_load_file: missing file, syntax, unknown top-level key. */
static void
test_load_file(void **state)
{
    static const struct {
        const char *text; /* NULL: no file */
        const char *msg;
    } cases[] = {
        { NULL, "No such file or directory" },
        { "patterns = ( { name = \"a\" \n", ":2: syntax:" },
        { "patterns = ();\nrules = ();\n", ":2: rules: unknown key" },
        { "patterns = ( { name = \"a\"; class = \"other\"; match = \"(\"; } );\n",
          ":1: patterns[0].match: bad regular expression at offset 1" },
        { "# fine\npatterns = ( { name = \"a\"; class = \"other\"; match = \"x\"; } );\n", NULL },
    };
    char path[] = "/tmp/test_classify.XXXXXX";
    struct sw_patterns *p;
    struct sw_buf err;
    FILE *fp;
    size_t i;
    int fd;

    (void) state;
    sw_buf_init(&err, 8192);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p = sw_patterns_new();
        sw_buf_reset(&err);
        if (cases[i].text == NULL) {
            assert_false(sw_patterns_load_file(p, "/nonexistent/patterns.conf", &err));
        } else {
            assert_true((fd = mkstemp(path)) >= 0);
            assert_non_null(fp = fdopen(fd, "w"));
            assert_true(fputs(cases[i].text, fp) >= 0);
            assert_int_equal(fclose(fp), 0);
            assert_int_equal(sw_patterns_load_file(p, path, &err), cases[i].msg == NULL);
            assert_int_equal(unlink(path), 0);
            memcpy(path + sizeof(path) - 7, "XXXXXX", 6);
        }
        if (cases[i].msg && strstr(sw_buf_str(&err), cases[i].msg) == NULL)
            fail_msg("load case %zu: \"%s\" lacks \"%s\"", i, sw_buf_str(&err), cases[i].msg);
        sw_patterns_free(p);
    }
    sw_buf_free(&err);
}

/*
 * The prefilter reads regex syntax to find literals; whatever it reads,
 * the answers must be those of plain evaluation.  Patterns with unusual
 * constructs, each against texts that match it and texts that nearly do.
 */
static void
test_prefilter_syntax(void **state)
{
    static const char list[] =
        "patterns = (\n"
        "  { name = \"p-case\"; class = \"throttle\"; match = \"(?-i)ABC|x{2}yz\"; },\n"
        "  { name = \"p-quote\"; class = \"throttle\"; match = \"\\\\Qa.b*c\\\\E+d\"; },\n"
        "  { name = \"p-class\"; class = \"throttle\"; match = \"[\\\\]q]uux|[[:digit:]]vv\"; },\n"
        "  { name = \"p-look\"; class = \"throttle\"; match = \"(?<=k)kilo(?!x)\"; },\n"
        "  { name = \"p-opt\"; class = \"throttle\"; match = \"(?i:MiKe)r?s\"; },\n"
        "  { name = \"p-back\"; class = \"reputation\"; match = \"(o)\\\\1scar\"; },\n"
        "  { name = \"p-named\"; class = \"reputation\"; match = \"(?<p>pa)pa\\\\k<p>\"; },\n"
        "  { name = \"p-quant\"; class = \"reputation\"; match = \"que{2,}n?bec|ro?meo\"; },\n"
        "  { name = \"p-top-opt\"; class = \"reputation\"; match = \"(?-i)Sierra|tango\"; },\n"
        "  { name = \"p-esc\"; class = \"reputation\"; match = \"uni\\\\x66orm|vic\\\\tor\"; },\n"
        "  { name = \"p-nest\"; class = \"reputation\"; match = \"w(?:h(?:i|y)|ho)skey\"; },\n"
        "  { name = \"p-brace\"; class = \"reputation\"; match = \"x{,2}ray\"; },\n"
        "  { name = \"p-dot\"; class = \"reputation\"; match = \"yan.ee|zu+lu\"; },\n"
        "  { name = \"p-cond\"; class = \"reputation\"; match = \"(a)?(?(1)lpha|bravo)\"; }\n"
        ");\n";
    static const char *const texts[] = {
        "ABC",     "abc",    "xxyz",     "XXYZ",    "a.b*cd",   "a.b*ccd", "a.bcd",   "]uux",
        "quux",    "7vv",    "vv",       "kkilo",   "kilo",     "kkilox",  "MIKEs",   "mikers",
        "oooscar", "oscar",  "papapa",   "papa",    "queeebec", "quebec",  "rmeo",    "romeo",
        "Sierra",  "sierra", "TANGO",    "uniform", "vic\tor",  "whiskey", "whyskey", "whoskey",
        "wskey",   "ray",    "x{,2}ray", "yankee",  "yan\nee",  "zuuulu",  "alpha",   "aalpha",
        "bravo",   "abravo", "",
    };
    struct sw_patterns *p = sw_patterns_new();
    struct sw_buf err;
    size_t i;
    int failed = 0;

    (void) state;
    sw_buf_init(&err, 8192);
    if (!add_text(p, list, "syntax.conf", &err) || !sw_patterns_compile(p, &err))
        fail_msg("%s", sw_buf_str(&err));
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (!agrees(p, texts[i], strlen(texts[i])))
            failed++;
    sw_patterns_free(p);
    sw_buf_free(&err);
    assert_int_equal(failed, 0);
}

/* A pattern with catastrophic backtracking is cut off: "other", never a
 * diversion, and the call returns.  Without the cap this text would take
 * about 2^40 steps before the pattern matches at the "c". */
static void
test_match_limit(void **state)
{
    struct sw_patterns *p = sw_patterns_new();
    struct sw_verdict v;
    struct sw_buf err;
    char text[48];

    (void) state;
    sw_buf_init(&err, 8192);
    assert_true(add_text(p,
                         "patterns = ( { name = \"slow\"; class = \"reputation\";"
                         " match = \"(?:a|a)*(?:a|a)*c\"; } );\n",
                         "slow.conf", &err));
    assert_true(sw_patterns_compile(p, &err));
    CLASSIFY(p, "aac", &v);
    assert_string_equal(v.name, "slow");
    memset(text, 'a', sizeof(text));
    memcpy(text + sizeof(text) - 4, "b c", 4);
    CLASSIFY(p, text, &v);
    assert_int_equal(v.cls, SW_CLASS_OTHER);
    assert_null(v.name);
    sw_patterns_free(p);
    sw_buf_free(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_cases), cmocka_unit_test(test_shipped_library),
        cmocka_unit_test(test_input_edges), cmocka_unit_test(test_class_words),
        cmocka_unit_test(test_overrides),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load_file),   cmocka_unit_test(test_prefilter_syntax),
        cmocka_unit_test(test_match_limit), cmocka_unit_test(test_tiers),
    };

    return cmocka_run_group_tests(tests, load_shipped, free_shipped);
}

#else /* SW_TEST_CORPUS */

/* The measurement's result, kept for the assertions. */
static struct {
    size_t m[3][3]; /* [labelled][classified] */
    size_t rows, wrong, bad_other, disagree;
} res;

/* unquote - undo CSV quoting of a field ("..." with "" for "), in place;
 * a few rows of the TSV carry it although the README says there is none */
static char *
unquote(char *f)
{
    size_t n = strlen(f), i, o = 0;

    if (n < 2 || f[0] != '"' || f[n - 1] != '"')
        return f;
    for (i = 1; i + 1 < n; i++) {
        f[o++] = f[i];
        if (f[i] == '"' && f[i + 1] == '"')
            i++;
    }
    f[o] = '\0';
    return f;
}

static void
test_corpus(void **state)
{
    const char *path = *state;
    char line[T_LINE_MAX], header[T_LINE_MAX], *h[16], *f[16];
    int nh, nf, c_reply, c_class, c_notes, c_prov, lineno = 1;
    static const unsigned order[3] = { SW_CLASS_REPUTATION, SW_CLASS_THROTTLE, SW_CLASS_OTHER };
    struct sw_verdict v;
    unsigned want;
    size_t i, j, tp, col, row;
    FILE *fp;

    assert_non_null(fp = fopen(path, "r"));
    assert_non_null(fgets(header, sizeof(header), fp));
    nh = tsv_split(header, h, 16);
    c_prov = tsv_column(h, nh, "provider");
    c_reply = tsv_column(h, nh, "smtp_reply");
    c_class = tsv_column(h, nh, "class");
    c_notes = tsv_column(h, nh, "notes");
    assert_true(c_prov >= 0 && c_reply >= 0 && c_class >= 0 && c_notes >= 0);
    printf("misclassified rows (line: labelled -> classified by pattern):\n");
    while (fgets(line, sizeof(line), fp) != NULL) {
        lineno++;
        nf = tsv_split(line, f, 16);
        if (nf <= c_reply || nf <= c_class || *f[c_reply] == '\0')
            continue;
        if (!sw_class_parse(f[c_class], &want))
            fail_msg("line %d: unknown class \"%s\"", lineno, f[c_class]);
        unquote(f[c_reply]);
        sw_classify(lib, f[c_reply], strlen(f[c_reply]), &v);
        res.m[want][v.cls]++;
        res.rows++;
        if (!agrees(lib, f[c_reply], strlen(f[c_reply])))
            res.disagree++;
        if (v.cls == want)
            continue;
        res.wrong++;
        printf("  %d: %s -> %s (%s) [%s] %.100s%s\n", lineno, f[c_class], sw_class_name(v.cls),
               v.name ? v.name : "no pattern", f[c_prov], f[c_reply],
               strlen(f[c_reply]) > 100 ? "..." : "");
        if (want == SW_CLASS_OTHER && (nf <= c_notes || strstr(f[c_notes], "AMBIGUOUS") == NULL)) {
            printf("     ^ an \"other\" row would divert mail\n");
            res.bad_other++;
        }
    }
    (void) fclose(fp);
    if (res.wrong == 0)
        printf("  (none)\n");

    printf("\nconfusion matrix (%zu rows; rows labelled, columns classified):\n", res.rows);
    printf("  %-12s %10s %10s %10s\n", "", "reputation", "throttle", "other");
    for (i = 0; i < 3; i++) {
        printf("  %-12s", sw_class_name(order[i]));
        for (j = 0; j < 3; j++)
            printf(" %10zu", res.m[order[i]][order[j]]);
        printf("\n");
    }
    printf("\n  %-12s %9s %9s\n", "class", "precision", "recall");
    for (i = 0; i < 2; i++) {
        tp = res.m[order[i]][order[i]];
        for (col = 0, row = 0, j = 0; j < 3; j++) {
            col += res.m[j][order[i]];
            row += res.m[order[i]][j];
        }
        printf("  %-12s %9.3f %9.3f\n", sw_class_name(order[i]), tsv_ratio(tp, col),
               tsv_ratio(tp, row));
        if (tsv_ratio(tp, col) < 0.95 || tsv_ratio(tp, row) < 0.9)
            fail_msg("%s: precision %.3f (>= 0.95) or recall %.3f (>= 0.90) too low",
                     sw_class_name(order[i]), tsv_ratio(tp, col), tsv_ratio(tp, row));
    }
    printf("  other rows classified reputation or throttle (not AMBIGUOUS): %zu\n", res.bad_other);
    printf("  prefilter disagreements with sequential evaluation: %zu\n", res.disagree);
    assert_int_equal(res.bad_other, 0);
    assert_int_equal(res.disagree, 0);
    assert_true(res.rows > 0);
}

int
main(void)
{
    char path[T_PATH_MAX];
    const char *e = getenv("SPILLWAY_CORPUS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_corpus, path),
    };
    FILE *fp;

    if (e && *e)
        (void) snprintf(path, sizeof(path), "%s/replies/provider-replies.tsv", e);
    else
        (void) srcdir_path(path, sizeof(path), "../shared/corpus/replies/provider-replies.tsv");
    if ((fp = fopen(path, "r")) == NULL) {
        printf("SKIP: corpus not found at %s (set SPILLWAY_CORPUS)\n", path);
        return 77;
    }
    (void) fclose(fp);
    return cmocka_run_group_tests(tests, load_shipped, free_shipped);
}

#endif /* SW_TEST_CORPUS */
