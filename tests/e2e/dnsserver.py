#!/usr/bin/python3
"""dnsserver.py - a small authoritative DNS server for spillway's end-to-end tests.

It answers the c-ares lookups of the relay health probes (relay addresses, MX
hosts, DNSBL listings) from a plain zones file that a test rewrites while it
runs, and it can fail on purpose (SERVFAIL, REFUSED, no answer at all) for a
name and everything below it.

Usage:
    dnsserver.py --zones FILE [--addr 127.0.53.53] [--port 53] [--pidfile F]
                 [--querylog FILE]

Listens on UDP and TCP on the same loopback address (127.0.0.0/8 only) and
port.  The pidfile is written once both sockets are bound; SIGTERM/SIGINT stop
the server and remove it.  Needs python3-dnslib.

Zones file, one entry a line; blank lines and comments ("#" at the start of a
word, outside quotes) are ignored; names are case-insensitive and a trailing
dot is optional:
    NAME A     TTL 127.0.0.11           (several lines for one name and type:
    NAME AAAA  TTL ::1                   several records, all returned in file
    NAME MX    TTL PREF HOST             order)
    NAME TXT   TTL "some text" ...      (each word or quoted string is one
    NAME CNAME TTL TARGET                character-string)
    NAME SOA   TTL [MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM]
    NAME SERVFAIL | NAME REFUSED | NAME DROP
e.g.
    relay.geo.test      A   30 127.0.0.11
    relay.geo.test      A   30 127.0.0.12
    mx.test             MX  60 10 mx1.test
    12.0.0.127.bl.test  A   60 127.0.0.2
    12.0.0.127.bl.test  TXT 60 "listed for testing"
    broken.test         SERVFAIL
    blackhole.test      DROP

Only loopback data is accepted: A in 127.0.0.0/8, AAAA ::1 or
::ffff:127.0.0.0/104 (the code under test connects where these point).

Answers:
  - SERVFAIL / REFUSED / DROP apply to NAME and every name below it (the most
    specific such line wins, and it wins over records); DROP sends no reply.
  - A name with records of the asked type: NOERROR with all of them.  A CNAME
    is followed inside the data (at most 8 steps).  Type ANY returns every
    record of the name.
  - A name that exists with other types only, or that has names with records
    below it (an empty non-terminal): NOERROR with no answer (NODATA).
  - Any other name: NXDOMAIN.
  - NODATA and NXDOMAIN carry the SOA of the nearest enclosing SOA line in the
    authority section, if there is one (no SOA line: no SOA, so resolvers that
    cache follow RFC 2308 and do not cache the negative answer).
  - Replies have AA set and RA clear.  A UDP reply larger than 512 bytes (or
    the client's EDNS size, at most 4096) is sent empty with TC set, so the
    client retries over TCP.
  - Class CH queries for version.server, version.bind, id.server or
    hostname.bind get TXT "dnsserver.py PID" and are not logged (health.sh's
    readiness probe); other CH queries get REFUSED.

The file is re-read when its mtime, size or inode changes (checked on every
query), so a test changes listings mid-test by writing a temporary file and
renaming it over the old one.  A bad line is reported on stderr as
"FILE:LINE: reason" and skipped.  A missing file means no records at all (every
name NXDOMAIN); an unreadable one keeps the previous data.

--querylog FILE appends one line per query (not for CH probes):
    EPOCH_SECONDS NAME TYPE RCODE
e.g. "1718000000.123 relay.geo.test A NOERROR"; NAME is lower-cased without the
trailing dot ("." for the root), TYPE a mnemonic (A, AAAA, MX, TYPE65...),
RCODE NOERROR, NXDOMAIN, SERVFAIL, REFUSED, FORMERR, NOTIMP, or DROP for a
query that got no reply.  A packet that cannot be parsed is logged as
"EPOCH - - FORMERR".
"""

import argparse
import asyncio
import ipaddress
import os
import shlex
import signal
import struct
import sys
import time

try:
    from dnslib import (AAAA, CNAME, MX, OPCODE, QTYPE, RCODE, RR, SOA, TXT, A,
                        DNSError, DNSHeader, DNSRecord, EDNS0)
