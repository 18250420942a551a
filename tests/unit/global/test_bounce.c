/* test_bounce.c - reading bounces (bounce.h) and the MIME walker under it (mime.h) */

/*
 * Hand-written messages, one per shape the parser reads: an RFC 3464 DSN
 * from Postfix with two recipients, encoded parts (base64, quoted-
 * printable), returned headers as text/rfc822-headers and message/rfc822,
 * Exim, qmail, Sendmail and Exchange texts, an ARF report, an auto-reply
 * and ordinary mail.  Each case runs three times: as written (LF), with
 * CRLF and with CR line ends, and must give the same result.  Then the
 * limits (depth, parts, recipients, header length, size, hosts), each of
 * which must set truncated and leave a usable result, and the helpers
 * sw_bounce_reason(), sw_bounce_rcpt_failed(), sw_bounce_kind_name().
 *
 * The messages are written for this test (example domains, documentation
 * addresses); none is copied from the corpus, which test_bounce_corpus
 * measures separately.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/bounce.h"
#include "util/mime.h"

#define T_MAX_RCPT 4
#define T_MAX_LIST 6
#define T_BIG      (SW_BOUNCE_KEEP_MAX + 100000u)

/* What one recipient record must hold; NULL fields are not checked. */
struct want_rcpt {
    const char *rcpt;
    const char *action;
    const char *status;
    int code;
    const char *diag;    /* a substring of the diagnostic */
    const char *command; /* exact, "" for none */
    const char *reason;  /* exact sw_bounce_reason() */
};

struct bounce_case {
    const char *name;
    const char *msg;
    enum sw_bounce_kind kind;
    size_t nrcpt;
    struct want_rcpt r[T_MAX_RCPT];
    const char *rmta; /* NULL: not checked; "" must be empty */
    const char *tag;
    const char *mid;
    const char *hosts[T_MAX_LIST]; /* each must be there */
    const char *ips[T_MAX_LIST];
    const char *not_ips[T_MAX_LIST]; /* each must not be there */
};

/* ----------------------------------------------------------- messages */

/* Postfix: two recipients, the notification, the report, the headers. */
static const char postfix_two[] =
    "Return-Path: <>\n"
    "Received: from mx1.example.net (mx1.example.net [198.51.100.25])\n"
    "\tby relay.example.com (Postfix) with ESMTPS id 4QxY2p1Zz\n"
    "\tfor <alice@example.com>; Mon,  6 May 2024 10:00:00 +0000 (UTC)\n"
    "From: MAILER-DAEMON@mx1.example.net (Mail Delivery System)\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "To: alice@example.com\n"
    "Auto-Submitted: auto-replied\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"8A1B2C3D4E.1715000000/mx1.example.net\"\n"
    "Message-Id: <20240506100000.8A1B2C3D4E@mx1.example.net>\n"
    "\n"
    "This is a MIME-encapsulated message.\n"
    "\n"
    "--8A1B2C3D4E.1715000000/mx1.example.net\n"
    "Content-Description: Notification\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "This is the mail system at host mx1.example.net.\n"
    "\n"
    "<bob@example.org>: host mx.example.org[203.0.113.5] said: 550 5.1.1\n"
    "    <bob@example.org>: Recipient address rejected: User unknown in local\n"
    "    recipient table (in reply to RCPT TO command)\n"
    "\n"
    "<carol@example.org>: host mx.example.org[203.0.113.5] said: 554 5.7.1\n"
    "    Service unavailable; Client host [198.51.100.25] blocked using\n"
    "    zen.spamhaus.org (in reply to RCPT TO command)\n"
    "\n"
    "--8A1B2C3D4E.1715000000/mx1.example.net\n"
    "Content-Description: Delivery report\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx1.example.net\n"
    "X-Postfix-Queue-ID: 8A1B2C3D4E\n"
    "X-Postfix-Sender: rfc822; alice@example.com\n"
    "Arrival-Date: Mon,  6 May 2024 09:59:58 +0000 (UTC)\n"
    "\n"
    "Final-Recipient: rfc822; bob@example.org\n"
    "Original-Recipient: rfc822;bob@example.org\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mx.example.org\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected:\n"
    "    User unknown in local recipient table\n"
    "\n"
    "Final-Recipient: rfc822; carol@example.org\n"
    "Original-Recipient: rfc822;carol@example.org\n"
    "Action: failed\n"
    "Status: 5.7.1\n"
    "Remote-MTA: dns; mx.example.org\n"
    "Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host\n"
    "    [198.51.100.25] blocked using zen.spamhaus.org\n"
    "\n"
    "--8A1B2C3D4E.1715000000/mx1.example.net\n"
    "Content-Description: Undelivered Message Headers\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "Received: from client.example.com (client.example.com [192.0.2.10])\n"
    "\tby mx1.example.net (Postfix) with ESMTPSA id 8A1B2C3D4E\n"
    "\tfor <bob@example.org>; Mon,  6 May 2024 09:59:58 +0000 (UTC)\n"
    "X-Spillway-Tag: v1.m365.AbCdEf012345\n"
    "Message-ID: <msg-0001@client.example.com>\n"
    "From: Alice <alice@example.com>\n"
    "To: bob@example.org, carol@example.org\n"
    "Subject: Quarterly figures\n"
    "\n"
    "--8A1B2C3D4E.1715000000/mx1.example.net--\n";

/* A report encoded in base64 (its Diagnostic-Code folded twice), a
 * quoted-printable notification, and the returned message as
 * message/rfc822 with an IPv6 Received line. */
