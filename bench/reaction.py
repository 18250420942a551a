#!/usr/bin/python3
"""bench/reaction.py - time from the log line that crosses a threshold to the
changed socketmap answer.  Bounded: ROUNDS rounds, each waiting at most 2 s.

usage: reaction.py MAILLOG HOST PORT ROUNDS
For each round a new destination gets 2 refusals (below the threshold of 3),
then the clock starts as the 3rd line is written, and the socketmap is asked
"transport u@DOMAIN" in a tight loop until it answers OK.
"""
import socket
import sys
import time

LINE = ("Nov 22 12:00:00 mta postfix/smtp[4242]: {qid}: to=<u{n}@{dom}>, "
        "relay=127.0.0.1[127.0.0.1]:2525, delay=0.1, delays=0/0/0/0.1, dsn=4.7.606, "
        "status=deferred (host 127.0.0.1[127.0.0.1] said: 550 5.7.606 Access denied, banned "
        "sending IP [40.107.1.2] (in reply to RCPT TO command))\n")


def ask(s, key):
    p = ("transport " + key).encode()
    s.sendall(b"%d:%s," % (len(p), p))
    buf = b""
    while not buf.endswith(b","):
        buf += s.recv(4096)
    return buf.split(b":", 1)[1][:-1].decode()


def main():
    path, host, port, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    s = socket.create_connection((host, port))
    out = []
    with open(path, "a", buffering=1) as log:
        for r in range(rounds):
            dom = f"react{r}-{int(time.time())}.example"
            for n in range(2):
                log.write(LINE.format(qid=f"A{r:04X}{n:02X}", n=n, dom=dom))
            time.sleep(0.2)
            assert ask(s, f"x@{dom}").startswith("NOTFOUND"), "diverted below the threshold"
            t0 = time.perf_counter()
            log.write(LINE.format(qid=f"A{r:04X}FF", n=9, dom=dom))
            while not ask(s, f"x@{dom}").startswith("OK"):
                if time.perf_counter() - t0 > 2:
                    sys.exit(f"round {r}: no diversion within 2 s")
            out.append((time.perf_counter() - t0) * 1000)
    out.sort()
    pct = lambda q: out[min(len(out) - 1, int(q * len(out)))]
    print(f"reaction (log line written -> socketmap answers OK), {rounds} rounds: "
          f"p50 {pct(0.5):.2f} ms, p90 {pct(0.9):.2f} ms, max {out[-1]:.2f} ms")


main()
