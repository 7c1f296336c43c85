#!/usr/bin/env python3
"""Clients that subscribe to every topic and then never read: the kernel memory they pin on the
server's side, sampled from `ss -tmn` (the server's sockets only: on loopback the clients'
receive buffers are in the same host's /proc/net/sockstat, which a real server would not hold).

usage: nonreaders.py HOST PORT COUNT SECONDS [--origin URL] [--path /ws]

Opens COUNT WebSocket connections to HOST:PORT, sends one subscribe to everything on each, never
reads and never answers a ping, and every second prints the server-side sockets still open and
the sum of their socket memory (skmem: the send queue, its allocation and the receive side), and
the host's TCP memory (/proc/net/sockstat, both ends). Stops by itself after SECONDS, closes every
socket, and prints one JSON line with the maxima. Targets 127.0.0.1 only.
"""
import base64
import json
import os
import re
import socket
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    if len(args) < 4:
        sys.exit(__doc__)
    host, port, count, seconds = args[0], int(args[1]), int(args[2]), float(args[3])
    origin = "http://localhost:8080"
    path = "/ws"
    if "--origin" in args:
        origin = args[args.index("--origin") + 1]
    if "--path" in args:
        path = args[args.index("--path") + 1]
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("loopback only")
    socks = []
    for _ in range(count):
        s = socket.create_connection((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n").encode())
        s.sendall(frame(b'{"type":"subscribe"}'))
        socks.append(s)
    start = time.time()
    peak = {"server_sockets": 0, "server_skmem_kib": 0, "host_tcp_mem_kib": 0}
    while time.time() - start < seconds:
        n, mem = server_side(port)
        host_kib = sockstat_kib()
        peak["server_sockets"] = max(peak["server_sockets"], n)
        peak["server_skmem_kib"] = max(peak["server_skmem_kib"], mem // 1024)
        peak["host_tcp_mem_kib"] = max(peak["host_tcp_mem_kib"], host_kib)
        print(f"t={time.time() - start:5.1f}s server sockets={n} server skmem={mem // 1024} KiB"
              f" host tcp mem={host_kib} KiB", flush=True)
        time.sleep(1)
    n, mem = server_side(port)
    for s in socks:
        s.close()
    peak.update(count=count, seconds=seconds, end_server_sockets=n,
                end_server_skmem_kib=mem // 1024,
                server_skmem_kib_per_client_at_peak=round(peak["server_skmem_kib"] / count, 1))
    print(json.dumps(peak))


def frame(payload):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def server_side(port):
    """Open sockets whose local port is the server's, and their skmem summed (bytes)."""
    out = subprocess.run(["ss", "-tmnH", "state", "all", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    n, total = 0, 0
    for line in out.splitlines():
        m = re.search(r"skmem:\(([^)]*)\)", line)
        if m:
            fields = dict(re.findall(r"([a-z_]+)(\d+)", m.group(1)))
            # r: rmem_alloc, t: wmem_alloc, w: wmem_queued (the send queue's allocation)
            total += int(fields.get("r", 0)) + int(fields.get("t", 0)) + int(fields.get("w", 0))
        elif "LISTEN" not in line and line.strip():
            n += 1
    return n, total


def sockstat_kib():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                pages = int(line.split("mem")[1].split()[0])
                return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    return 0


if __name__ == "__main__":
    main()
