#!/usr/bin/python3
"""tests/e2e/sockmap-client.py - a socketmap client for tests (stdlib only).

usage: sockmap-client.py ENDPOINT REQUEST...   (ENDPOINT unix:/path or inet:127.0.0.1:PORT)
Sends each REQUEST ("transport user@example.com") as a netstring on one
connection and prints each reply payload on its own line.  A REQUEST that
starts with "raw:" is sent as is (after the prefix, with \\xHH escapes) and
the client then reports "closed" if the server closed the connection or
"open" if it is still open after 0.5 s.
"""
import socket
import sys


def connect(ep):
    if ep.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(ep[5:])
    else:
        host, port = ep[5:].rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(5)
    return s


def read_netstring(s, buf):
    while b":" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError
        buf += chunk
    n, rest = buf.split(b":", 1)
    n = int(n)
    while len(rest) < n + 1:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError
        rest += chunk
    assert rest[n:n + 1] == b",", "reply not terminated by a comma"
    return rest[:n].decode(), rest[n + 1:]


def main():
    s = connect(sys.argv[1])
    buf = b""
    for req in sys.argv[2:]:
        if req.startswith("raw:"):
            s.sendall(req[4:].encode().decode("unicode_escape").encode("latin-1"))
            s.settimeout(0.5)
            try:
                data = s.recv(4096)
                print("closed" if not data else "open")
            except socket.timeout:
                print("open")
            except ConnectionResetError:
                print("closed")
            return
        p = req.encode()
        s.sendall(b"%d:%s," % (len(p), p))
        reply, buf = read_netstring(s, buf)
        print(reply)


main()
