#!/usr/bin/env python3
"""tests/e2e/rpath.py - return-path addresses and the mail that comes back to them.

Written from the specification in milter/global/rpath.h, independently of
spillway's code, for tests/e2e/t90-returnpath.sh:

  fixed domain:       sw0=HHHHHHHH=DDK=<sender domain>=<sender local>@<domain>
  per sender domain:  sw1=HHHHHHHH=DDK=<sender local>@<subdomain>.<sender domain>
  H: the first 40 bits of HMAC-SHA256(key, "spillway-rp/1|" day "|"
     lower-case(sender)), base32 (a-z2-7); D: the day (days since the epoch)
     modulo 1024, two base32 characters; K: base32[sha256(key id)[0] & 31].

Commands:
  make KEYS SENDER (--domain D | --subdomain S) [--days-ago N] [--secret HEX]
      print the tagged address for SENDER (a past day, another secret: forgeries)
  verify KEYS ADDR [--domain D] [--subdomain S]
      print the original sender if ADDR is a valid tag of today (or yesterday,
      a test may straddle midnight) signed with a key of KEYS; exit 1 if not
  ndr --port P --to ADDR --rcpt FAILED [--original FILE] [...]
      send a provider's NDR (Microsoft 365 style, null sender) to ADDR from
      --source (a client address outside the outbound networks); print its
      Message-ID, or "refused CODE TEXT" and exit 3 when RCPT is refused
  reply --port P --to ADDR
      send an auto-reply (a plain message, null sender) to ADDR; as ndr
The NDR quotes the original message's headers (--original, a relay spool
file) without its X-Spillway-Tag header: only the envelope recipient
carries our tag, as with a provider that quotes nothing of ours.
"""
import argparse, base64, hashlib, hmac, re, smtplib, sys, time

B32 = "abcdefghijklmnopqrstuvwxyz234567"


def read_keys(path):
    keys = []
    for line in open(path):
        f = line.split()
        if f and not f[0].startswith("#"):
            keys.append((f[0], bytes.fromhex(f[1])))
    return keys


def selector(kid):
    return B32[hashlib.sha256(kid.encode()).digest()[0] & 31]


def mac(secret, day, sender):
    data = f"spillway-rp/1|{day}|{sender.lower()}".encode()
    v = int.from_bytes(hmac.new(secret, data, hashlib.sha256).digest()[:5], "big")
    return "".join(B32[(v >> (35 - 5 * i)) & 31] for i in range(8))


def make(kid, secret, sender, day, domain=None, subdomain=None):
    local, _, sdom = sender.rpartition("@")
    sdom = sdom.lower()
    dd = day % 1024
    stamp = f"{mac(secret, day, f'{local}@{sdom}')}={B32[dd >> 5]}{B32[dd & 31]}{selector(kid)}"
    if subdomain:
        return f"sw1={stamp}={local}@{subdomain}.{sdom}"
    return f"sw0={stamp}={sdom}={local}@{domain}"


def verify(keys, addr, domain, subdomain, today):
    local, _, rdom = addr.rpartition("@")
    m = re.fullmatch(r"(?i)sw([01])=([a-z2-7]{8})=([a-z2-7]{2})([a-z2-7])=(.*)", local)
    if not m:
        return None
    form, h, dd, k, rest = m.groups()
    if form == "0":
        if not domain or rdom.lower() != domain.lower() or "=" not in rest:
            return None
        sdom, _, slocal = rest.partition("=")
    else:
        if not subdomain or not rdom.lower().startswith(subdomain.lower() + "."):
            return None
        sdom, slocal = rdom[len(subdomain) + 1:], rest
    sender = f"{slocal}@{sdom.lower()}"
    ddv = B32.index(dd[0].lower()) << 5 | B32.index(dd[1].lower())
    for day in (today, today - 1):
        if day % 1024 != ddv:
            continue
        for kid, secret in keys:
            if selector(kid) == k.lower() and hmac.compare_digest(mac(secret, day, sender), h.lower()):
                return sender
    return None


def headers_of(path):
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", "replace").replace("\r\n", "\n")
    hdrs = raw.split("\n\n", 2)[1]
    # unfold, then drop our header: the provider quotes nothing of ours
    hdrs = re.sub(r"\n[ \t]+", " ", hdrs)
    return "\n".join(l for l in hdrs.split("\n") if not l.lower().startswith("x-spillway-tag:"))


