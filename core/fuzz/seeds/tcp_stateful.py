#!/usr/bin/env python3
"""Writes the hand-built seeds of the tcp_stateful fuzz target into
core/fuzz/corpus/tcp_stateful/seed-*.

The bytes follow `arbitrary` 1.x's decoding of fuzz_targets/tcp_stateful/ops.rs:
integers little-endian, bool = one byte (low bit), Option = bool then value, enum = a
little-endian u32 t choosing variant (t * n) >> 32, structs and arrays field by field.
Keep the variant lists below in the order ops.rs declares them.

    python3 core/fuzz/seeds/tcp_stateful.py
"""

import os
import struct

OPS = ["Data", "Ack", "Syn", "Rst", "Segment", "RawOptions", "Advance", "NextTimer", "Send", "Recv",
       "ShutdownWrite", "Close", "Accept", "Connect", "SetNodelay", "SetKeepalive", "ToggleListener"]


def tag(k, n):
    """The u32 that decodes to variant k of an enum of n variants."""
    return struct.pack("<I", -(-(k << 32) // n))


def u8(v): return struct.pack("<B", v & 0xFF)
def u16(v): return struct.pack("<H", v & 0xFFFF)
def i16(v): return struct.pack("<h", v)
def u32(v): return struct.pack("<I", v & 0xFFFFFFFF)
def opt(value): return u8(0) if value is None else u8(1) + value


BUFFERS = {"2k": 0, "8k": 1, "16k": 2, "100k": 3}


def buffer(name): return tag(BUFFERS[name], 4)


def syn_options(mss=1460, wscale=7, sack=True, ts=True):
    return opt(None if mss is None else u16(mss)) + opt(None if wscale is None else u8(wscale)) + u8(sack) + u8(ts)


def setup(recv="16k", send="16k", nodelay=False, keepalive=False, secret=7, isn=0xFFFFF000, syn=None, window=65535):
    return (buffer(recv) + buffer(send) + u8(nodelay) + u8(keepalive) + u8(secret) + u32(isn)
            + (syn if syn is not None else syn_options()) + u16(window))


def op(name): return tag(OPS.index(name), len(OPS))


def data_at(kind, k=0):
    index = ["Next", "Retransmit", "Ahead", "Behind"].index(kind)
    return tag(index, 4) + (u16(k) if kind in ("Ahead", "Behind") else b"")


def seq_at(kind, v=0):
    index = ["Next", "Acked", "WindowEdge", "Raw"].index(kind)
    return tag(index, 4) + (u32(v) if kind == "Raw" else i16(v))


def ack_at(kind, v=0):
    index = ["Max", "Acked", "Raw"].index(kind)
    return tag(index, 3) + (u32(v) if kind == "Raw" else i16(v))


def timestamp(kind="Auto", a=0, b=0):
    index = ["Auto", "Omit", "Old", "Future", "Raw"].index(kind)
    extra = {"Auto": b"", "Omit": b"", "Old": u16(a), "Future": u32(a), "Raw": u32(a) + u32(b)}[kind]
    return tag(index, 5) + extra


def sacks(*ranges):
    ranges = list(ranges) + [None] * (3 - len(ranges))
    return b"".join(opt(None if r is None else u16(r[0]) + u16(r[1])) for r in ranges)


def data(flow=0, at=("Next",), length=1000, fin=False):
    return op("Data") + u8(flow) + data_at(*at) + u16(length) + u8(fin)


def ack(flow=0, behind=0, window=65535, sack=()):
    return op("Ack") + u8(flow) + u16(behind) + u16(window) + sacks(*sack)


def syn(flow=None, isn="Fresh", options=None, window=65535):
    index = ["Retransmit", "Fresh", "AboveOld", "Raw"].index(isn)
    return (op("Syn") + opt(None if flow is None else u8(flow)) + tag(index, 4)
            + (options if options is not None else syn_options()) + u16(window))


def rst(flow=0, seq=("Acked", 0), with_ack=False):
    return op("Rst") + u8(flow) + seq_at(*seq) + u8(with_ack)


def segment(flow=0, flags=0x10, seq=("Next", 0), ack=("Max", 0), window=65535, length=0, urgent=0,
            ts=("Auto",), sack=(), options=None):
    return (op("Segment") + u8(flow) + u8(flags) + seq_at(*seq) + ack_at(*ack) + u16(window) + u16(length)
            + u16(urgent) + timestamp(*ts) + sacks(*sack) + (options if options is not None else syn_options()))


def raw_options(flow=0, seq=("Next", 0), ack=("Max", 0), flags=0x10, options=b"", length=0):
    padded = options + bytes(40 - len(options))
    return (op("RawOptions") + u8(flow) + seq_at(*seq) + ack_at(*ack) + u8(flags) + padded
            + u8(len(options) // 4) + u16(length))


def advance(amount, unit="Millis"):
    return op("Advance") + u16(amount) + tag(["Millis", "TenMillis", "Seconds", "Minutes"].index(unit), 4)


def send(conn=0, length=5000): return op("Send") + u8(conn) + u16(length)
def recv(conn=0, length=20000, in_place=False): return op("Recv") + u8(conn) + u16(length) + u8(in_place)
def shutdown(conn=0): return op("ShutdownWrite") + u8(conn)
def close(conn=0, linger_zero=False): return op("Close") + u8(conn) + u8(linger_zero)
def accept(): return op("Accept")
def connect(port=0): return op("Connect") + u8(port)
def keepalive(conn=0, idle=5): return op("SetKeepalive") + u8(conn) + u8(idle)
def toggle_listener(): return op("ToggleListener")
def next_timer(): return op("NextTimer")


SEEDS = {
    # Data in, read in pieces, then the peer closes and we close.
    "bulk-in": setup() + b"".join(data(length=1400) for _ in range(6)) + recv(length=3000)
    + recv(in_place=True) + advance(50) + data(length=200, fin=True) + recv() + recv() + close(),
    # Data out, acknowledged, SACKed, a loss recovered by timeout.
    "bulk-out": setup(syn=syn_options(mss=1000)) + send(length=20000) + ack(behind=3000, sack=[(1000, 1000)])
    + ack(behind=3000, sack=[(1000, 2000)]) + ack(behind=3000, sack=[(1000, 2500)]) + advance(2, "Seconds")
    + ack() + send(length=20000) + ack() + shutdown() + ack(),
    # Reordered and overlapping data, and a retransmission from the stack's ACK.
    "reorder": setup(syn=syn_options(ts=False)) + data(at=("Ahead", 1000), length=500) + data(length=700)
    + data(at=("Behind", 300), length=900) + data(at=("Retransmit",), length=1400) + recv() + data(length=100)
    + advance(200) + recv(in_place=True),
    # A zero window: the persist timer probes until the peer opens it.
    "persist": setup(recv="2k", send="8k", syn=syn_options(wscale=None, sack=False, ts=False))
    + ack(window=0) + send(length=6000) + advance(10, "Seconds") + advance(30, "Seconds") + ack(window=65535)
    + advance(100) + ack(),
    # An active open answered by SYN-ACK, data both ways, and a refused one.
    "connect": setup() + connect(0) + syn(flow=1) + send(conn=1, length=3000) + ack(flow=1)
    + data(flow=1, length=800) + recv(conn=1) + connect(1) + rst(flow=2, with_ack=True) + close(conn=1),
    # Close both ways, TIME_WAIT, and a new SYN reusing the 4-tuple.
    "time-wait": setup() + shutdown() + ack() + data(length=0, fin=True) + advance(10, "Seconds")
    + syn(flow=0, isn="AboveOld") + ack() + accept() + advance(2, "Minutes"),
    # RSTs in and out of the window, a SYN in the window, and mangled options.
    "resets": setup() + rst(seq=("Acked", 5)) + segment(flags=0x02, seq=("Acked", 0))
    + raw_options(options=bytes([2, 4, 0, 1, 3, 3, 14, 1])) + raw_options(options=bytes([8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 0]))
    + segment(flags=0x18, length=300, ts=("Old", 100)) + rst(seq=("Acked", 0)) + recv(),
    # SYNs from new ports until the backlog overflows; accepts; the listener closes.
    "listener": setup() + b"".join(syn() for _ in range(6)) + ack(flow=1) + ack(flow=2) + accept() + accept()
    + toggle_listener() + syn() + toggle_listener() + syn(flow=3, isn="Retransmit") + ack(flow=3) + accept(),
    # Keepalive probes going unanswered, delayed ACKs and timers run out.
    "keepalive": setup(keepalive=True) + data(length=10) + advance(30) + keepalive(idle=2) + next_timer()
    + next_timer() + advance(3, "Seconds") + next_timer() + next_timer() + advance(10, "Seconds"),
    # Window scaling with a large buffer, timestamps echoed, urgent data.
    "scaled": setup(recv="100k", send="100k", syn=syn_options(wscale=14)) + send(length=20000) + ack(window=4)
    + segment(flags=0x30, urgent=5, length=100) + data(length=1400) + data(length=1400) + recv()
    + segment(flags=0x10, ts=("Raw", 1, 0)) + close(linger_zero=True),
    # A long exchange both ways with loss, SACK recovery and timers in between.
    "long-mixed": setup(recv="8k", send="16k") + b"".join(
        send(length=3000) + data(length=1000) + ack(behind=1448 * (i % 3), sack=[(1448, 1448)] if i % 3 else [])
        + recv(length=1500, in_place=bool(i % 2)) + advance(40 * (i % 4) + 10)
        + (data(at=("Ahead", 500), length=400) if i % 5 == 0 else b"")
        for i in range(20)
    ) + ack() + shutdown() + data(length=0, fin=True) + recv() + advance(2, "Minutes"),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "tcp_stateful")
    os.makedirs(out, exist_ok=True)
    for name, blob in SEEDS.items():
        with open(os.path.join(out, f"seed-{name}"), "wb") as f:
            f.write(blob)
    print(f"wrote {len(SEEDS)} seeds to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
