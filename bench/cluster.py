#!/usr/bin/python3
"""bench/cluster.py - the client side of bench/run-cluster.sh (issue 15).

Talks only to unix sockets and 127.0.0.1.  Every loop is bounded in count
and in time.  Subcommands:

  prop EVSOCK CTL_A SOCKMAP_A SOCKMAP_B ROUNDS MODE
      MODE ev: one trusted reputation evidence datagram into node A's
      evidence socket per round, for a new destination (the rule's
      threshold is 1 event); MODE divert: one operator divert on A's control
      socket.  The clock starts just before the send; both socketmaps are
      asked "transport x@DOMAIN" in turn until each answers OK (at most 2 s
      a round).  Prints one line per round (ms to A, ms to B) and the
      percentiles.
  burst EVSOCK N CLASS
      N evidence datagrams (distinct ids, one destination per 100) as fast
      as the socket takes them; prints the time they took.
  diverts CTL N
      N operator diverts one after the other on a control socket
      (a new connection each, as spillwayctl does); prints the time.
  status CTL FIELD...
      fields of the "cluster" object of status --json (or "scopes": the
      number of scopes, "pid").
  wait CTL FIELD TARGET TIMEOUT
      poll status every 20 ms until cluster.FIELD >= TARGET; prints the
      seconds it took and the last value (exit 1 on timeout).
  verify KEYFILE RECORD
      check a record's mac as the daemon does (exit 1 if it differs).
  gen-dec KEYFILE TEMPLATE N PREFIX OUT
      from one signed dec record (TEMPLATE, as node A wrote it to Redis),
      N records for destinations NNNNNN.shared.example, re-signed, written
      to OUT as Redis protocol (HSET PREFIXdecisions) for redis-cli --pipe.
  redis PORT CMD...
      one Redis command, the reply printed (a minimal RESP client).
"""
import hashlib
import hmac
import json
import socket
import sys
import time

DOMAIN_FMT = "{m}{r:04d}-{t}.example"


def ns(s):
    b = s.encode()
    return b"%d:%s," % (len(b), b)


class Sockmap:
    def __init__(self, spec):
        host, port = spec.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_ask(self, key):
        self.s.setblocking(False)
        self.buf = b""
        self.s.sendall(ns("transport " + key))

    def poll_reply(self):
        """the reply to send_ask, or None while it is not all in"""
        try:
            chunk = self.s.recv(4096)
        except BlockingIOError:
            return None
        if not chunk:
            raise SystemExit("socketmap closed the connection")
        self.buf += chunk
        if b":" in self.buf:
            n, rest = self.buf.split(b":", 1)
            if len(rest) >= int(n) + 1:
                self.s.setblocking(True)
                self.s.settimeout(5)
                return rest[: int(n)].decode()
        return None

    def ask(self, key):
        self.s.sendall(ns("transport " + key))
        buf = b""
        while True:
            chunk = self.s.recv(4096)
            if not chunk:
                raise SystemExit("socketmap closed the connection")
            buf += chunk
            if b":" in buf:
                n, rest = buf.split(b":", 1)
                if len(rest) >= int(n) + 1:
                    return rest[: int(n)].decode()


def evrec(domain, ident, cls="reputation"):
    return "\t".join(["v=1", "source=dsn", f"time={int(time.time())}", "pool=m365",
                      f"domain={domain}", f"rcpt=u@{domain}", f"id=<{ident}@bench.spillway>",
                      "code=550", "dsn=5.7.606", f"class={cls}", "trusted=1", "tag=valid",
                      "text=550 5.7.606 Access denied, banned sending IP [40.107.1.2]"]).encode()


