#!/usr/bin/env python3
"""A kernel TCP echo server (RFC 862): one thread per connection sends back what it
receives and closes when the client closes. Prints `ready` once listening."""

import argparse
import signal
import socket
import sys
import threading


def echo(conn):
    with conn:
        while True:
            data = conn.recv(1 << 16)
            if not data:
                return
            conn.sendall(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True, help="IP:PORT to listen on")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, int(port)))
    server.listen(256)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