except ImportError:
    sys.exit("dnsserver: needs dnslib (apt-get install python3-dnslib)")

MAX_ZONES_SIZE = 1024 * 1024    # bytes; a bigger file is refused (old data kept)
MAX_RECORDS = 20000             # entries (records + policies) per file
MAX_CNAME_CHAIN = 8
MAX_UDP_QUERY = 4096
MAX_UDP_REPLY = 4096            # cap on the client's EDNS buffer size
TCP_IDLE_TIMEOUT = 10           # seconds without a complete query
TCP_MAX_QUERIES = 1000          # per connection
TCP_MAX_CONNS = 64              # concurrent; more are closed at once
POLICIES = ("SERVFAIL", "REFUSED", "DROP")
CLASS_IN, CLASS_CH, CLASS_ANY = 1, 3, 255
CHAOS_NAMES = ("version.server", "version.bind", "id.server", "hostname.bind")

LOOPBACK4 = ipaddress.ip_network("127.0.0.0/8")
LOOPBACK6_MAPPED = ipaddress.ip_network("::ffff:127.0.0.0/104")


def norm(name):
    """Canonical form of a domain name: lower case, no trailing dot, '' = root."""
    name = name.strip().lower()
    if name.endswith(".") and not name.endswith("\\."):
        name = name[:-1]
    return name


def is_loopback_addr(text):
    """Is TEXT (an IP address, e.g. --addr) in 127.0.0.0/8?"""
    try:
        return ipaddress.ip_address(text) in LOOPBACK4
    except ValueError:
        return False


def suffixes(name):
    """NAME, its parent, ..., up to but not including the root."""
    while name:
        yield name
        dot = name.find(".")
        name = name[dot + 1:] if dot >= 0 else ""