static const char encoded[] =
    "From: Mail Delivery Subsystem <postmaster@outbound.example.net>\n"
    "To: alice@example.com\n"
    "Subject: Delivery Status Notification (Failure)\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; boundary=\"=_b64_1\"; report-type=\"delivery-status\"\n"
    "\n"
    "--=_b64_1\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Delivery to heidi@example.net failed: the receiving server refused the m=\n"
    "essage. Caf=C3=A9 =3D test.\n"
    "\n"
    "--=_b64_1\n"
    "Content-Type: message/delivery-status\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "UmVwb3J0aW5nLU1UQTogZG5zOyBvdXRib3VuZC5leGFtcGxlLm5ldApBcnJpdmFsLURhdGU6IE1v\n"
    "biwgNiBNYXkgMjAyNCAxMDowMDowMCArMDAwMAoKRmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGhl\n"
    "aWRpQGV4YW1wbGUubmV0CkFjdGlvbjogZmFpbGVkClN0YXR1czogNS43LjYwNgpSZW1vdGUtTVRB\n"
    "OiBkbnM7IG14LmV4YW1wbGUubmV0CkRpYWdub3N0aWMtQ29kZTogc210cDsgNTUwIDUuNy42MDYg\n"
    "QWNjZXNzIGRlbmllZCwgYmFubmVkIHNlbmRpbmcgSVAKIFsyMDMuMC4xMTMuNzddLiBUbyByZXF1\n"
    "ZXN0IHJlbW92YWwgZnJvbSB0aGlzIGxpc3QgcGxlYXNlIHZpc2l0CiBodHRwczovL3NlbmRlci5l\n"
    "eGFtcGxlLm5ldC8K\n"
    "\n"
    "--=_b64_1\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Received: from client.example.com ([IPv6:2001:db8::10])\n"
    "\tby outbound.example.net with ESMTPSA id 77AA\n"
    "\tfor <heidi@example.net>; Mon, 6 May 2024 10:00:00 +0000\n"
    "Message-ID: <enc-7@client.example.com>\n"
    "X-Spillway-Tag: v1.m365.Enc0ded\n"
    "From: alice@example.com\n"
    "To: heidi@example.net\n"
    "Subject: test\n"
    "\n"
    "Hello.\n"
    "\n"
    "--=_b64_1--\n";

/* Exim without MIME: two recipients, one refused at the greeting, and the
 * returned message copied inline. */
static const char exim_plain[] =
    "Return-path: <>\n"
    "Received: from mailnull by relay.example.com with local (Exim 4.96)\n"
    "\tid 1sAbCd-000123-XY\n"
    "\tfor alice@example.com; Mon, 06 May 2024 10:00:00 +0000\n"
    "X-Failed-Recipients: dave@example.net, erin@example.org\n"
    "Auto-Submitted: auto-replied\n"
    "From: Mail Delivery System <Mailer-Daemon@relay.example.com>\n"
    "To: alice@example.com\n"
    "Subject: Mail delivery failed: returning message to sender\n"
    "Message-Id: <E1sAbCd-000123-XY@relay.example.com>\n"
    "\n"
    "This message was created automatically by mail delivery software.\n"
    "\n"
    "A message that you sent could not be delivered to one or more of its\n"
    "recipients. This is a permanent error. The following address(es) failed:\n"
    "\n"
    "  dave@example.net\n"
    "    host mx.example.net [203.0.113.20]\n"
    "    SMTP error from remote mail server after RCPT TO:<dave@example.net>:\n"
    "    550 5.1.1 No such user here\n"
    "  erin@example.org\n"
    "    host mx.example.org [2001:db8::25]\n"
    "    SMTP error from remote mail server after initial connection:\n"
    "    554 mx.example.org ESMTP not accepting messages from 192.0.2.44\n"
    "\n"
    "------ This is a copy of the message, including all the headers. ------\n"
    "\n"
    "Return-path: <alice@example.com>\n"
    "Received: from [192.0.2.10] (helo=client.example.com)\n"
    "\tby relay.example.com with esmtpsa (Exim 4.96)\n"
    "\tid 1sAbCc-000122-WV\n"
    "\tfor dave@example.net; Mon, 06 May 2024 09:59:59 +0000\n"
    "X-Spillway-Tag: v1.pool-a.ZZtop999\n"
    "Message-ID: <exim-msg-7@client.example.com>\n"
    "Subject: Hello\n"
    "\n"
    "Body text.\n";

/* qmail */
static const char qmail[] =
    "Return-Path: <>\n"
    "From: MAILER-DAEMON@mail.example.com\n"
    "To: alice@example.com\n"
    "Subject: failure notice\n"
    "\n"
    "Hi. This is the qmail-send program at mail.example.com.\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
    "This is a permanent error; I've given up. Sorry it didn't work out.\n"
    "\n"
    "<frank@example.org>:\n"
    "203.0.113.30 does not like recipient.\n"
    "Remote host said: 550 5.7.1 Message rejected: sending IP 192.0.2.55 is listed on our "
    "block list\n"
    "Giving up on 203.0.113.30.\n"
    "\n"
    "--- Below this line is a copy of the message.\n"
    "\n"
    "Return-Path: <alice@example.com>\n"
    "Received: (qmail 12345 invoked by uid 1000); 6 May 2024 10:00:00 -0000\n"
    "Message-ID: <qmail-msg-3@mail.example.com>\n"
    "X-Spillway-Tag: v1.pool-b.QmA1\n"
    "\n"
    "text\n";

/* Sendmail: the DSN lacks Diagnostic-Code; the transcript has the reply. */
static const char sendmail[] =
    "Return-Path: <MAILER-DAEMON@smtp.example.com>\n"
    "From: Mail Delivery Subsystem <MAILER-DAEMON@smtp.example.com>\n"
    "To: <alice@example.com>\n"
    "Subject: Returned mail: see transcript for details\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"q4K9abc.1715/smtp.example.com\"\n"
    "\n"
    "--q4K9abc.1715/smtp.example.com\n"
    "\n"
    "The original message was received at Mon, 6 May 2024 10:00:00 GMT\n"
    "\n"
    "   ----- The following addresses had permanent fatal errors -----\n"
    "<ivan@example.org>\n"
    "\n"
    "   ----- Transcript of session follows -----\n"
    "... while talking to mx.example.org.:\n"
    ">>> MAIL From:<alice@example.com> SIZE=1234\n"
    "<<< 550 5.7.1 Mail from 192.0.2.60 refused, see http://rbl.example.org/\n"
    "554 5.0.0 Service unavailable\n"
    "\n"
    "--q4K9abc.1715/smtp.example.com\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; smtp.example.com\n"
    "\n"
    "Final-Recipient: RFC822; ivan@example.org\n"
    "Action: failed\n"
    "Status: 5.0.0\n"
    "Remote-MTA: DNS; mx.example.org\n"
    "\n"
    "--q4K9abc.1715/smtp.example.com--\n";