def ctl(path, fields, timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    line = "\t".join(f"{k}={v}" for k, v in fields) + "\n"
    s.sendall(line.encode())
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    head, _, body = out.decode(errors="replace").partition("\n")
    if head != "ok":
        raise SystemExit(f"control {fields[0][1]}: {head}")
    return body


def status(path):
    return json.loads(ctl(path, [("verb", "status"), ("json", "1")]))


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def cmd_prop(evsock, ctl_a, sm_a, sm_b, rounds, mode, evsock_c=None, sm_c=None):
    a, b = Sockmap(sm_a), Sockmap(sm_b)
    c = Sockmap(sm_c) if sm_c and mode == "ev" else None
    ev = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stamp = int(time.time())
    ta, tb, td, tc = [], [], [], []
    for r in range(int(rounds)):
        dom = DOMAIN_FMT.format(m=mode, r=r, t=stamp)
        key = f"x@{dom}"
        if not a.ask(key).startswith("NOTFOUND") or not b.ask(key).startswith("NOTFOUND"):
            raise SystemExit(f"round {r}: {dom} diverted before the send")
        if c and not c.ask(key).startswith("NOTFOUND"):
            raise SystemExit(f"round {r}: {dom} diverted on C before the send")
        t0 = time.perf_counter()
        if mode == "ev":
            ev.sendto(evrec(dom, f"r{r}-{stamp}"), evsock)
            if c:
                ev.sendto(evrec(dom, f"r{r}-{stamp}"), evsock_c)
        else:
            ctl(ctl_a, [("verb", "divert"), ("scope", dom), ("to", "alt-eu"), ("for", "1h"),
                        ("reason", "bench")])
        # each node polled by its own closed loop (a reply from one never
        # waits for another's): one ask outstanding per socket
        nodes = [("a", a), ("b", b)] + ([("c", c)] if c else [])
        got = {}
        for _, sm in nodes:
            sm.send_ask(key)
        while len(got) < len(nodes):
            if time.perf_counter() - t0 > 2:
                raise SystemExit(f"round {r} ({mode}): {got}: not diverted within 2 s")
            for name, sm in nodes:
                if name in got:
                    continue
                ans = sm.poll_reply()
                if ans is None:
                    continue
                if ans.startswith("OK"):
                    got[name] = (time.perf_counter() - t0) * 1000
                else:
                    sm.send_ask(key)
        da, db, dc = got["a"], got["b"], got.get("c", 0)
        if c:
            tc.append(dc)
        ta.append(da)
        tb.append(db)
        td.append(db - da)
        time.sleep(0.02)  # let both loops go idle between rounds
    for name, v in (("A", ta), ("B", tb), ("B-A", td)) + ((("C", tc),) if c else ()):
        print(f"prop mode={mode} node={name} rounds={len(v)} p50={pct(v, .5):.2f} "
              f"p90={pct(v, .9):.2f} p99={pct(v, .99):.2f} max={max(v):.2f}")


def cmd_burst(evsock, n, cls):
    ev = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ev.settimeout(10)
    stamp = time.time_ns()
    n = min(int(n), 1000000)
    t0 = time.perf_counter()
    for i in range(n):
        ev.sendto(evrec(f"burst{i // 100}.example", f"b{i}-{stamp}", cls), evsock)
        if time.perf_counter() - t0 > 120:
            raise SystemExit(f"burst: only {i} datagrams in 120 s")
    print(f"burst sent={n} secs={time.perf_counter() - t0:.3f}")


def cmd_diverts(path, n):
    n = min(int(n), 100000)
    stamp = int(time.time())
    t0 = time.perf_counter()
    for i in range(n):
        ctl(path, [("verb", "divert"), ("scope", f"dv{i}-{stamp}.example"), ("to", "alt-eu"),
                   ("for", "1h"), ("reason", "bench")])
        if time.perf_counter() - t0 > 300:
            raise SystemExit(f"diverts: only {i} in 300 s")
    print(f"diverts done={n} secs={time.perf_counter() - t0:.3f}")


def cmd_evrate(evsock, ctl_a, ctl_b, n, cls, per, timeout):
    """N datagrams into A (one destination per PER), then A's published_ev
    and B's received_ev (and _dec) polled every 50 ms up to their targets"""
    n, per, timeout = min(int(n), 1000000), int(per), float(timeout)
    a0, b0 = status(ctl_a)["cluster"], status(ctl_b)["cluster"]
    ev = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ev.settimeout(10)
    stamp = time.time_ns()
    dgrams = [evrec(f"{cls}{i // per}-{stamp}.example", f"b{i}-{stamp}", cls) for i in range(n)]
    t0 = time.perf_counter()
    for i, d in enumerate(dgrams):
        ev.sendto(d, evsock)
        if i % 1000 == 0 and time.perf_counter() - t0 > timeout:
            raise SystemExit(f"evrate: only {i} datagrams in {timeout} s")
    tsent = time.perf_counter() - t0
    want = {"a": ("published_ev", a0["published_ev"] + n), "b": ("received_ev", b0["received_ev"] + n)}
    done, last, moved = {}, {}, {}
    while len(done) < 2 and time.perf_counter() - t0 < timeout:
        for node, path in (("a", ctl_a), ("b", ctl_b)):
            if node in done:
                continue
            c = status(path)["cluster"]
            now = time.perf_counter()
            if node not in last or c[want[node][0]] != last[node][want[node][0]]:
                moved[node] = now
            last[node] = c
            if c[want[node][0]] >= want[node][1]:
                done[node] = now - t0
            elif now - moved[node] > 3:  # records were dropped: it will not get there
                done[node] = None
        time.sleep(0.05)
    ca, cb = last["a"], last["b"]
    ndec = n // per if cls == "reputation" else 0
    print(f"evrate class={cls} datagrams={n} sent_secs={tsent:.3f} "
          f"a_published_ev={ca['published_ev'] - a0['published_ev']} "
          f"a_published_dec={ca['published_dec'] - a0['published_dec']} "
          f"a_dropped={ca['dropped'] - a0['dropped']} "
          f"b_received_ev={cb['received_ev'] - b0['received_ev']} "
          f"b_received_dec={cb['received_dec'] - b0['received_dec']} "
          f"b_published_dec={cb['published_dec'] - b0['published_dec']} "
          f"b_dropped={cb['dropped'] - b0['dropped']} decisions_expected={ndec}")
    for node in ("a", "b"):
        if done.get(node):
            recs = n + (ndec if node == "a" else 0)
            print(f"  {node}: all {n} {'published' if node == 'a' else 'received'} "
                  f"{done[node]:.2f} s after the first send: {n / done[node]:.0f} evidence/s"
                  + (f", {recs / done[node]:.0f} records/s with the decisions" if ndec and node == "a" else ""))
        else:
            print(f"  {node}: NOT all: {want[node][0]} stopped short (see dropped)")


def cmd_decrate(ctl_a, ctl_b, n, timeout):
    """N operator diverts on A (one connection each), then B's received_dec"""
    n, timeout = min(int(n), 100000), float(timeout)
    a0, b0 = status(ctl_a)["cluster"], status(ctl_b)["cluster"]
    stamp = int(time.time())
    t0 = time.perf_counter()
    for i in range(n):
        ctl(ctl_a, [("verb", "divert"), ("scope", f"dv{i}-{stamp}.example"), ("to", "alt-eu"),
                    ("for", "1h"), ("reason", "bench")])
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"decrate: only {i} diverts in {timeout} s")
    tsent = time.perf_counter() - t0
    tb = None
    while time.perf_counter() - t0 < timeout:
        cb = status(ctl_b)["cluster"]
        if cb["received_dec"] - b0["received_dec"] >= n:
            tb = time.perf_counter() - t0
            break
        time.sleep(0.05)
    ca = status(ctl_a)["cluster"]
    print(f"decrate diverts={n} a_secs={tsent:.3f} ({n / tsent:.0f} decisions/s, each answered ok) "
          f"a_published_dec={ca['published_dec'] - a0['published_dec']} "
          f"b_received_dec={cb['received_dec'] - b0['received_dec']} "
          + (f"b_all_secs={tb:.3f} ({n / tb:.0f}/s)" if tb else f"b NOT all within {timeout} s"))


