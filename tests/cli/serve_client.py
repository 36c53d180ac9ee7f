#!/usr/bin/env python3
"""Raw HTTP over tokenctl serve's unix socket, for the serve suites.

  serve_client.py SOCKET request METHOD TARGET [HEADER: VALUE]... [--body TEXT]
      one request; prints the status, the headers (one per line, lowercase names, as
      received), an empty line and the body; then `closed` if the server closed the
      connection after the answer
  serve_client.py SOCKET raw HEX      sends the bytes, prints what comes back as above
  serve_client.py SOCKET slow SECONDS trickles a request's header a byte a second; prints
      `closed after N` once the server closes the connection (or `open` after SECONDS)
  serve_client.py SOCKET parallel N METHOD TARGET
      N connections at once, each sending the same request (no body) once all are open;
      prints one line per answer: the status and the body's refresh_token or error
  serve_client.py SOCKET partial      sends a request's start, waits for a line on standard
      input, sends the rest, and prints the answer as `request` does
"""
import json
import socket
import sys
import threading
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def read_answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append(f"{name.lower()}: {value.strip()}")
        if name.lower() == "content-length":
            length = int(value)
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    status = lines[0].split(" ")[1] if lines and len(lines[0].split(" ")) > 1 else "none"
    print(status)
    for h in headers:
        print(h)
    print()
    print(rest.decode("utf-8", "replace"))
    # Closed: the next read sees EOF (or a reset) at once.
    s.settimeout(2)
    try:
        closed = s.recv(1) == b""
    except socket.timeout:
        closed = False
    except OSError:  # reset: closed with unread bytes of ours (an oversized request)
        closed = True
    if closed:
        print("closed")


def request(path, method, target, args):
    headers = []
    body = None
    i = 0
    while i < len(args):
        if args[i] == "--body":
            body = args[i + 1].encode()
            i += 2
            continue
        headers.append(args[i])
        i += 1
    text = f"{method} {target} HTTP/1.1\r\nHost: tokenctl\r\n"
    for h in headers:
        text += h + "\r\n"
    if body is not None:
        text += f"Content-Length: {len(body)}\r\n"
    data = text.encode("latin-1") + b"\r\n" + (body or b"")
    s = connect(path)
    s.sendall(data)
    read_answer(s)


def parallel(path, count, method, target):
    data = f"{method} {target} HTTP/1.1\r\nHost: tokenctl\r\nContent-Length: 0\r\n\r\n".encode()
    sockets = [connect(path) for _ in range(count)]
    answers = [None] * count
    start = threading.Barrier(count)

    def one(i):
        s = sockets[i]
        start.wait()
        s.sendall(data)
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
            head, sep, body = raw.partition(b"\r\n\r\n")
            if sep:
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(body) >= length[0]:
                    break
        head, _, body = raw.partition(b"\r\n\r\n")
        status = head.split(b" ")[1].decode() if b" " in head else "none"
        try:
            obj = json.loads(body)
            what = obj.get("refresh_token") or obj.get("error")
        except ValueError:
            what = "unparsed"
        answers[i] = f"{status} {what}"

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a in answers:
        print(a)


def main():
    path, what = sys.argv[1], sys.argv[2]
    if what == "request":
        request(path, sys.argv[3], sys.argv[4], sys.argv[5:])
    elif what == "raw":
        s = connect(path)
        s.sendall(bytes.fromhex(sys.argv[3]))
        read_answer(s)
    elif what == "slow":
        limit = float(sys.argv[3])
        s = connect(path)
        s.settimeout(1)
        start = time.monotonic()
        text = b"GET /auth HTTP/1.1\r\nHost: tokenctl\r\nX-Slow: " + b"a" * 1000
        for byte in text:
            if time.monotonic() - start > limit:
                print("open")
                return
            try:
                s.send(bytes([byte]))
                if s.recv(1) == b"":
                    print(f"closed after {int(time.monotonic() - start)}")
                    return
            except socket.timeout:
                continue
            except OSError:
                print(f"closed after {int(time.monotonic() - start)}")
                return
        print("open")
    elif what == "parallel":
        parallel(path, int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif what == "partial":
        body = b"token=" + sys.argv[3].encode()
        head = (b"POST /introspect HTTP/1.1\r\nHost: tokenctl\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        s = connect(path)
        s.sendall(head + body[:3])
        print("sent", flush=True)
        sys.stdin.readline()
        s.sendall(body[3:])
        read_answer(s)


main()