/* An old Exchange NDR, plain text. */
static const char exchange_text[] =
    "From: postmaster@exchange.example.org\n"
    "To: alice@example.com\n"
    "Subject: Undeliverable: Project plan\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=\"us-ascii\"\n"
    "\n"
    "Your message did not reach some or all of the intended recipients.\n"
    "\n"
    "      Subject:  Project plan\n"
    "      Sent:     5/6/2024 10:00 AM\n"
    "\n"
    "The following recipient(s) cannot be reached:\n"
    "\n"
    "      grace@exchange.example.org on 5/6/2024 10:01 AM\n"
    "            The e-mail account does not exist at the organization this message was "
    "sent to.\n"
    "            <exchange.example.org #5.1.1 smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; "
    "not found>\n";

/* An Exchange Online NDR: HTML for people, a report without a
 * Diagnostic-Code, so the reply comes from the HTML. */
static const char exchange_html[] =
    "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com>\n"
    "To: alice@example.com\n"
    "Subject: Undeliverable: Invoice\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"_000_NDR_\"\n"
    "\n"
    "--_000_NDR_\n"
    "Content-Type: multipart/alternative; boundary=\"_alt_\"\n"
    "\n"
    "--_alt_\n"
    "Content-Type: text/html; charset=\"us-ascii\"\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<html><head><style>p {margin:0}</style></head><body>\n"
    "<p>Your message to <a href=3D\"mailto:judy@example.net\">judy@example.net</a> =\n"
    "couldn't be delivered.</p>\n"
    "<p><b>Diagnostic information for administrators:</b></p>\n"
    "<p>Generating server: BN8PR01MB0001.example.com</p>\n"
    "<p>judy@example.net<br>Remote server returned &#39;550 5.7.708 Service unavailable. "
    "Access denied, traffic not accepted from this IP. [BN8PR01MB0001.example.com]&#39;</p>\n"
    "</body></html>\n"
    "\n"
    "--_alt_--\n"
    "\n"
    "--_000_NDR_\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns;BN8PR01MB0001.example.com\n"
    "Received-From-MTA: dns;BN8PR01MB0002.example.com\n"
    "\n"
    "Final-Recipient: rfc822;judy@example.net\n"
    "Action: failed\n"
    "Status: 5.7.708\n"
    "\n"
    "--_000_NDR_--\n";

/* An ARF report (RFC 5965). */
static const char arf[] =
    "From: abuse@isp.example.net\n"
    "To: abuse@example.com\n"
    "Subject: FW: complaint\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=feedback-report; boundary=\"arf\"\n"
    "\n"
    "--arf\n"
    "Content-Type: text/plain\n"
    "\n"
    "This is an email abuse report about mail to <mallory@isp.example.net>.\n"
    "--arf\n"
    "Content-Type: message/feedback-report\n"
    "\n"
    "Feedback-Type: abuse\n"
    "User-Agent: ExampleFBL/1.0\n"
    "Version: 1\n"
    "Original-Rcpt-To: <mallory@isp.example.net>\n"
    "Source-IP: 192.0.2.10\n"
    "--arf\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: alice@example.com\n"
    "To: mallory@isp.example.net\n"
    "Message-ID: <arf-orig@example.com>\n"
    "X-Spillway-Tag: v1.m365.Arf\n"
    "\n"
    "hello\n"
    "--arf--\n";

/* A vacation reply (RFC 3834). */
static const char vacation[] =
    "From: Judy <judy@example.org>\n"
    "To: alice@example.com\n"
    "Subject: Automatic reply: Quarterly figures\n"
    "Auto-Submitted: auto-replied\n"
    "\n"
    "I am out of the office until Monday; mail to <judy@example.org>: will wait.\n";

/* Ordinary mail that mentions addresses the way a bounce would. */
static const char ordinary[] = "From: Bob <bob@example.org>\n"
                               "To: alice@example.com\n"
                               "Subject: Re: lunch\n"
                               "Message-ID: <lunch-1@example.org>\n"
                               "\n"
                               "Hi Alice,\n"
                               "\n"
                               "  alice@example.com\n"
                               "    550 is the room number, see you there.\n";

/* A Gmail-style text: the address and the reply are apart. */
static const char gmail_text[] =
    "Return-Path: <>\n"
    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.example.com>\n"
    "To: alice@example.com\n"
    "Subject: Delivery Status Notification (Delay)\n"
    "\n"
    "This is an automatically generated Delivery Status Notification\n"
    "\n"
    "THIS IS A WARNING MESSAGE ONLY.\n"
    "\n"
    "Delivery to the following recipient has been delayed:\n"
    "\n"
    "     kim@example.net\n"
    "\n"
    "Message will be retried for 2 more day(s)\n"
    "\n"
    "Technical details of temporary failure:\n"
    "The recipient server did not accept our requests to connect. The error that the "
    "other server returned was: 421 4.7.0 [198.51.100.8] Too many concurrent SMTP "
    "connections; please try again later.\n";

/* ------------------------------------------------------------- cases */

/* A DSN whose first lines are blank (one empty, one of spaces) before
 * its header, as some mail stores save it; the report names the two
 * recipients with a source route (RFC 5321 section 4.1.2, "@relay:")
 * and in angle brackets after the type (once with a comment); a group of fields says a
 * recipient failed but names no address that can be read.  The same
 * with blank lines (one empty, one of spaces) before its header, as some
 * mail stores save a message. */
#define ODD_DSN \
    "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n" \
    "Subject: Undelivered Mail Returned to Sender\n" \
    "MIME-Version: 1.0\n" \
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"odd-1\"\n" \
    "\n" \
    "--odd-1\n" \
    "Content-Type: text/plain\n" \
    "\n" \
    "Your message could not be delivered.\n" \
    "\n" \
    "--odd-1\n" \
    "Content-Type: message/delivery-status\n" \
    "\n" \
    "Reporting-MTA: dns; mx.example.net\n" \
    "\n" \
    "Final-Recipient: rfc822; @relay.example.net:ivan@example.org\n" \
    "Action: failed\n" \
    "Status: 5.1.1\n" \
    "Diagnostic-Code: smtp; 550 5.1.1 No such user\n" \
    "\n" \
    "Final-Recipient: rfc822;<judy@example.org>\n" \
    "Action: failed\n" \
    "Status: 5.7.1\n" \
    "Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; client blocked\n" \
    "\n" \
    "Final-Recipient: RFC822;<kim@example.org> (Kim)\n" \
    "Action: failed\n" \
    "Status: 5.2.2\n" \
    "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n" \
    "\n" \
    "Final-Recipient: rfc822; undisclosed recipient\n" \
    "Action: failed\n" \
    "Status: 5.0.0\n" \
    "Diagnostic-Code: smtp; 550 5.0.0 Rejected\n" \
    "\n" \
    "--odd-1--\n"
