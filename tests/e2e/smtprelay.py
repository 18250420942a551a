#!/usr/bin/python3
"""smtprelay.py - a small test SMTP relay for spillway's end-to-end tests.

It stands in for the upstream relays (primary, alternates) that a private
Postfix instance delivers to.  Every accepted message is written to a spool
directory so a test can count which relay received which message, and a rules
file lets a test make the relay refuse recipients (4xx/5xx, or 421 + close) to
simulate a busy or reputation-blocked relay.

Usage:
    smtprelay.py --port PORT --name NAME --spool DIR [--rules FILE] [--pidfile F]
                 [--addr 127.0.0.x] [--tls-cert FILE --tls-key FILE] [--mode MODE]

Listens on a loopback address (127.0.0.1 by default, --addr 127.0.0.2 ...).  Standard library only (asyncio).

With --dsn the EHLO reply also advertises DSN (RFC 3461), so that a client
passes RET= and ENVID= on MAIL FROM (recorded as mail-params below).

With --tls-cert/--tls-key the EHLO reply advertises STARTTLS; "STARTTLS" gets
"220 2.0.0 Ready to start TLS" and the connection is upgraded.  Then, as RFC
3207 says, the session starts over: the client must send EHLO/HELO again
before MAIL ("503 5.5.1 Error: send HELO/EHLO first"), and plaintext it had
pipelined after STARTTLS is discarded.  Without a certificate STARTTLS is not
advertised and gets 502.  "STARTTLS ok (PROTOCOL CIPHER) from PEER" or "TLS
handshake with PEER failed: ..." is logged on stderr.

--mode MODE (default normal) makes the relay misbehave, for health probes:
    normal               as described here
    no-starttls          never advertise or accept STARTTLS (502), even with a certificate
    hang-after-ehlo      banner, then no reply to EHLO/HELO nor to anything after it
    close-after-banner   banner, then close the connection
    hang-banner          accept the connection and never send anything
    hang-after-starttls  "220 2.0.0 Ready to start TLS", then no TLS handshake
A hanging connection reads and discards input until the client closes it or
HANG_TIMEOUT (120 s) passes.

Spool file format (one file per accepted message, written atomically):
    relay: NAME
    message-id: <value of the Message-ID header, empty if none>
    rcpt: addr            (one line per accepted recipient)
    mail-from: addr       (the envelope sender, empty for the null sender)
    mail-params: K=V ...  (MAIL FROM's ESMTP parameters as sent, may be empty)
    <blank line>
    <message as received, dot-unstuffed>

Rules file: lines "DOMAIN CODE TEXT...", e.g.
    fo.example 550 5.7.606 Access denied, banned sending IP [40.107.1.2]
    * 450 4.7.1 Primary relay busy, try later
A recipient whose lower-cased domain equals DOMAIN gets "CODE TEXT" instead of
250; an exact domain rule wins over a "*" rule.  A CODE starting with 421 is
sent and the connection is closed.  Lines starting with '#' and blank lines are
ignored.  The file is re-read whenever its mtime/size changes (checked on every
RCPT); a missing file means "accept everything".

Each RCPT reply is also appended to SPOOL/../NAME.rcptlog as "CODE DOMAIN",
and each connection (whatever the mode) to SPOOL/../NAME.connlog as
"EPOCH_SECONDS PEER_IP:PORT" (e.g. "1718000000.123 127.0.0.1:40312").
"""

import argparse
import asyncio
import itertools
import logging
import os
import signal
import ssl
import sys
import time

MAX_LINE = 2000                 # bytes, command or data line incl. CRLF
MAX_MESSAGE = 10 * 1024 * 1024  # bytes of message data
IDLE_TIMEOUT = 60               # seconds without a complete line
HANG_TIMEOUT = 120              # seconds a hanging mode keeps a connection
TLS_HANDSHAKE_TIMEOUT = 30      # seconds
MODES = ("normal", "no-starttls", "hang-after-ehlo", "close-after-banner",
         "hang-banner", "hang-after-starttls")


