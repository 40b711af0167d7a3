"""A light load generator for bench/webhook.py: asyncio, raw HTTP/1.1, its own process.

``--clients`` connections kept alive, each sending its next request as soon as
the answer to the last one is in (a closed loop, like 50 callers that never
pause), for ``--seconds``. One event loop in one process costs the shared
CPUs far less per request than threads driving ``requests`` inside the
benchmark's own process, so more of the machine measures the server.

A refresh is signed as a real HMAC caller signs it, and never twice alike
(auth refuses a replayed signature): the current second as ``t`` and a
per-request counter spelled in whitespace after the JSON body. The secret
comes from ``BENCH_HMAC_SECRET`` in the environment, never the command line.

Prints one JSON object: latencies (seconds), statuses, joined counts, the
round's length.

Run by bench/webhook.py:
``python -P bench/loadgen.py --url http://127.0.0.1:PORT --call refresh
--sheet ID --clients 50 --seconds 10``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

WHITESPACE = b" \t\n\r"  # JSON allows any of these after the value: 4 symbols per char
REFRESH = "/hooks/refresh"


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    joined: Counter[bool] = field(default_factory=Counter)


def refresh_requests(host: str, sheet_id: str, secret: bytes) -> Callable[[], bytes]:
    """Signed ``POST /hooks/refresh`` requests, each body and signature used once."""
    body = json.dumps({"spreadsheet_id": sheet_id}).encode()
    counter = itertools.count()

    def make() -> bytes:
        n = next(counter)
        data = body + bytes(WHITESPACE[(n >> (2 * i)) & 3] for i in range(12))
        stamp = str(int(time.time()))
        message = f"{stamp}.POST.{REFRESH}.".encode() + data
        digest = hmac.new(secret, message, hashlib.sha256).hexdigest()
        head = (
            f"POST {REFRESH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"X-Signature: t={stamp},v1={digest}\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        return head.encode() + data

    return make


def healthz_requests(host: str) -> Callable[[], bytes]:
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    return lambda: request


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server closes the connection (Content-Length bodies)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status, length, close = int(lines[0].split()[1]), 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip().lower() == b"close"
    return status, await reader.readexactly(length), close


async def client(url: str, make: Callable[[], bytes], deadline: float, result: Round) -> None:
    """One caller on one kept-alive connection (reopened if the server closes it)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        writer.write(make())
        status, body, close = await read_response(reader)
        result.latencies.append(time.perf_counter() - began)
        result.statuses[status] += 1
        if status == 202:
            result.joined[bool(json.loads(body)["joined"])] += 1
        if close:
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
    writer.close()


async def load(url: str, make: Callable[[], bytes], clients: int, seconds: float) -> Round:
    result = Round()
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(client(url, make, deadline, result) for _ in range(clients)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--call", choices=("healthz", "refresh"), required=True)
    parser.add_argument("--sheet", default="")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    host = urlsplit(args.url).netloc
    if args.call == "refresh":
        make = refresh_requests(host, args.sheet, os.environ["BENCH_HMAC_SECRET"].encode())
    else:
        make = healthz_requests(host)
    began = time.perf_counter()
    result = asyncio.run(load(args.url, make, args.clients, args.seconds))
    out = {
        "latencies": result.latencies,
        "statuses": {str(k): v for k, v in result.statuses.items()},
        "joined": {str(k).lower(): v for k, v in result.joined.items()},
        "seconds": time.perf_counter() - began,
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