static const char odd_dsn[] = ODD_DSN;
static const char blank_lead[] = "\n   \n" ODD_DSN;
/* What both are read as: the recipients, then the hosts. */
#define ODD_EXPECTED                                                                  \
    { { "ivan@example.org", "failed", "5.1.1", 550, "No such user", NULL, NULL },     \
      { "judy@example.org", "failed", "5.7.1", 554, "client blocked", NULL, NULL },   \
      { "kim@example.org", "failed", "5.2.2", 552, "Mailbox full", NULL, NULL },      \
      { "", "failed", "5.0.0", 550, "Rejected", NULL, NULL } },                      \
        "mx.example.net", NULL, NULL, { "mx.example.net" }, { NULL }, { NULL }

static const struct bounce_case cases[] = {
    { "route-brackets-no-address",
      odd_dsn,
      SW_BOUNCE_DSN,
      4,
      ODD_EXPECTED },
    { "blank-lines-before-header",
      blank_lead,
      SW_BOUNCE_DSN,
      4,
      ODD_EXPECTED },
    { "postfix-two-recipients",
      postfix_two,
      SW_BOUNCE_DSN,
      2,
      { { "bob@example.org", "failed", "5.1.1", 550,
          "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in local "
          "recipient table",
          "RCPT",
          "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in local "
          "recipient table (in reply to RCPT TO command)" },
        { "carol@example.org", "failed", "5.7.1", 554,
          "Client host [198.51.100.25] blocked using zen.spamhaus.org", "RCPT", NULL } },
      "mx1.example.net",
      "v1.m365.AbCdEf012345",
      "<msg-0001@client.example.com>",
      { "mx1.example.net", "relay.example.com", "client.example.com" },
      { "198.51.100.25", "192.0.2.10" },
      { "203.0.113.5" } },
    { "encoded-parts",
      encoded,
      SW_BOUNCE_DSN,
      1,
      { { "heidi@example.net", "failed", "5.7.606", 550,
          "550 5.7.606 Access denied, banned sending IP [203.0.113.77]. To request removal "
          "from this list please visit https://sender.example.net/",
          "", NULL } },
      "outbound.example.net",
      "v1.m365.Enc0ded",
      "<enc-7@client.example.com>",
      { "outbound.example.net", "client.example.com" },
      { "203.0.113.77", "2001:db8::10" },
      { NULL } },
    { "exim-plain",
      exim_plain,
      SW_BOUNCE_TEXT,
      2,
      { { "dave@example.net", "failed", "5.1.1", 550, "550 5.1.1 No such user here", "RCPT",
          "550 5.1.1 No such user here (in reply to RCPT TO command)" },
        { "erin@example.org", "failed", "", 554, NULL, "CONNECT",
          "refused to talk to me: 554 mx.example.org ESMTP not accepting messages from "
          "192.0.2.44" } },
      "",
      "v1.pool-a.ZZtop999",
      "<exim-msg-7@client.example.com>",
      { "relay.example.com" },
      { "192.0.2.44", "192.0.2.10" },
      { "203.0.113.20", "2001:db8::25" } },
    { "qmail",
      qmail,
      SW_BOUNCE_TEXT,
      1,
      { { "frank@example.org", "failed", "5.7.1", 550,
          "550 5.7.1 Message rejected: sending IP 192.0.2.55 is listed on our block list", "RCPT",
          "550 5.7.1 Message rejected: sending IP 192.0.2.55 is listed on our block list (in "
          "reply to RCPT TO command)" } },
      "",
      "v1.pool-b.QmA1",
      "<qmail-msg-3@mail.example.com>",
      { NULL },
      { "192.0.2.55" },
      { "203.0.113.30" } },
    { "sendmail-transcript",
      sendmail,
      SW_BOUNCE_DSN,
      1,
      { { "ivan@example.org", "failed", "5.7.1", 550,
          "550 5.7.1 Mail from 192.0.2.60 refused, see http://rbl.example.org/", "MAIL",
          "550 5.7.1 Mail from 192.0.2.60 refused, see http://rbl.example.org/ (in reply to MAIL "
          "FROM command)" } },
      "smtp.example.com",
      "",
      "",
      { "smtp.example.com" },
      { "192.0.2.60" },
      { NULL } },
    { "exchange-text-ndr",
      exchange_text,
      SW_BOUNCE_TEXT,
      1,
      { { "grace@exchange.example.org", "failed", "5.1.1", 550,
          "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", "",
          "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found" } },
      "",
      "",
      "",
      { NULL },
      { NULL },
      { NULL } },
    { "exchange-html-ndr",
      exchange_html,
      SW_BOUNCE_DSN,
      1,
      { { "judy@example.net", "failed", "5.7.708", 550,
          "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.", "",
          NULL } },
      "BN8PR01MB0001.example.com",
      "",
      "",
      { "bn8pr01mb0001.example.com" },
      { NULL },
      { NULL } },
    { "gmail-delay",
      gmail_text,
      SW_BOUNCE_TEXT,
      1,
      { { "kim@example.net", "delayed", "4.7.0", 421,
          "421 4.7.0 [198.51.100.8] Too many concurrent SMTP connections", "", NULL } },
      "",
      "",
      "",
      { NULL },
      { "198.51.100.8" },
      { NULL } },
    { "arf",
      arf,
      SW_BOUNCE_OTHER,
      0,
      { { NULL } },
      "",
      "v1.m365.Arf",
      "<arf-orig@example.com>",
      { NULL },
      { NULL },
      { NULL } },
    { "vacation",
      vacation,
      SW_BOUNCE_OTHER,
      0,
      { { NULL } },
      "",
      "",
      "",
      { NULL },
      { NULL },
      { NULL } },
    { "ordinary-mail",
      ordinary,
      SW_BOUNCE_NONE,
      0,
      { { NULL } },
      "",
      "",
      "",
      { NULL },
      { NULL },
      { NULL } },
};

