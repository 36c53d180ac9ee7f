#!/usr/bin/env python3
"""A TCP proxy between a PostgreSQL client and the tests' server that loses a COMMIT.

    commit_proxy.py MODE UPSTREAM PORTFILE [LOGFILE]

Listens on 127.0.0.1 (a free port, written to PORTFILE once listening) and forwards each
connection to UPSTREAM: the path of the server's Unix socket (…/.s.PGSQL.5432) or
HOST:PORT. The client must not ask for TLS (sslmode=disable); an SSLRequest or
GSSENCRequest is answered 'N' by the proxy itself. After the start-up packet it reads
the client's messages (a type byte, then an int32 length that counts itself) and acts
on the first one that carries the SQL text COMMIT (a simple Query 'Q', or a Parse 'P'):

  before   closes both connections instead of forwarding it: the server never saw the
           COMMIT and rolls the transaction back
  after    forwards it (with what follows up to the next Sync of the extended protocol),
           relays nothing more from the server, waits for the server's answer (it has
           committed), then closes both connections: the client never hears of it
  silent   forwards the start-up and authentication, and at the client's first Query or
           Parse stops forwarding in both directions while keeping both connections
           open (a network gone silent), until the client closes its end or 300 s pass
  mute     accepts the connection and never answers nor forwards anything (a server
           that hangs before the start-up), until the client hangs up or 300 s pass
  pass     forwards everything (a control)

Each connection's client messages (type and SQL text) go to LOGFILE when given, and a
line `CUT before|after|silent` when the proxy acts. One cut per proxy: later connections
are forwarded as in `pass`.

With COMMIT_PROXY_AFTER set in the environment (before and after), the COMMIT acted on is
the first one that follows, on the same connection, a statement whose SQL text holds that
text: a long-lived client (tokenctl serve) commits read transactions and other writes
first, which pass.
"""

import os
import socket
import struct
import sys
import threading
import time

MODE, UPSTREAM, PORTFILE = sys.argv[1], sys.argv[2], sys.argv[3]
TRIGGER = os.environ.get("COMMIT_PROXY_AFTER") or None
LOGFILE = sys.argv[4] if len(sys.argv) > 4 else None
if MODE not in ("before", "after", "silent", "mute", "pass"):
    sys.exit("commit_proxy.py: mode must be before, after, silent, mute or pass")

log_lock = threading.Lock()
cut_done = threading.Event()


def log(line):
    if LOGFILE:
        with log_lock, open(LOGFILE, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def connect_upstream():
    if ":" in UPSTREAM and not UPSTREAM.startswith("/"):
        host, port = UPSTREAM.rsplit(":", 1)
        return socket.create_connection((host, int(port)))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(UPSTREAM)
    return s


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def sql_of(kind, body):
    """The SQL text of a Query or Parse message, else None."""
    try:
        if kind == b"Q":
            return body.split(b"\0", 1)[0].decode("utf-8", "replace")
        if kind == b"P":
            parts = body.split(b"\0", 2)
            return parts[1].decode("utf-8", "replace")
    except IndexError:
        return None
    return None


def is_commit(sql):
    if sql is None:
        return False
    words = sql.strip().rstrip(";").strip().upper().split()
    return len(words) >= 1 and words[0] in ("COMMIT", "END") and \
        (len(words) == 1 or words[1:] in (["WORK"], ["TRANSACTION"]))


def close_all(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass


class Conn:
    def __init__(self, client):
        self.client = client
        self.server = None
        self.relay_server = True  # whether the server's bytes still reach the client
        self.dead = False
        self.answered = threading.Event()  # the server spoke after relaying stopped

    def server_to_client(self):
        try:
            while True:
                data = self.server.recv(65536)
                if not data:
                    break
                if not self.relay_server:
                    self.answered.set()
                    continue
                self.client.sendall(data)
        except OSError:
            pass
        if self.relay_server and not self.dead:
            close_all(self.client, self.server)

    def mute(self):
        log("CUT mute")
        c = self.client
        c.settimeout(1.0)
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if not c.recv(65536):
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        close_all(c)

    def run(self):
        c = self.client
        if MODE == "mute":
            self.mute()
            return
        try:
            # Start-up: SSLRequest / GSSENCRequest answered here, then the real packet.
            while True:
                length = struct.unpack("!I", recv_exact(c, 4))[0]
                rest = recv_exact(c, length - 4)
                code = struct.unpack("!I", rest[:4])[0]
                if code in (80877103, 80877104):
                    c.sendall(b"N")
                    continue
                break
            self.server = connect_upstream()
            self.server.sendall(struct.pack("!I", length) + rest)
            threading.Thread(target=self.server_to_client, daemon=True).start()
            armed = None  # 'after': forwarding up to the next Sync, then cut
            triggered = TRIGGER is None  # a statement holding TRIGGER was sent
            while True:
                kind = recv_exact(c, 1)
                length = struct.unpack("!I", recv_exact(c, 4))[0]
                body = recv_exact(c, length - 4)
                msg = kind + struct.pack("!I", length) + body
                sql = sql_of(kind, body)
                if sql is not None:
                    log("%s %s" % (kind.decode(), " ".join(sql.split())[:200]))
                if not triggered and sql is not None and TRIGGER in sql:
                    triggered = True
                acting = not cut_done.is_set()
                if acting and MODE == "silent" and kind in (b"Q", b"P"):
                    cut_done.set()
                    log("CUT silent")
                    self.relay_server = False
                    self.dead = True
                    # Keep both ends open, forward nothing, until the client hangs up.
                    deadline = time.time() + 300
                    c.settimeout(1.0)
                    while time.time() < deadline:
                        try:
                            if not c.recv(65536):
                                break
                        except socket.timeout:
                            continue
                        except OSError:
                            break
                    close_all(c, self.server)
                    return
                if acting and triggered and armed is None and is_commit(sql) and \
                        MODE in ("before", "after"):
                    if MODE == "before":
                        cut_done.set()
                        log("CUT before")
                        self.dead = True
                        self.relay_server = False
                        close_all(c, self.server)
                        return
                    armed = True
                    self.relay_server = False
                if armed:
                    self.server.sendall(msg)
                    if kind in (b"Q", b"S"):
                        cut_done.set()
                        self.dead = True
                        # The server answers once it has committed: then cut (waiting at
                        # most 10 s, and a moment more for good measure).
                        self.answered.wait(10.0)
                        time.sleep(0.2)
                        log("CUT after")
                        close_all(c, self.server)
                        return
                    continue
                self.server.sendall(msg)
                if kind == b"X":
                    break
        except (EOFError, OSError):
            pass
        close_all(c)
        if self.server is not None and self.relay_server:
            close_all(self.server)


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    tmp = PORTFILE + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.replace(tmp, PORTFILE)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=Conn(client).run, daemon=True).start()


if __name__ == "__main__":
    main()
