#!/usr/bin/env python3
"""Raw HTTP over tokenctl serve's unix socket, for the serve suites.

  serve_client.py SOCKET request METHOD TARGET [HEADER: VALUE]... [--body TEXT]
      one request; prints the status, the headers (one per line, lowercase names, as
      received), an empty line and the body; then `closed` if the server closed the
      connection after the answer
  serve_client.py SOCKET raw HEX      sends the bytes, prints what comes back as above
  serve_client.py SOCKET slow SECONDS trickles a request's header a byte a second; prints
      `closed after N` once the server closes the connection (or `open` after SECONDS)
  serve_client.py SOCKET partial      sends a request's start, waits for a line on standard
      input, sends the rest, and prints the answer as `request` does
"""
import socket
import sys
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