/* --------------------------------------------------------- helpers */

/* with_ends - a copy of a message with its "\n" line ends replaced */
static char *
with_ends(const char *msg, const char *eol, size_t *len)
{
    size_t n = strlen(msg), e = strlen(eol), i, o = 0;
    char *out = malloc(n * 2 + 1);

    assert_non_null(out);
    for (i = 0; i < n; i++) {
        if (msg[i] == '\n') {
            memcpy(out + o, eol, e);
            o += e;
        } else {
            out[o++] = msg[i];
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* in_list - a string among n entries of fixed size */
static bool
in_list(const char *s, const char *list, size_t n, size_t stride)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(list + i * stride, s) == 0)
            return true;
    return false;
}

/* check_case - one case against one parse; the number of problems */
static int
check_case(const struct bounce_case *c, const char *ends, const struct sw_bounce *b, bool ret)
{
    char reason[SW_BOUNCE_DIAG_MAX + 64];
    int bad = 0;
    size_t i;

#define PROBLEM(...)                             \
    do {                                         \
        print_error("%s (%s): ", c->name, ends); \
        print_error(__VA_ARGS__);                \
        print_error("\n");                       \
        bad++;                                   \
    } while (0)

    if (b->kind != c->kind)
        PROBLEM("kind %s, expected %s", sw_bounce_kind_name(b->kind), sw_bounce_kind_name(c->kind));
    if (ret != (c->kind == SW_BOUNCE_DSN || c->kind == SW_BOUNCE_TEXT))
        PROBLEM("returned %d", ret);
    if (b->truncated)
        PROBLEM("truncated");
    if (b->nrcpt != c->nrcpt)
        PROBLEM("%zu recipients, expected %zu", b->nrcpt, c->nrcpt);
    for (i = 0; i < c->nrcpt && i < b->nrcpt && i < T_MAX_RCPT; i++) {
        const struct want_rcpt *w = &c->r[i];
        const struct sw_bounce_rcpt *r = &b->rcpt[i];

        if (w->rcpt && strcmp(r->rcpt, w->rcpt) != 0)
            PROBLEM("rcpt[%zu] \"%s\", expected \"%s\"", i, r->rcpt, w->rcpt);
        if (w->action && strcmp(r->action, w->action) != 0)
            PROBLEM("rcpt[%zu] action \"%s\", expected \"%s\"", i, r->action, w->action);
        if (w->status && strcmp(r->status, w->status) != 0)
            PROBLEM("rcpt[%zu] status \"%s\", expected \"%s\"", i, r->status, w->status);
        if (w->code && r->code != w->code)
            PROBLEM("rcpt[%zu] code %d, expected %d", i, r->code, w->code);
        if (w->diag && strstr(r->diagnostic, w->diag) == NULL)
            PROBLEM("rcpt[%zu] diagnostic \"%s\" lacks \"%s\"", i, r->diagnostic, w->diag);
        if (w->command && strcmp(r->command, w->command) != 0)
            PROBLEM("rcpt[%zu] command \"%s\", expected \"%s\"", i, r->command, w->command);
        (void) sw_bounce_reason(r, reason, sizeof(reason));
        if (w->reason && strcmp(reason, w->reason) != 0)
            PROBLEM("rcpt[%zu] reason \"%s\", expected \"%s\"", i, reason, w->reason);
        if (!sw_bounce_rcpt_failed(r))
            PROBLEM("rcpt[%zu] not failed", i);
        if (strchr(r->diagnostic, '\n') || strchr(r->diagnostic, '\r')
            || strchr(r->diagnostic, '\t'))
            PROBLEM("rcpt[%zu] diagnostic is not one line", i);
    }
    if (c->rmta && strcmp(b->reporting_mta, c->rmta) != 0)
        PROBLEM("reporting_mta \"%s\", expected \"%s\"", b->reporting_mta, c->rmta);
    if (c->tag && strcmp(b->tag, c->tag) != 0)
        PROBLEM("tag \"%s\", expected \"%s\"", b->tag, c->tag);
    if (c->mid && strcmp(b->message_id, c->mid) != 0)
        PROBLEM("message_id \"%s\", expected \"%s\"", b->message_id, c->mid);
    for (i = 0; i < T_MAX_LIST && c->hosts[i]; i++)
        if (!in_list(c->hosts[i], b->hosts[0], b->nhosts, sizeof(b->hosts[0])))
            PROBLEM("host %s missing", c->hosts[i]);
    for (i = 0; i < T_MAX_LIST && c->ips[i]; i++)
        if (!in_list(c->ips[i], b->ips[0], b->nips, sizeof(b->ips[0])))
            PROBLEM("ip %s missing", c->ips[i]);
    for (i = 0; i < T_MAX_LIST && c->not_ips[i]; i++)
        if (in_list(c->not_ips[i], b->ips[0], b->nips, sizeof(b->ips[0])))
            PROBLEM("ip %s should not be there", c->not_ips[i]);
#undef PROBLEM
    return bad;
}

/* ----------------------------------------------------------- tests */

/* Every case, with LF, CRLF and CR line ends. */
static void
test_cases(void **state)
{
    static const char *const ends[] = { "\n", "\r\n", "\r" };
    static const char *const names[] = { "LF", "CRLF", "CR" };
    struct sw_bounce *b = malloc(sizeof(*b));
    size_t i, e, len;
    int bad = 0;
    char *msg;
    bool ret;

    (void) state;
    assert_non_null(b);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (e = 0; e < 3; e++) {
            msg = with_ends(cases[i].msg, ends[e], &len);
            ret = sw_bounce_parse(msg, len, b);
            bad += check_case(&cases[i], names[e], b, ret);
            free(msg);
        }
    }
    free(b);
    assert_int_equal(bad, 0);
}