class Rules:
    """Reply rules, reloaded when the file's (mtime, size) changes."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.rules = {}

    def _reload(self):
        if not self.path:
            return
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp == self.stamp:
            return
        rules = {}
        if stamp is not None:
            try:
                with open(self.path, encoding="utf-8", errors="replace") as fh:
                    for line in fh:
                        line = line.strip()
                        if not line or line.startswith("#"):
                            continue
                        parts = line.split(None, 2)
                        if len(parts) < 2 or not (parts[1].isdigit() and len(parts[1]) == 3):
                            print(f"smtprelay: ignoring bad rule: {line!r}", file=sys.stderr)
                            continue
                        text = parts[2] if len(parts) > 2 else ""
                        # first rule for a domain wins
                        rules.setdefault(parts[0].lower(), (parts[1], text))
            except OSError as exc:
                print(f"smtprelay: cannot read rules: {exc}", file=sys.stderr)
                return  # keep the old rules, retry next time
        self.rules = rules
        self.stamp = stamp

    def lookup(self, domain):
        """Return (code, text) for DOMAIN, or None to accept."""
        self._reload()
        return self.rules.get(domain) or self.rules.get("*")


class Relay:
    def __init__(self, args):
        self.name = args.name
        self.spool = os.path.abspath(args.spool)
        self.rules = Rules(args.rules)
        self.rcptlog = os.path.join(os.path.dirname(self.spool), f"{self.name}.rcptlog")
        self.connlog = os.path.join(os.path.dirname(self.spool), f"{self.name}.connlog")
        self.mode = args.mode
        self.dsn = args.dsn
        self.tls = None
        if args.tls_cert and args.mode != "no-starttls":
            self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls.load_cert_chain(args.tls_cert, args.tls_key)
        self.seq = itertools.count(1)
        self.conns = set()

    # ---- persistence -------------------------------------------------------

    def log_rcpt(self, code, domain):
        try:
            with open(self.rcptlog, "a", encoding="utf-8") as fh:
                fh.write(f"{code} {domain or '-'}\n")
        except OSError:
            pass

    def log_conn(self, peer):
        try:
            with open(self.connlog, "a", encoding="utf-8") as fh:
                fh.write(f"{time.time():.3f} {peer}\n")
        except OSError:
            pass

    def store(self, sender, rcpts, data, params=""):
        """Write one spool file atomically; return its queue id."""
        qid = f"{time.time_ns()}-{os.getpid()}-{next(self.seq)}"
        msgid = message_id(data)
        head = [f"relay: {self.name}", f"message-id: {msgid}"]
        head += [f"rcpt: {r}" for r in rcpts]
        head.append(f"mail-from: {sender}")
        head.append(f"mail-params: {params}")
        blob = ("\n".join(head) + "\n\n").encode("utf-8", "surrogateescape") + data
        tmp = os.path.join(self.spool, f".tmp-{qid}")
        final = os.path.join(self.spool, f"{qid}.msg")
        with open(tmp, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, final)
        return qid

    # ---- SMTP session ------------------------------------------------------

    async def session(self, reader, writer):
        task = asyncio.current_task()
        self.conns.add(task)
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except ssl.SSLError as exc:     # over TLS, after the handshake
            print(f"smtprelay {self.name}: TLS error: {exc}", file=sys.stderr, flush=True)
        except asyncio.CancelledError:
            pass
        finally:
            self.conns.discard(task)
            try:
                writer.close()
            except Exception:
                pass

    async def _hang(self, reader):
        """Read and discard input until EOF or HANG_TIMEOUT; never reply."""
        deadline = time.monotonic() + HANG_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(4096), left)
            except asyncio.TimeoutError:
                return
            if not data:
                return

    async def _session(self, reader, writer):
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        self.log_conn(peer)
        if self.mode == "hang-banner":
            await self._hang(reader)
            return

        async def reply(text):
            # Commands are handled strictly in order from the buffered
            # reader, so pipelined input needs nothing special here.
            writer.write(text.encode("utf-8", "replace") + b"\r\n")
            await writer.drain()

        async def readline():
            """One line (bytes, with ending) or None on EOF / timeout / overlong."""
            try:
                line = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)
            except asyncio.TimeoutError:
                await reply("421 4.4.2 Idle timeout, closing")
                return None
            except (ValueError, asyncio.LimitOverrunError):
                await reply("500 5.5.2 Line too long, closing")
                return None
            if not line:
                return None
            return line

        sender = None
        mail_params = ""
        rcpts = []
        in_tls = False
        need_helo = False           # after STARTTLS, until EHLO/HELO
        await reply(f"220 {self.name}.relay.test ESMTP smtprelay")
        if self.mode == "close-after-banner":
            return
        while True:
            raw = await readline()
            if raw is None:
                return
            line = raw.decode("latin-1").rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO") and self.mode == "hang-after-ehlo":
                await self._hang(reader)
                return
            if verb == "EHLO":
                sender, rcpts, need_helo = None, [], False
                tls = "250-STARTTLS\r\n" if self.tls and not in_tls else ""
                dsn = "250-DSN\r\n" if self.dsn else ""
                await reply(f"250-{self.name}.relay.test\r\n250-PIPELINING\r\n"
                            f"250-8BITMIME\r\n{dsn}{tls}250 SIZE {MAX_MESSAGE}")
            elif verb == "HELO":
                sender, rcpts, need_helo = None, [], False
                await reply(f"250 {self.name}.relay.test")
            elif verb == "STARTTLS" and self.tls:
                if in_tls:
                    await reply("503 5.5.1 Error: TLS already active")
                    continue
                if arg.strip():
                    await reply("501 5.5.4 Syntax: STARTTLS")
                    continue
                await reply("220 2.0.0 Ready to start TLS")
                if self.mode == "hang-after-starttls":
                    await self._hang(reader)
                    return
                # Plaintext pipelined after STARTTLS must not be taken as
                # sent over TLS (the STARTTLS command injection attack).
                # StreamReader has no public way to look at its buffer.
                buffered = getattr(reader, "_buffer", None)
                if buffered:
                    print(f"smtprelay {self.name}: discarding {len(buffered)} bytes "
                          f"pipelined after STARTTLS by {peer}", file=sys.stderr, flush=True)
                    buffered.clear()
                try:
                    await writer.start_tls(self.tls, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
                except (ssl.SSLError, OSError, asyncio.TimeoutError) as exc:
                    print(f"smtprelay {self.name}: TLS handshake with {peer} failed: {exc}",
                          file=sys.stderr, flush=True)
                    return
                sslobj = writer.get_extra_info("ssl_object")
                print(f"smtprelay {self.name}: STARTTLS ok ({sslobj.version()} "
                      f"{sslobj.cipher()[0]}) from {peer}", file=sys.stderr, flush=True)
                in_tls, need_helo = True, True
                sender, rcpts = None, []
            elif verb == "MAIL":
                if need_helo:
                    await reply("503 5.5.1 Error: send HELO/EHLO first")
                    continue
                if sender is not None:
                    await reply("503 5.5.1 Nested MAIL command")
                    continue
                if not arg.upper().startswith("FROM:"):
                    await reply("501 5.5.4 Syntax: MAIL FROM:<address>")
                    continue
                addr, params = parse_path(arg[5:])
                size = params.get("SIZE")
                if size and size.isdigit() and int(size) > MAX_MESSAGE:
                    await reply("552 5.3.4 Message size exceeds fixed limit")
                    continue
                sender, rcpts = addr, []
                mail_params = " ".join(f"{k}={v}" if v else k for k, v in params.items())
                await reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                if sender is None:
                    await reply("503 5.5.1 Need MAIL command")
                    continue
                if not arg.upper().startswith("TO:"):
                    await reply("501 5.5.4 Syntax: RCPT TO:<address>")
                    continue
                addr, _ = parse_path(arg[3:])
                domain = addr.rpartition("@")[2].lower().rstrip(".") if "@" in addr else ""
                rule = self.rules.lookup(domain)
                if rule is None:
                    rcpts.append(addr)
                    self.log_rcpt("250", domain)
                    await reply("250 2.1.5 Ok")
                else:
                    code, text = rule
                    self.log_rcpt(code, domain)
                    if code.startswith("421"):
                        await reply(f"{code} {text}".rstrip())
                        return
                    await reply(f"{code} {text}".rstrip())
            elif verb == "DATA":
                if sender is None:
                    await reply("503 5.5.1 Need MAIL command")
                    continue
                if not rcpts:
                    await reply("554 5.5.1 No valid recipients")
                    continue
                await reply("354 End data with <CR><LF>.<CR><LF>")
                data, too_big = await self._read_data(readline)
                if data is None:
                    return
                if too_big:
                    await reply("552 5.3.4 Message size exceeds fixed limit")
                else:
                    try:
                        qid = self.store(sender, rcpts, data, mail_params)
                        await reply(f"250 2.0.0 Ok: queued as {qid}")
                    except OSError as exc:
                        await reply(f"451 4.3.0 Local spool error: {exc}")
                sender, rcpts = None, []
            elif verb == "RSET":
                sender, rcpts = None, []
                await reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                await reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                await reply("221 2.0.0 Bye")
                return
            else:
                await reply("502 5.5.2 Command not implemented")

    async def _read_data(self, readline):
        """Read message data up to the lone dot. Returns (bytes|None, too_big)."""
        chunks = []
        total = 0
        too_big = False
        while True:
            raw = await readline()
            if raw is None:
                return None, False
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b"."):
                raw = raw[1:]            # dot-unstuffing
            total += len(raw)
            if total > MAX_MESSAGE:
                too_big = True
                chunks = []              # keep reading, but drop the data
            if not too_big:
                chunks.append(raw)
        return b"".join(chunks), too_big


def parse_path(text):
    """Parse ' <addr> PARAM=V ...' into (addr, {PARAM: V})."""
    text = text.strip()
    params = {}
    if text.startswith("<"):
        end = text.find(">")
        if end < 0:
            addr, rest = text[1:], ""
        else:
            addr, rest = text[1:end], text[end + 1:]
    else:
        addr, _, rest = text.partition(" ")
    for p in rest.split():
        k, _, v = p.partition("=")
        params[k.upper()] = v
    return addr, params


def message_id(data):
    """Value of the Message-ID header (unfolded), or '' if absent."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    value = None
    for line in head.decode("latin-1").splitlines():
        if value is not None:
            if line[:1] in (" ", "\t"):
                value = (value + " " + line.strip()).strip()
                continue
            break
        name, sep, rest = line.partition(":")
        if sep and name.strip().lower() == "message-id":
            value = rest.strip()
    return value or ""


