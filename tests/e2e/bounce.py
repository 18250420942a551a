#!/usr/bin/env python3
"""tests/e2e/bounce.py - mail a bounce for a message a test relay received.

Builds an RFC 3464 report the way a provider's outbound MTA writes one (a
human-readable part, message/delivery-status, the returned headers as
text/rfc822-headers) and sends it by SMTP with a null sender, the way a
bounce reaches the MTA whose milter reads it.

Modes (what happens to the returned X-Spillway-Tag):
  genuine   the headers exactly as the relay received them
  notag     the X-Spillway-Tag header removed
  badtag    the tag's MAC altered in one character
  expired   a tag recomputed here, independently of spillway, with a time
            30 days ago (needs --keys): valid MAC, too old
  wrongid   the genuine tag with another Message-ID (a tag lifted from one
            message and pasted into a forged bounce for another)
The reporter is the provider's host (--reporter) unless --reporter is "none".
A genuine tag's text can be varied the way a forger who has seen it would
(tests/e2e/t55-tagreplay.sh): --tag-suffix appends to it ("; x=7"),
--tag-tabs turns its "; " separators into ";<TAB>" (as folding may).
"""
import argparse, base64, hashlib, hmac, re, smtplib, sys, time


def headers_of(path):
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", "replace").replace("\r\n", "\n")
    # a relay's spool file: its own "relay:/rcpt:" block, a blank line, the message
    return raw.split("\n\n", 2)[1]


def retag(headers, fn):
    def sub(m):
        return "X-Spillway-Tag: " + fn(m.group(1))
    return re.sub(r"(?im)^X-Spillway-Tag:[ \t]*(.*)$", sub, headers)


def expired_tag(keys, msgid):
    line = [l for l in open(keys) if l.strip() and not l.startswith("#")][0].split()
    kid, secret = line[0], bytes.fromhex(line[1])
    t = int(time.time()) - 30 * 86400
    data = f"spillway-tag/1|{t}|{msgid.strip()}".encode()
    mac = hmac.new(secret, data, hashlib.sha256).digest()[:16]
    h = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    return f"v=1; t={t}; k={kid}; h={h}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--original", required=True, help="a .msg file from a relay's spool")
    ap.add_argument("--rcpt", required=True, help="the recipient that failed")
    ap.add_argument("--to", default="sender@org.example", help="the bounce's recipient")
    ap.add_argument("--mode", default="genuine",
                    choices=["genuine", "notag", "badtag", "expired", "wrongid"])
    ap.add_argument("--keys", help="tag key file (mode expired)")
    ap.add_argument("--tag-suffix", default="", help="appended to the returned tag")
    ap.add_argument("--tag-tabs", action="store_true", help="';<TAB>' between the tag's fields")
    ap.add_argument("--reporter", default="AM6PR01MB1234.eurprd01.prod.protection.outlook.test")
    ap.add_argument("--status", default="5.7.606")
    ap.add_argument("--text", default="550 5.7.606 Access denied, banned sending IP "
                    "[40.107.3.4]. To request removal from this list please visit "
                    "https://sender.office.com/ and follow the directions.")
    a = ap.parse_args()

    hdrs = headers_of(a.original)
    msgid = re.search(r"(?im)^Message-ID:[ \t]*(.*)$", hdrs).group(1)
    if a.mode == "notag":
        hdrs = re.sub(r"(?im)^X-Spillway-Tag:.*\n?", "", hdrs)
    elif a.mode == "badtag":
        hdrs = retag(hdrs, lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"))
    elif a.mode == "expired":
        hdrs = retag(hdrs, lambda v: expired_tag(a.keys, msgid))
    elif a.mode == "wrongid":
        hdrs = re.sub(r"(?im)^Message-ID:.*$", "Message-ID: <forged-%d@test.spillway>"
                      % time.time_ns(), hdrs)
    if a.tag_suffix or a.tag_tabs:
        hdrs = retag(hdrs, lambda v: (v.replace("; ", ";\t") if a.tag_tabs else v) + a.tag_suffix)
    if "X-Spillway-Tag" not in hdrs and a.mode not in ("notag",):
        sys.exit("bounce.py: the original carries no X-Spillway-Tag")

    reporter = a.reporter
    rep_line = "" if reporter == "none" else f"Reporting-MTA: dns; {reporter}\n"
    from_host = "mx.elsewhere.example" if reporter == "none" else reporter
    bid = f"<bounce-{time.time_ns()}@{from_host}>"
    body = f"""From: Mail Delivery System <MAILER-DAEMON@{from_host}>
To: {a.to}
Subject: Undeliverable: e2e
Message-ID: {bid}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="b-spillway-e2e"

--b-spillway-e2e
Content-Type: text/plain; charset=us-ascii

Delivery has failed to these recipients or groups:

{a.rcpt}
The recipient's server refused the message.

--b-spillway-e2e
Content-Type: message/delivery-status

{rep_line}Arrival-Date: Sun, 22 Nov 2026 12:00:00 +0000

Final-Recipient: rfc822; {a.rcpt}
Action: failed
Status: {a.status}
Remote-MTA: dns; mx.{a.rcpt.split('@')[1]}
Diagnostic-Code: smtp; {a.text}

--b-spillway-e2e
Content-Type: text/rfc822-headers

{hdrs}

--b-spillway-e2e--
"""
    msg = body.replace("\n", "\r\n")
    with smtplib.SMTP("127.0.0.1", a.port, local_hostname="bounce.test.spillway", timeout=60) as s:
        s.sendmail("", [a.to], msg)
    print(bid)


if __name__ == "__main__":
    main()