/* scribble - fill the stack below the caller with a byte */
static void __attribute__((noinline)) scribble(unsigned char v)
{
    volatile unsigned char junk[256 * 1024];
    size_t i;

    for (i = 0; i < sizeof(junk); i++)
        junk[i] = v;
}

/* The whole result depends on the input only: nothing of the stack
 * (every buffer there is reused) reaches it, even past the end of a
 * string.  The fuzz target found a status copied whole from a buffer
 * that was only partly written. */
static void
test_deterministic(void **state)
{
    struct sw_bounce *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    size_t i;

    (void) state;
    assert_non_null(a);
    assert_non_null(b);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scribble(0x55);
        (void) sw_bounce_parse(cases[i].msg, strlen(cases[i].msg), a);
        scribble(0xaa);
        (void) sw_bounce_parse(cases[i].msg, strlen(cases[i].msg), b);
        if (memcmp(a, b, sizeof(*a)) != 0)
            fail_msg("%s: two parses differ", cases[i].name);
    }
    free(a);
    free(b);
}

/* build - a message into a growing buffer, printf-style */
struct text {
    char *p;
    size_t len, size;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->p + t->len, t->size - t->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t) n < t->size - t->len) {
            t->len += (size_t) n;
            return;
        }
        t->size = t->size * 2 + (size_t) n;
        assert_non_null(t->p = realloc(t->p, t->size));
    }
}

/* report_head - the header and first part of a DSN with one boundary */
static void
report_head(struct text *t)
{
    text_add(t, "From: MAILER-DAEMON@mx.example.net\n"
                "Subject: Undelivered Mail Returned to Sender\n"
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
                "\n--B\nContent-Type: message/delivery-status\n\n"
                "Reporting-MTA: dns; mx.example.net\n\n");
}

/* group - one recipient group */
static void
group(struct text *t, unsigned i)
{
    text_add(t,
             "Final-Recipient: rfc822; user%u@example.org\nAction: failed\nStatus: 5.1.1\n"
             "Diagnostic-Code: smtp; 550 5.1.1 user%u unknown\n\n",
             i, i);
}

/* Nesting deeper than SW_BOUNCE_DEPTH_MAX: the deep report is not read,
 * truncated is set, nothing breaks. */
static void
test_limit_depth(void **state)
{
    struct text t = { NULL, 0, 0 };
    struct sw_bounce *b = malloc(sizeof(*b));
    unsigned i, levels = SW_BOUNCE_DEPTH_MAX + 4;

    (void) state;
    assert_non_null(b);
    text_add(&t, "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\n");
    for (i = 0; i < levels; i++)
        text_add(&t, "Content-Type: multipart/mixed; boundary=\"L%u\"\n\n--L%u\n", i, i);
    text_add(&t, "Content-Type: message/delivery-status\n\n");
    group(&t, 1);
    for (i = levels; i-- > 0;)
        text_add(&t, "\n--L%u--\n", i);
    (void) sw_bounce_parse(t.p, t.len, b);
    assert_true(b->truncated);
    assert_int_equal(b->nrcpt, 0);
    assert_int_equal(b->kind, SW_BOUNCE_NONE);

    /* At the limit exactly, the report is read. */
    t.len = 0;
    text_add(&t, "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\n");
    for (i = 0; i < SW_BOUNCE_DEPTH_MAX; i++)
        text_add(&t, "Content-Type: multipart/mixed; boundary=\"L%u\"\n\n--L%u\n", i, i);
    text_add(&t, "Content-Type: message/delivery-status\n\n");
    group(&t, 1);
    for (i = SW_BOUNCE_DEPTH_MAX; i-- > 0;)
        text_add(&t, "\n--L%u--\n", i);
    assert_true(sw_bounce_parse(t.p, t.len, b));
    assert_false(b->truncated);
    assert_int_equal(b->nrcpt, 1);
    free(t.p);
    free(b);
}

/* More parts than SW_BOUNCE_PARTS_MAX: the report (early) is read. */
static void
test_limit_parts(void **state)
{
    struct text t = { NULL, 0, 0 };
    struct sw_bounce *b = malloc(sizeof(*b));
    unsigned i;

    (void) state;
    assert_non_null(b);
    report_head(&t);
    group(&t, 1);
    for (i = 0; i < SW_BOUNCE_PARTS_MAX + 10; i++)
        text_add(&t, "--B\nContent-Type: text/plain\n\npart %u\n", i);
    text_add(&t, "--B--\n");
    assert_true(sw_bounce_parse(t.p, t.len, b));
    assert_true(b->truncated);
    assert_int_equal(b->kind, SW_BOUNCE_DSN);
    assert_int_equal(b->nrcpt, 1);
    assert_string_equal(b->rcpt[0].rcpt, "user1@example.org");
    free(t.p);
    free(b);
}

/* More recipients than SW_BOUNCE_RCPTS_MAX: the first ones, in order. */
static void
test_limit_rcpts(void **state)
{
    struct text t = { NULL, 0, 0 };
    struct sw_bounce *b = malloc(sizeof(*b));
    unsigned i;

    (void) state;
    assert_non_null(b);
    report_head(&t);
    for (i = 0; i < SW_BOUNCE_RCPTS_MAX + 8; i++)
        group(&t, i);
    text_add(&t, "--B--\n");
    assert_true(sw_bounce_parse(t.p, t.len, b));
    assert_true(b->truncated);
    assert_int_equal(b->nrcpt, SW_BOUNCE_RCPTS_MAX);
    assert_string_equal(b->rcpt[0].rcpt, "user0@example.org");
    assert_string_equal(b->rcpt[SW_BOUNCE_RCPTS_MAX - 1].rcpt, "user31@example.org");
    assert_int_equal(b->rcpt[SW_BOUNCE_RCPTS_MAX - 1].code, 550);
    free(t.p);
    free(b);
}

/* A header field longer than SW_BOUNCE_HEADER_MAX (in the message and
 * in the report); a diagnostic longer than SW_BOUNCE_DIAG_MAX is cut. */