async def main():
    ap = argparse.ArgumentParser(description="test SMTP relay (loopback only)")
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--rules")
    ap.add_argument("--pidfile")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--mode", default="normal", choices=MODES)
    ap.add_argument("--dsn", action="store_true", help="advertise DSN in the EHLO reply")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        sys.exit("smtprelay: --tls-cert and --tls-key go together")

    os.makedirs(args.spool, exist_ok=True)
    try:
        relay = Relay(args)
    except (OSError, ssl.SSLError) as exc:
        sys.exit(f"smtprelay: cannot load the TLS certificate/key: {exc}")
    if not args.addr.startswith("127."):
        sys.exit("smtprelay: --addr must be a loopback address (127.0.0.0/8)")
    server = await asyncio.start_server(relay.session, args.addr, args.port,
                                        limit=MAX_LINE, reuse_address=True)
    if args.pidfile:
        tmp = f"{args.pidfile}.tmp"
        with open(tmp, "w") as fh:
            fh.write(f"{os.getpid()}\n")
        os.rename(tmp, args.pidfile)

    # A client that closes right after the TLS handshake can do so before
    # StreamWriter.start_tls has switched the stream to TLS, and asyncio then
    # warns that "returning true from eof_received() has no effect when using
    # ssl".  The connection is closed all the same: drop the noise.
    logging.getLogger("asyncio").addFilter(
        lambda rec: "eof_received() has no effect" not in rec.getMessage())

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"smtprelay {args.name}: listening on {args.addr}:{args.port}"
          + (f" (STARTTLS {os.path.basename(args.tls_cert)})" if relay.tls else "")
          + (f" mode {args.mode}" if args.mode != "normal" else ""),
          file=sys.stderr, flush=True)
    await stop.wait()

    server.close()
    for task in list(relay.conns):
        task.cancel()
    await asyncio.gather(*relay.conns, return_exceptions=True)
    await server.wait_closed()
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except OSError:
            pass


if __name__ == "__main__":
    asyncio.run(main())