def cmd_ctl_divert(path, dom):
    ctl(path, [("verb", "divert"), ("scope", dom), ("to", "alt-eu"), ("for", "1h"),
               ("reason", "bench")])


def cmd_wait_state(path, want, timeout):
    timeout = float(timeout)
    t0 = time.perf_counter()
    st = None
    while time.perf_counter() - t0 < timeout:
        try:
            st = status(path)["cluster"]["state"]
        except (OSError, ValueError):
            st = "unreachable"
        if st == want:
            print(f"state={st} secs={time.perf_counter() - t0:.3f}")
            return
        time.sleep(0.1)
    print(f"state={st} secs=timeout")
    sys.exit(1)


def field(st, name):
    if name == "scopes":
        return len(st.get("scopes", []))
    if name == "pid":
        return st.get("pid")
    return st["cluster"][name]


def cmd_status(path, *names):
    st = status(path)
    print(" ".join(f"{n}={field(st, n)}" for n in names))


def cmd_wait(path, name, target, timeout):
    target, timeout = int(target), float(timeout)
    t0 = time.perf_counter()
    v = None
    while time.perf_counter() - t0 < timeout:
        v = field(status(path), name)
        if v >= target:
            print(f"wait {name}={v} secs={time.perf_counter() - t0:.3f}")
            return
        time.sleep(0.02)
    print(f"wait {name}={v} secs=timeout")
    sys.exit(1)


