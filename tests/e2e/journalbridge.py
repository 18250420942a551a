#!/usr/bin/python3
"""tests/e2e/journalbridge.py - play journald's part for a private Postfix.

No journald runs here (PID 1 is not systemd), so the e2e tests build a
journal themselves: systemd-journal-remote writes real journal files from
the export format on its standard input, and spillway-routed reads them
with sd-journal like any journal (routed.maillog = "journal:DIR").

What journald would take from the kernel, this bridge stamps:
  * each line Postfix's postlogd writes to its maillog_file (followed like
    tail -F) becomes an entry with the fields journald gives a Postfix
    daemon: _UID = the postfix user's uid (root for master), _COMM = the
    service name ("smtp"), _PID, SYSLOG_IDENTIFIER = the tag, MESSAGE;
  * each JSON object line appended to the inject file becomes an entry with
    exactly the fields it names (an attacker's entry: what journald would
    record for `logger -t postfix/smtp` run by a local user).
Entries carry the current time (__REALTIME_TIMESTAMP).

usage: journalbridge.py MAILLOG INJECT JOURNAL-FILE POSTFIX-UID MAX-SECONDS
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

maillog, inject, out, pf_uid, max_s = sys.argv[1:6]
TAG = re.compile(r"^(?:\S+ +){1,4}?(\S+?)\[(\d+)\]: (.*)$")
BOOT = uuid.uuid4().hex

jr = subprocess.Popen(["/lib/systemd/systemd-journal-remote", "-o", out, "-"],
                      stdin=subprocess.PIPE)


def stop(*_):
    try:
        jr.stdin.close()
    except OSError:
        pass
    jr.wait(timeout=10)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def emit(fields):
    """one entry in the export format (text fields only: no newlines)"""
    now = time.time_ns() // 1000
    rec = [f"__REALTIME_TIMESTAMP={now}", f"__MONOTONIC_TIMESTAMP={time.monotonic_ns() // 1000}",
           f"_BOOT_ID={BOOT}"]
    rec += [f"{k}={str(v).replace(chr(10), ' ')}" for k, v in fields.items()]
    jr.stdin.write(("\n".join(rec) + "\n\n").encode("utf-8", "replace"))
    jr.stdin.flush()


def postfix_entry(line):
    m = TAG.match(line)
    if not m:
        return
    tag, pid, msg = m.groups()
    comm = tag.rsplit("/", 1)[-1][:15]
    uid = "0" if comm in ("master", "postfix-script", "postfix") else pf_uid
    emit({"_UID": uid, "_GID": uid, "_COMM": comm, "_PID": pid, "SYSLOG_IDENTIFIER": tag,
          "SYSLOG_FACILITY": 2, "PRIORITY": 6, "MESSAGE": msg})


class Tail:
    """follow a file that may not exist yet; complete lines only"""

    def __init__(self, path):
        self.path, self.fh, self.rest = path, None, b""

    def lines(self):
        if self.fh is None:
            try:
                self.fh = open(self.path, "rb")
            except OSError:
                return []
        data = self.fh.read()
        if not data:
            return []
        data = self.rest + data
        *done, self.rest = data.split(b"\n")
        return [d.decode("utf-8", "replace") for d in done]


print(f"journalbridge: {maillog} -> {out}", file=sys.stderr, flush=True)
pf, inj = Tail(maillog), Tail(inject)
deadline = time.monotonic() + float(max_s)
while time.monotonic() < deadline:
    for line in pf.lines():
        postfix_entry(line)
    for line in inj.lines():
        if line.strip():
            emit(json.loads(line))
    time.sleep(0.05)
stop()