def send(a, msg):
    """Send with the null sender; print the Message-ID or 'refused ...' (exit 3)."""
    mid = re.search(r"(?im)^Message-ID: (.*)$", msg).group(1)
    try:
        with smtplib.SMTP("127.0.0.1", a.port, local_hostname=a.helo, timeout=60,
                          source_address=(a.source, 0)) as s:
            s.sendmail("", [a.to], msg.replace("\n", "\r\n"))
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients[a.to]
        print(f"refused {code} {text.decode(errors='replace')}")
        sys.exit(3)
    print(mid)


def ndr(a):
    host = a.reporter
    failed = a.rcpt
    rdom = failed.split("@")[1]
    mid = f"<{time.time_ns()}.ndr@{host}>"
    quoted = ""
    if a.original:
        quoted = f"""
--b-ndr
Content-Type: text/rfc822-headers

{headers_of(a.original)}
"""
        if "x-spillway-tag" in quoted.lower():
            sys.exit("rpath.py: the quoted headers still carry X-Spillway-Tag")
    msg = f"""From: Microsoft Outlook <postmaster@{host}>
To: {a.to}
Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}
Subject: Undeliverable: {a.subject}
Message-ID: {mid}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="b-ndr"

--b-ndr
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

{failed}
Your message couldn't be delivered. The recipient's email server refused it.

Diagnostic information for administrators:

Generating server: {host}

{failed}
Remote Server returned '{a.text}'

--b-ndr
Content-Type: message/delivery-status

Reporting-MTA: dns;{host}
Received-From-MTA: dns;mta.test.spillway
Arrival-Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}

Original-Recipient: rfc822;{failed}
Final-Recipient: rfc822;{failed}
Action: failed
Status: {a.status}
Remote-MTA: dns;mx1.{rdom}
Diagnostic-Code: smtp;{a.text}
{quoted}
--b-ndr--
"""
    send(a, msg)


def reply(a):
    mid = f"<{time.time_ns()}.reply@mx.{a.helo}>"
    msg = f"""From: Away <away@{a.helo}>
To: {a.to}
Subject: Automatic reply: out of office
Message-ID: {mid}
Auto-Submitted: auto-replied

I am out of the office until next week.
"""
    send(a, msg)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make")
    p.add_argument("keys")
    p.add_argument("sender")
    p.add_argument("--domain")
    p.add_argument("--subdomain")
    p.add_argument("--days-ago", type=int, default=0)
    p.add_argument("--secret", help="sign with this hex secret instead (under the file's key id)")
    p = sub.add_parser("verify")
    p.add_argument("keys")
    p.add_argument("addr")
    p.add_argument("--domain")
    p.add_argument("--subdomain")
    for name in ("ndr", "reply"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--to", required=True)
        p.add_argument("--source", default="127.0.0.5")
        p.add_argument("--helo", default="provider.test")
        if name == "ndr":
            p.add_argument("--rcpt", required=True, help="the recipient that failed")
            p.add_argument("--original", help="a relay spool file: headers to quote")
            p.add_argument("--subject", default="e2e")
            p.add_argument("--reporter", default="AM6PR01MB1234.eurprd01.prod.protection.outlook.test")
            p.add_argument("--status", default="5.7.1")
            p.add_argument("--text", default="550 5.7.1 Service unavailable; Your IP 40.107.3.4 "
                           "has poor reputation (SenderBase)")
    a = ap.parse_args()
    today = int(time.time()) // 86400
    if a.cmd == "make":
        kid, secret = read_keys(a.keys)[0]
        if a.secret:
            secret = bytes.fromhex(a.secret)
        print(make(kid, secret, a.sender, today - a.days_ago, a.domain, a.subdomain))
    elif a.cmd == "verify":
        sender = verify(read_keys(a.keys), a.addr, a.domain, a.subdomain, today)
        if sender is None:
            sys.exit(f"rpath.py: {a.addr} does not verify")
        print(sender)
    elif a.cmd == "ndr":
        ndr(a)
    else:
        reply(a)


if __name__ == "__main__":
    main()
