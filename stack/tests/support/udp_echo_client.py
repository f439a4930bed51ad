#!/usr/bin/env python3
"""A kernel UDP client for an echo server (RFC 862): sends K datagrams of distinct content
one at a time and expects each back unchanged, resending a datagram whose echo does not
arrive within a second (at most 3 tries: the first may wait for ARP). Prints
`ok K datagrams`; exits 1 with the reason otherwise."""

import argparse
import random
import socket
import sys

TRIES = 3


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connect", required=True, help="IP:PORT of the echo server")
    parser.add_argument("--datagrams", type=int, required=True)
    parser.add_argument("--size", type=int, required=True, help="payload bytes per datagram")
    args = parser.parse_args()
    if args.size < 4:
        parser.error("--size must be at least 4: a datagram starts with its index")
    host, port = args.connect.rsplit(":", 1)
    rng = random.Random(7)

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.connect((host, int(port)))
        for index in range(args.datagrams):
            payload = index.to_bytes(4, "big") + rng.randbytes(args.size - 4)
            for _ in range(TRIES):
                sock.send(payload)
                try:
                    # A late echo of an earlier datagram is skipped, not a failure.
                    while (echo := sock.recv(65536)) != payload and echo[:4] != payload[:4]:
                        pass
                except socket.timeout:
                    continue
                if echo != payload:
                    sys.exit(f"datagram {index}: the echo differs from what was sent")
                break
            else:
                sys.exit(f"datagram {index}: no echo after {TRIES} tries")
    print(f"ok {args.datagrams} datagrams")


if __name__ == "__main__":
    main()
