#!/usr/bin/env python3
"""Slowloris: holds many HTTP connections by sending a request head that never ends, one
byte per connection every few seconds, and reports when the server closed each one.

Used by `cargo xtask test` (its HTTP smoke step) to check that the request-head timeout
frees the connections while wrk keeps its rate. Prints one JSON line:
{"connections": N, "connected": N, "closed": K, "first_close_s": F, "last_close_s": L,
 "bytes_sent": B}; times count from the moment every connection was open.
"""

import argparse
import json
import selectors
import socket
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connect", required=True, help="HOST:PORT")
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between bytes")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to keep trying")
    args = parser.parse_args()
    host, port = args.connect.rsplit(":", 1)

    sockets = []
    for _ in range(args.connections):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: slowloris\r\nX-Slow: ")
        sock.setblocking(False)
        sockets.append(sock)
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    open_socks = set(sockets)
    closes = []
    bytes_sent = 0
    next_byte = started
    while open_socks and time.monotonic() - started < args.duration:
        now = time.monotonic()
        if now >= next_byte:
            for sock in list(open_socks):
                try:
                    bytes_sent += sock.send(b"x")
                except OSError:
                    pass  # reset: the read below sees it
            next_byte = now + args.interval
        for key, _ in selector.select(timeout=max(0.0, min(next_byte - now, 0.2))):
            sock = key.fileobj
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                continue  # an answer to a head that never ended would be a bug: not closed
            selector.unregister(sock)
            open_socks.discard(sock)
            sock.close()
            closes.append(time.monotonic() - started)
    for sock in open_socks:
        sock.close()
    print(json.dumps({
        "connections": args.connections,
        "connected": len(sockets),
        "closed": len(closes),
        "first_close_s": min(closes) if closes else None,
        "last_close_s": max(closes) if closes else None,
        "bytes_sent": bytes_sent,
    }))


if __name__ == "__main__":
    main()
