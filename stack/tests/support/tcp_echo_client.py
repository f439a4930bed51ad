#!/usr/bin/env python3
"""A kernel TCP client for an echo server (RFC 862): each connection sends N bytes drawn
from a seeded generator and reads them back, and the SHA-256 of what came back must equal
that of what was sent. Prints `ok C connections N bytes`; exits 1 with the reason otherwise.
"""

import argparse
import hashlib
import random
import socket
import sys
import threading

CHUNK = 1 << 16


def run_connection(index, host, port, total, seed, timeout, failures):
    try:
        sent_hash = hashlib.sha256()
        got_hash = hashlib.sha256()
        with socket.create_connection((host, port), timeout=timeout) as sock:

            def send():
                rng = random.Random(seed * 1_000_003 + index)
                left = total
                while left:
                    chunk = rng.randbytes(min(CHUNK, left))
                    sent_hash.update(chunk)
                    sock.sendall(chunk)
                    left -= len(chunk)

            sender = threading.Thread(target=send)
            sender.start()
            got = 0
            while got < total:
                data = sock.recv(min(CHUNK, total - got))
                if not data:
                    break
                got_hash.update(data)
                got += len(data)
            sender.join()
            if got != total:
                failures.append(f"connection {index}: the echo ended after {got} of {total} bytes")
            elif got_hash.digest() != sent_hash.digest():
                failures.append(
                    f"connection {index}: {total} bytes came back but differ from those sent "
                    f"(sha256 sent {sent_hash.hexdigest()}, received {got_hash.hexdigest()})"
                )
    except OSError as err:
        failures.append(f"connection {index}: {err}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connect", required=True, help="IP:PORT of the echo server")
    parser.add_argument("--bytes", type=int, required=True, help="bytes per connection")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds any one socket call may block")
    args = parser.parse_args()
    host, port = args.connect.rsplit(":", 1)

    failures = []
    threads = [
        threading.Thread(
            target=run_connection,
            args=(i, host, int(port), args.bytes, args.seed, args.timeout, failures),
        )
        for i in range(args.connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        for failure in failures:
            print(failure, file=sys.stderr)
        sys.exit(1)
    print(f"ok {args.connections} connections {args.bytes} bytes")


if __name__ == "__main__":
    main()