def load_key(path):
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                return parts[0], bytes.fromhex(parts[1])
    raise SystemExit(f"{path}: no key")


def sign(key, body):
    return hmac.new(key, b"spillway-cluster/1|" + body.encode(), hashlib.sha256).hexdigest()


def cmd_verify(keyfile, rec):
    _, key = load_key(keyfile)
    body, _, mac = rec.rstrip("\n").rpartition("\tmac=")
    if sign(key, body) != mac:
        print("verify: mac differs")
        sys.exit(1)
    print("verify: ok")


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def cmd_gen_dec(keyfile, template, n, prefix, outfile):
    kid, key = load_key(keyfile)
    body, _, _ = template.rstrip("\n").rpartition("\tmac=")
    fields = body.split("\t")
    old = next(f for f in fields if f.startswith("scope="))[len("scope="):]
    n = int(n)
    at0 = int(time.time() * 1000) - n
    with open(outfile, "wb") as f:
        for i in range(n):
            scope = f"destination:{i:06d}.shared.example"
            new = []
            for fl in fields:
                if fl.startswith("scope="):
                    fl = "scope=" + scope
                elif fl.startswith("at="):
                    fl = f"at={at0 + i}"
                elif fl.startswith("evids="):
                    continue
                new.append(fl)
            b = "\t".join(new)
            f.write(resp("HSET", prefix + "decisions", scope, b + "\tmac=" + sign(key, b)))
    print(f"gen-dec n={n} from scope {old}")


def read_reply(f):
    line = f.readline().rstrip(b"\r\n")
    t, rest = line[:1], line[1:]
    if t in (b"+", b"-", b":"):
        return rest.decode()
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise SystemExit(f"redis: bad reply {line!r}")


def cmd_redis(port, *args):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    s.sendall(resp(*args))
    r = read_reply(s.makefile("rb"))
    print(r if not isinstance(r, list) else "\n".join(str(x) for x in r))


def main():
    cmds = {"prop": cmd_prop, "burst": cmd_burst, "diverts": cmd_diverts,
            "status": cmd_status, "wait": cmd_wait, "verify": cmd_verify,
            "gen-dec": cmd_gen_dec, "redis": cmd_redis, "evrate": cmd_evrate,
            "decrate": cmd_decrate, "ctl-divert": cmd_ctl_divert, "wait-state": cmd_wait_state}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        raise SystemExit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


main()