static void
test_limit_header(void **state)
{
    struct text t = { NULL, 0, 0 };
    struct sw_bounce *b = malloc(sizeof(*b));
    unsigned i;

    (void) state;
    assert_non_null(b);
    text_add(&t, "X-Long: ");
    for (i = 0; i < SW_BOUNCE_HEADER_MAX / 8 + 10; i++)
        text_add(&t, "abcdefg\n ");
    text_add(&t, "end\n");
    report_head(&t);
    text_add(&t, "Final-Recipient: rfc822; long@example.org\nAction: failed\n"
                 "Diagnostic-Code: smtp; 550 5.7.1 ");
    for (i = 0; i < SW_BOUNCE_HEADER_MAX / 8 + 10; i++)
        text_add(&t, "blocked\n ");
    text_add(&t, "end\n\n--B--\n");
    assert_true(sw_bounce_parse(t.p, t.len, b));
    assert_true(b->truncated);
    assert_int_equal(b->nrcpt, 1);
    assert_int_equal(b->rcpt[0].code, 550);
    assert_string_equal(b->rcpt[0].status, "5.7.1");
    assert_int_equal(strlen(b->rcpt[0].diagnostic), SW_BOUNCE_DIAG_MAX - 1);
    free(t.p);
    free(b);
}

/* A message longer than SW_BOUNCE_KEEP_MAX: the report (at the start) is
 * read, the rest is not looked at. */
static void
test_limit_size(void **state)
{
    struct text t = { NULL, 0, 0 };
    struct sw_bounce *b = malloc(sizeof(*b));

    (void) state;
    assert_non_null(b);
    report_head(&t);
    group(&t, 7);
    text_add(&t, "--B\nContent-Type: text/plain\n\n");
    while (t.len < T_BIG)
        text_add(&t, "padding padding padding padding padding padding padding padding\n");
    text_add(&t, "--B--\n");
    assert_true(sw_bounce_parse(t.p, t.len, b));
    assert_true(b->truncated);
    assert_int_equal(b->nrcpt, 1);
    assert_string_equal(b->rcpt[0].rcpt, "user7@example.org");
    free(t.p);
    free(b);
}

/* More distinct hosts and IPs than the lists hold. */
static void
test_limit_hosts(void **state)
{
    struct text t = { NULL, 0, 0 };
    struct sw_bounce *b = malloc(sizeof(*b));
    unsigned i;

    (void) state;
    assert_non_null(b);
    text_add(&t, "From: MAILER-DAEMON@mx.example.net\n");
    for (i = 0; i < SW_BOUNCE_HOSTS_MAX + 4; i++)
        text_add(&t,
                 "Received: from h%u.example.net (h%u.example.net [198.51.100.%u]) by "
                 "mx.example.net\n",
                 i, i, i + 1);
    text_add(&t, "Subject: Undelivered Mail Returned to Sender\n\n<x@example.org>: host "
                 "mx.example.org[192.0.2.1] said: 550 5.1.1 unknown\n");
    assert_true(sw_bounce_parse(t.p, t.len, b));
    assert_true(b->truncated);
    assert_int_equal(b->nhosts, SW_BOUNCE_HOSTS_MAX);
    assert_int_equal(b->nips, SW_BOUNCE_IPS_MAX);
    assert_string_equal(b->hosts[0], "h0.example.net");
    assert_string_equal(b->ips[0], "198.51.100.1");
    assert_int_equal(b->nrcpt, 1);
    free(t.p);
    free(b);
}

/* Degenerate input: nothing, NULL, binary, a bare boundary. */
static void
test_degenerate(void **state)
{
    static const char junk[] = "\0\0\r\r\n\n--\n--x--\nContent-Type: multipart/report; "
                               "boundary=\"\"\n\n\xff\xfe:\n";
    static const char no_parts[] = "From: MAILER-DAEMON@mx.example.net\n"
                                   "Content-Type: multipart/report; boundary=\"nothing\"\n\n"
                                   "Final-Recipient: rfc822; x@example.org\nAction: failed\n"
                                   "Status: 5.1.1\n";
    struct sw_bounce *b = malloc(sizeof(*b));

    (void) state;
    assert_non_null(b);
    assert_false(sw_bounce_parse(NULL, 0, b));
    assert_int_equal(b->kind, SW_BOUNCE_NONE);
    assert_false(sw_bounce_parse("", 0, b));
    assert_int_equal(b->nrcpt, 0);
    assert_false(sw_bounce_parse(junk, sizeof(junk) - 1, b));
    assert_int_equal(b->nrcpt, 0);
    /* A multipart without one matching delimiter: its body is read as text. */
    assert_true(sw_bounce_parse(no_parts, sizeof(no_parts) - 1, b));
    assert_int_equal(b->kind, SW_BOUNCE_TEXT);
    assert_int_equal(b->nrcpt, 1);
    assert_string_equal(b->rcpt[0].status, "5.1.1");
    free(b);
}

/* sw_bounce_reason: the text for the classifier. */
static void
test_reason(void **state)
{
    static const struct {
        const char *diag, *command, *status;
        int code;
        const char *want;
    } rows[] = {
        { "550 5.7.1 blocked", "", "5.7.1", 550, "550 5.7.1 blocked" },
        { "550 5.7.1 blocked", "RCPT", "", 0, "550 5.7.1 blocked (in reply to RCPT TO command)" },
        { "550 5.7.1 blocked", "MAIL", "", 0, "550 5.7.1 blocked (in reply to MAIL FROM command)" },
        { "550 5.7.1 blocked", "DATA", "", 0,
          "550 5.7.1 blocked (in reply to end of DATA command)" },
        { "550 no", "EHLO", "", 0, "550 no (in reply to EHLO command)" },
        { "550 no (in reply to RCPT TO command)", "RCPT", "", 0,
          "550 no (in reply to RCPT TO command)" },
        { "554 go away", "CONNECT", "", 0, "refused to talk to me: 554 go away" },
        { "", "RCPT", "5.7.1", 550, "550 5.7.1" },
        { "", "", "", 421, "421" },
        { "", "", "4.4.7", 0, "4.4.7" },
        { "", "", "", 0, "" },
    };
    struct sw_bounce_rcpt r;
    char out[128];
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        memset(&r, 0, sizeof(r));
        (void) snprintf(r.diagnostic, sizeof(r.diagnostic), "%s", rows[i].diag);
        (void) snprintf(r.command, sizeof(r.command), "%s", rows[i].command);
        (void) snprintf(r.status, sizeof(r.status), "%s", rows[i].status);
        r.code = rows[i].code;
        assert_int_equal(sw_bounce_reason(&r, out, sizeof(out)), strlen(rows[i].want));
        assert_string_equal(out, rows[i].want);
    }
    /* Cut to fit, always terminated. */
    memset(&r, 0, sizeof(r));
    (void) snprintf(r.diagnostic, sizeof(r.diagnostic), "550 5.7.1 a long reply");
    assert_int_equal(sw_bounce_reason(&r, out, 8), 7);
    assert_string_equal(out, "550 5.7");
    assert_int_equal(sw_bounce_reason(&r, out, 0), 0);
}

