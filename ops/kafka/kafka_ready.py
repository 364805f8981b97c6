#!/usr/bin/env python3
"""Wait until a Kafka broker answers, using only the standard library.

Used by start-kafka.sh before any virtualenv exists (CI starts the broker before
``make test`` creates one). Two requests, both spoken as raw Kafka protocol:

1. ApiVersions v0: the broker's request handlers are running.
2. FindCoordinator v1 for a throw-away group: the group coordinator is loaded. The first
   such request also makes the broker create ``__consumer_offsets``, so the first consumer
   group of the test run does not pay for it (and does not see COORDINATOR_NOT_AVAILABLE).

Kafka 4 removed FindCoordinator v0 (KIP-896), hence v1.

    kafka_ready.py HOST:PORT [TIMEOUT_SECONDS]

Exit status 0 when ready, 1 on timeout (the last error is printed to stderr).
"""

from __future__ import annotations

import socket
import struct
import sys
import time

API_VERSIONS = 18
FIND_COORDINATOR = 10
CLIENT_ID = b"hotline-ready-probe"


def _request(host: str, port: int, api_key: int, version: int, body: bytes) -> bytes:
    header = struct.pack(">hhih", api_key, version, 1, len(CLIENT_ID)) + CLIENT_ID
    payload = header + body
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        response = _recv_exact(sock, size)
    correlation_id = struct.unpack(">i", response[:4])[0]
    if correlation_id != 1:
        raise RuntimeError(f"unexpected correlation id {correlation_id}")
    return response[4:]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return buf


def api_versions(host: str, port: int) -> None:
    body = _request(host, port, API_VERSIONS, 0, b"")
    error = struct.unpack(">h", body[:2])[0]
    if error != 0:
        raise RuntimeError(f"ApiVersions error code {error}")


def find_coordinator(host: str, port: int, group: str) -> None:
    key = group.encode()
    body = _request(host, port, FIND_COORDINATOR, 1, struct.pack(">h", len(key)) + key + b"\x00")
    # v1 response: throttle_time_ms int32, error_code int16, error_message nullable string, ...
    error = struct.unpack(">h", body[4:6])[0]
    if error != 0:
        raise RuntimeError(f"FindCoordinator error code {error}")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    host, _, port_s = argv[1].rpartition(":")
    port = int(port_s)
    deadline = time.monotonic() + (float(argv[2]) if len(argv) > 2 else 60.0)
    last: Exception | None = None
    for step in (
        lambda: api_versions(host, port),
        lambda: find_coordinator(host, port, "hotline-ready-probe"),
    ):
        while True:
            try:
                step()
                break
            except (OSError, RuntimeError, struct.error) as exc:
                last = exc
                if time.monotonic() > deadline:
                    print(f"kafka_ready: {argv[1]} not ready: {last!r}", file=sys.stderr)
                    return 1
                time.sleep(0.3)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