class Zones:
    """The zones file, reloaded when its (mtime, size, inode) changes."""

    def __init__(self, path):
        self.path = path
        self.stamp = ()             # never equal to a real stamp or None
        self.records = {}           # name -> [(qtype, RR rdata, ttl)]
        self.policies = {}          # name -> "SERVFAIL" | "REFUSED" | "DROP"
        self.soas = {}              # apex name -> (rdata, ttl)
        self.existing = set()       # names with records, and their ancestors

    def reload(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        except OSError as exc:
            print(f"dnsserver: cannot stat {self.path}: {exc}", file=sys.stderr, flush=True)
            return
        if stamp == self.stamp:
            return
        if stamp is None:
            print(f"dnsserver: {self.path} does not exist: no records", file=sys.stderr, flush=True)
            self._set({}, {}, {})
            self.stamp = None
            return
        if st.st_size > MAX_ZONES_SIZE:
            print(f"dnsserver: {self.path} is larger than {MAX_ZONES_SIZE} bytes, "
                  "keeping the previous data", file=sys.stderr, flush=True)
            self.stamp = stamp
            return
        try:
            with open(self.path, encoding="utf-8", errors="replace") as fh:
                text = fh.read(MAX_ZONES_SIZE + 1)
        except OSError as exc:
            print(f"dnsserver: cannot read {self.path}: {exc}", file=sys.stderr, flush=True)
            return                  # keep the old data, retry on the next query
        records, policies, soas = {}, {}, {}
        count = 0
        for lineno, line in enumerate(text.splitlines(), 1):
            if count >= MAX_RECORDS:
                self._bad(lineno, f"more than {MAX_RECORDS} entries, ignoring the rest")
                break
            try:
                entry = parse_line(line)
            except ValueError as exc:
                self._bad(lineno, f"{exc}: {line.strip()!r}")
                continue
            if entry is None:
                continue
            name, kind, value = entry
            if kind in POLICIES:
                if name in policies:
                    self._bad(lineno, f"second policy line for {name or '.'}, ignored")
                    continue
                policies[name] = kind
            else:
                have = records.setdefault(name, [])
                types = {t for t, _, _ in have}
                if kind == "CNAME" and types or "CNAME" in types:
                    self._bad(lineno, f"{name or '.'}: a CNAME cannot coexist with other records")
                    if not have:
                        del records[name]
                    continue
                if kind == "SOA":
                    if name in soas:
                        self._bad(lineno, f"second SOA for {name or '.'}, ignored")
                        continue
                    soas[name] = value
                have.append((kind, value[0], value[1]))
            count += 1
        self._set(records, policies, soas)
        self.stamp = stamp
        print(f"dnsserver: loaded {self.path}: {count} entries", file=sys.stderr, flush=True)

    def _bad(self, lineno, msg):
        print(f"{self.path}:{lineno}: {msg}", file=sys.stderr, flush=True)

    def _set(self, records, policies, soas):
        self.records, self.policies, self.soas = records, policies, soas
        existing = set()
        for name in records:
            existing.update(suffixes(name))
        existing.add("")
        self.existing = existing

    def policy(self, name):
        for n in suffixes(name):
            if n in self.policies:
                return self.policies[n]
        return self.policies.get("")

    def soa_for(self, name):
        """(apex, rdata, ttl) of the nearest enclosing SOA, or None."""
        for n in list(suffixes(name)) + [""]:
            if n in self.soas:
                rdata, ttl = self.soas[n]
                return n, rdata, ttl
        return None


def parse_line(line):
    """One zones-file line -> None (blank/comment) or (name, KIND, value).

    value is (rdata, ttl) for records, None for policies.  Raises ValueError.
    """
    lex = shlex.shlex(line, posix=True)
    lex.whitespace_split = True
    lex.commenters = "#"
    try:
        words = list(lex)
    except ValueError as exc:        # unbalanced quotes
        raise ValueError(str(exc).lower()) from None
    if not words:
        return None
    name = norm(words[0])
    check_name(name)
    if len(words) < 2:
        raise ValueError("missing type")
    kind = words[1].upper()
    if kind in POLICIES:
        if len(words) != 2:
            raise ValueError(f"{kind} takes no value")
        return name, kind, None
    if kind not in ("A", "AAAA", "MX", "TXT", "CNAME", "SOA"):
        raise ValueError(f"unknown type {words[1]!r}")
    if len(words) < 3:
        raise ValueError("missing TTL")
    ttl = parse_int(words[2], "TTL", 0, 2**31 - 1)
    args = words[3:]

    def nargs(n):
        if len(args) != n:
            raise ValueError(f"{kind} wants {n} value(s), got {len(args)}")

    if kind == "A":
        nargs(1)
        try:
            addr = ipaddress.IPv4Address(args[0])
        except ValueError:
            raise ValueError(f"bad IPv4 address {args[0]!r}") from None
        if addr not in LOOPBACK4:
            raise ValueError(f"{addr} is not a loopback address (127.0.0.0/8 only)")
        rdata = A(str(addr))
    elif kind == "AAAA":
        nargs(1)
        try:
            addr = ipaddress.IPv6Address(args[0])
        except ValueError:
            raise ValueError(f"bad IPv6 address {args[0]!r}") from None
        if not (addr.is_loopback or addr in LOOPBACK6_MAPPED):
            raise ValueError(f"{addr} is not a loopback address (::1 or ::ffff:127.x only)")
        rdata = AAAA(str(addr))
    elif kind == "MX":
        nargs(2)
        pref = parse_int(args[0], "MX preference", 0, 65535)
        host = norm(args[1])
        check_name(host)
        rdata = MX(host + "." if host else ".", pref)
    elif kind == "CNAME":
        nargs(1)
        target = norm(args[0])
        check_name(target)
        rdata = CNAME(target + "." if target else ".")
    elif kind == "TXT":
        if not args:
            raise ValueError("TXT wants at least one string")
        strings = []
        for a in args:
            b = a.encode("utf-8")
            strings += [b[i:i + 255] for i in range(0, len(b), 255)] or [b""]
        if sum(len(s) + 1 for s in strings) > 65000:
            raise ValueError("TXT data too long")
        rdata = TXT(strings)
    else:  # SOA
        if args and len(args) != 7:
            raise ValueError("SOA wants no value or MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM")
        if args:
            mname, rname = norm(args[0]), norm(args[1])
            check_name(mname)
            check_name(rname)
            times = tuple(parse_int(a, "SOA field", 0, 2**32 - 1) for a in args[2:])
        else:
            mname, rname = f"ns.{name}".rstrip("."), f"hostmaster.{name}".rstrip(".")
            times = (1, 3600, 600, 86400, ttl)
        rdata = SOA(mname + ".", rname + ".", times)
    return name, kind, (rdata, ttl)


def parse_int(text, what, lo, hi):
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise ValueError(f"bad {what} {text!r}")
    return int(text)


def check_name(name):
    if len(name) > 253:
        raise ValueError("name longer than 253 characters")
    if name and any(not label or len(label) > 63 for label in name.split(".")):
        raise ValueError(f"bad name {name!r} (empty label or label over 63 characters)")


class Server:
    def __init__(self, args):
        self.zones = Zones(args.zones)
        self.querylog = args.querylog
        self.tcp_conns = set()

    def log_query(self, name, qtype, rcode):
        if not self.querylog:
            return
        try:
            with open(self.querylog, "a", encoding="utf-8") as fh:
                fh.write(f"{time.time():.3f} {name} {qtype} {rcode}\n")
        except OSError as exc:
            print(f"dnsserver: cannot write {self.querylog}: {exc}", file=sys.stderr, flush=True)

    def handle(self, data, udp):
        """Answer one query packet: reply bytes, or None for no reply."""
        try:
            query = DNSRecord.parse(data)
        except (DNSError, ValueError, IndexError, struct.error, UnicodeError):
            if len(data) >= 12 and not data[2] & 0x80:
                # Enough of a header to say FORMERR back.
                self.log_query("-", "-", "FORMERR")
                hdr = DNSHeader(id=struct.unpack("!H", data[:2])[0], qr=1, rd=data[2] & 1,
                                rcode=RCODE.FORMERR)
                return DNSRecord(hdr).pack()
            return None
        if query.header.qr:
            return None                 # a response: never answer those
        reply = query.reply(ra=0, aa=1)
        edns_size = None
        for rr in query.ar:
            if rr.rtype == QTYPE.OPT:
                edns_size = max(512, min(rr.rclass, MAX_UDP_REPLY))
        if edns_size is not None:
            reply.add_ar(EDNS0(udp_len=1232))

        if query.header.opcode != OPCODE.QUERY:
            reply.header.rcode = RCODE.NOTIMP
            reply.header.aa = 0
            self.log_query("-", "-", "NOTIMP")
            return self.pack(reply, udp, edns_size)
        if len(query.questions) != 1:
            reply.header.rcode = RCODE.FORMERR
            reply.header.aa = 0
            self.log_query("-", "-", "FORMERR")
            return self.pack(reply, udp, edns_size)

        q = query.q
        qname_text = str(q.qname)
        name = norm(qname_text)
        qtype = q.qtype
        tname = QTYPE.get(qtype, f"TYPE{qtype}")

        if q.qclass == CLASS_CH:
            if name in CHAOS_NAMES and qtype in (QTYPE.TXT, QTYPE.ANY):
                reply.add_answer(RR(q.qname, QTYPE.TXT, CLASS_CH, 0,
                                    TXT(f"dnsserver.py {os.getpid()}")))
            else:
                reply.header.rcode = RCODE.REFUSED
            return self.pack(reply, udp, edns_size)

        self.zones.reload()
        if q.qclass not in (CLASS_IN, CLASS_ANY):
            reply.header.rcode = RCODE.REFUSED
            reply.header.aa = 0
        else:
            pol = self.zones.policy(name)
            if pol == "DROP":
                self.log_query(name or ".", tname, "DROP")
                return None
            if pol:
                reply.header.rcode = getattr(RCODE, pol)
                reply.header.aa = 0
            else:
                self.answer(reply, q.qname, name, qtype)
        self.log_query(name or ".", tname, RCODE.get(reply.header.rcode, str(reply.header.rcode)))
        return self.pack(reply, udp, edns_size)

    def answer(self, reply, qname, name, qtype):
        zones = self.zones
        owner = qname
        for _ in range(MAX_CNAME_CHAIN + 1):
            recs = zones.records.get(name, [])
            want = [(t, r, ttl) for t, r, ttl in recs
                    if qtype == QTYPE.ANY or getattr(QTYPE, t) == qtype]
            if want:
                for t, rdata, ttl in want:
                    reply.add_answer(RR(owner, getattr(QTYPE, t), rdata=rdata, ttl=ttl))
                return
            cname = [(r, ttl) for t, r, ttl in recs if t == "CNAME"]
            if cname:
                rdata, ttl = cname[0]
                reply.add_answer(RR(owner, QTYPE.CNAME, rdata=rdata, ttl=ttl))
                owner = rdata.label
                name = norm(str(owner))
                if zones.policy(name):
                    return                      # the target's failure is not ours to say
                continue
            break
        else:
            return                              # chain too long: what we have
        if name not in zones.existing:
            reply.header.rcode = RCODE.NXDOMAIN
        soa = zones.soa_for(name)
        if soa:
            apex, rdata, ttl = soa
            reply.add_auth(RR(apex + "." if apex else ".", QTYPE.SOA, rdata=rdata,
                              ttl=min(ttl, rdata.times[4])))

    @staticmethod
    def pack(reply, udp, edns_size):
        data = reply.pack()
        limit = edns_size or 512
        if udp and len(data) > limit:
            reply.rr, reply.auth = [], []
            reply.ar = [rr for rr in reply.ar if rr.rtype == QTYPE.OPT]
            reply.header.tc = 1
            data = reply.pack()
        return data

    # ---- transports ----------------------------------------------------------

    async def tcp_session(self, reader, writer):
        task = asyncio.current_task()
        if len(self.tcp_conns) >= TCP_MAX_CONNS:
            writer.close()
            return
        self.tcp_conns.add(task)
        try:
            for _ in range(TCP_MAX_QUERIES):
                try:
                    head = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_TIMEOUT)
                    (length,) = struct.unpack("!H", head)
                    data = await asyncio.wait_for(reader.readexactly(length), TCP_IDLE_TIMEOUT)
                except (asyncio.TimeoutError, asyncio.IncompleteReadError):
                    return
                try:
                    out = self.handle(data, udp=False)
                except Exception as exc:    # a test server must not die on one packet
                    print(f"dnsserver: error answering over TCP: {exc!r}", file=sys.stderr, flush=True)
                    return
                if out is not None:
                    writer.write(struct.pack("!H", len(out)) + out)
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.tcp_conns.discard(task)
            try:
                writer.close()
            except Exception:
                pass


class UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, server):
        self.server = server
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if len(data) > MAX_UDP_QUERY:
            return
        try:
            out = self.server.handle(data, udp=True)
        except Exception as exc:        # a test server must not die on one packet
            print(f"dnsserver: error answering {addr}: {exc!r}", file=sys.stderr, flush=True)
            return
        if out is not None:
            self.transport.sendto(out, addr)

    def error_received(self, exc):
        pass


async def main():
    ap = argparse.ArgumentParser(description="authoritative test DNS server (loopback only)")
    ap.add_argument("--addr", default="127.0.53.53")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--zones", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("--querylog")
    args = ap.parse_args()
    if not is_loopback_addr(args.addr):
        sys.exit("dnsserver: --addr must be a loopback address (127.0.0.0/8)")
    if not 0 < args.port < 65536:
        sys.exit("dnsserver: bad --port")

    server = Server(args)
    server.zones.reload()
    loop = asyncio.get_running_loop()
    try:
        udp, _ = await loop.create_datagram_endpoint(
            lambda: UDPProtocol(server), local_addr=(args.addr, args.port))
        tcp = await asyncio.start_server(server.tcp_session, args.addr, args.port,
                                         reuse_address=True)
    except OSError as exc:
        sys.exit(f"dnsserver: cannot listen on {args.addr}:{args.port}: {exc}")
    if args.pidfile:
        tmp = f"{args.pidfile}.tmp"
        with open(tmp, "w") as fh:
            fh.write(f"{os.getpid()}\n")
        os.rename(tmp, args.pidfile)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"dnsserver: listening on {args.addr}:{args.port} (udp+tcp), zones {args.zones}",
          file=sys.stderr, flush=True)
    await stop.wait()

    udp.close()
    tcp.close()
    for task in list(server.tcp_conns):
        task.cancel()
    await asyncio.gather(*server.tcp_conns, return_exceptions=True)
    await tcp.wait_closed()
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except OSError:
            pass


if __name__ == "__main__":
    asyncio.run(main())