/* sw_bounce_rcpt_failed: what can count as evidence. */
static void
test_failed(void **state)
{
    static const struct {
        const char *action, *status;
        int code;
        bool want;
    } rows[] = {
        { "failed", "", 0, true },
        { "delayed", "4.4.7", 0, true },
        { "delivered", "2.0.0", 250, false },
        { "relayed", "", 0, false },
        { "expanded", "2.0.0", 0, false },
        { "", "5.1.1", 0, true },
        { "", "", 451, true },
        { "", "", 250, false },
        { "", "", 0, false },
        { "", "2.1.5", 0, false },
    };
    struct sw_bounce_rcpt r;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        memset(&r, 0, sizeof(r));
        (void) snprintf(r.action, sizeof(r.action), "%s", rows[i].action);
        (void) snprintf(r.status, sizeof(r.status), "%s", rows[i].status);
        r.code = rows[i].code;
        if (sw_bounce_rcpt_failed(&r) != rows[i].want)
            fail_msg("row %zu: action \"%s\" status \"%s\" code %d", i, rows[i].action,
                     rows[i].status, rows[i].code);
    }
}

static void
test_kind_names(void **state)
{
    (void) state;
    assert_string_equal(sw_bounce_kind_name(SW_BOUNCE_NONE), "none");
    assert_string_equal(sw_bounce_kind_name(SW_BOUNCE_DSN), "dsn");
    assert_string_equal(sw_bounce_kind_name(SW_BOUNCE_TEXT), "text");
    assert_string_equal(sw_bounce_kind_name(SW_BOUNCE_OTHER), "other");
    assert_string_equal(sw_bounce_kind_name((enum sw_bounce_kind) 42), "unknown");
}

/* The MIME pieces on their own: unfolding, Content-Type, decodings. */
static void
test_mime(void **state)
{
    static const char hdr[] = "Subject: one\r\n two\r\n\tthree  \r\nX-Empty:\r\n"
                              "Broken line\r\nTo: a@example.org\r\n\r\nbody";
    struct sw_mime_cursor c = { hdr, hdr + sizeof(hdr) - 1 };
    struct sw_mime_part part;
    char name[32], value[32], out[64];
    bool cut;
    size_t n;

    (void) state;
    assert_true(sw_mime_field(&c, name, sizeof(name), value, sizeof(value), &cut));
    assert_string_equal(name, "Subject");
    assert_string_equal(value,
                        "one two three"); /* the fold's white space stays (a tab as a space) */
    assert_false(cut);
    assert_true(sw_mime_field(&c, name, sizeof(name), value, sizeof(value), &cut));
    assert_string_equal(name, "X-Empty");
    assert_string_equal(value, "");
    assert_true(sw_mime_field(&c, name, sizeof(name), value, sizeof(value), &cut));
    assert_string_equal(name, "To"); /* the broken line is skipped */
    assert_false(sw_mime_field(&c, name, sizeof(name), value, sizeof(value), &cut));
    /* A value cut to the buffer. */
    c.p = "X: 0123456789abcdefghij\n";
    c.end = c.p + strlen(c.p);
    assert_true(sw_mime_field(&c, name, sizeof(name), value, 16, &cut));
    assert_true(cut);
    assert_string_equal(value, "0123456789abcd"); /* 15 bytes with the leading space */

    sw_mime_content_type("Multipart/Report; Report-Type=\"Delivery-Status\";\t"
                         "boundary=\"a b;c\" (comment); charset=UTF-8",
                         &part);
    assert_string_equal(part.type, "multipart/report");
    assert_string_equal(part.report_type, "delivery-status");
    assert_string_equal(part.boundary, "a b;c");
    assert_string_equal(part.charset, "utf-8");
    sw_mime_content_type("text", &part);
    assert_string_equal(part.type, "");
    sw_mime_content_type("multipart/mixed; boundary=0123456789012345678901234567890123456789"
                         "01234567890123456789012345678901234567890",
                         &part);
    assert_string_equal(part.boundary, ""); /* longer than RFC 2046 allows */

    assert_int_equal(sw_mime_cte_parse(" Base64 "), SW_MIME_CTE_BASE64);
    assert_int_equal(sw_mime_cte_parse("quoted-printable"), SW_MIME_CTE_QP);
    assert_int_equal(sw_mime_cte_parse("x-uuencode"), SW_MIME_CTE_IDENTITY);

    n = sw_mime_decode(SW_MIME_CTE_BASE64, "aGVs\r\nbG8=junk", 14, out, sizeof(out), &cut);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    assert_false(cut);
    n = sw_mime_decode(SW_MIME_CTE_BASE64, "aGVsbG8gd29ybGQ=", 16, out, 4, &cut);
    assert_int_equal(n, 4);
    assert_true(cut);
    n = sw_mime_decode(SW_MIME_CTE_QP, "a=3Db=\r\nc =\nd=ZZ  \ne", 20, out, sizeof(out), &cut);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "a=bc d=ZZ\ne", 11);
    n = sw_mime_decode(SW_MIME_CTE_IDENTITY, "abcdef", 6, out, 3, &cut);
    assert_int_equal(n, 3);
    assert_true(cut);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),       cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_limit_depth), cmocka_unit_test(test_limit_parts),
        cmocka_unit_test(test_limit_rcpts), cmocka_unit_test(test_limit_header),
        cmocka_unit_test(test_limit_size),  cmocka_unit_test(test_limit_hosts),
        cmocka_unit_test(test_degenerate),  cmocka_unit_test(test_reason),
        cmocka_unit_test(test_failed),      cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_mime),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
