#!/usr/bin/env python3
"""A kernel client for a closed port: a TCP connect must fail with ECONNREFUSED (the
server answered the SYN with a RST), or a datagram sent on a connected UDP socket must make
the next receive fail with ECONNREFUSED (the server answered with ICMP port unreachable).
Prints `refused tcp|udp in N ms`; exits 1 with what happened instead.
"""

import argparse
import socket
import sys
import time


def probe_tcp(host, port, timeout):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return "the connection was accepted"
    except ConnectionRefusedError:
        return None
    except OSError as err:
        return f"connect failed otherwise: {err!r}"


def probe_udp(host, port, timeout):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.send(b"is anybody there?")
        try:
            data = sock.recv(2048)
            return f"a datagram came back: {data!r}"
        except ConnectionRefusedError:
            return None
        except OSError as err:
            return f"receive failed otherwise: {err!r}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("protocol", choices=["tcp", "udp"])
    parser.add_argument("--connect", required=True, help="IP:PORT nobody listens on")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the refusal")
    args = parser.parse_args()
    host, port = args.connect.rsplit(":", 1)
    start = time.monotonic()
    probe = probe_tcp if args.protocol == "tcp" else probe_udp
    failure = probe(host, int(port), args.timeout)
    elapsed_ms = (time.monotonic() - start) * 1000
    if failure:
        print(f"not refused after {elapsed_ms:.0f} ms: {failure}", file=sys.stderr)
        sys.exit(1)
    print(f"refused {args.protocol} in {elapsed_ms:.0f} ms")


if __name__ == "__main__":
    main()
