#!/usr/bin/python3
"""Prints N (default 1) distinct free TCP ports on 127.0.0.1, one per line, for programs the tests
start a moment later.

Below the kernel's ephemeral range: a port bind(0) hands out is in that range, and any process's
outgoing connection (the tests' Kafka clients make many) may take it as its local port before
the program binds it ("Address already in use", seen in CI). Below the range only an explicit
bind can take it.
"""
import random
import socket
import sys

try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
low = max(low, 12000)
wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 1
held = []
for _ in range(200 * wanted):
    if len(held) == wanted:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(10000, low)))
    except OSError:
        s.close()
        continue
    held.append(s)
if len(held) < wanted:
    raise SystemExit(f"no {wanted} free ports below {low}")
for s in held:
    print(s.getsockname()[1])
    s.close()
