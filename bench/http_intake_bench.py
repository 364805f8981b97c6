"""Latency of the agent desktop's intake: POST /api/v1/calls until it answers with the ticket.

    python bench/http_intake_bench.py --calls 200 --agents 1 --agents 20

Uses the services the environment names (HOTLINE_KAFKA_BOOTSTRAP, HOTLINE_REDIS_URL,
HOTLINE_DATABASE_URL) and starts the embedded ones for the rest, with one worker process.
Each agent is a thread that sends its calls one after another; prints p50/p95/p99 in
milliseconds, the share answered 201 (ticket ready) and calls per second, per agent count.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router.access import UnitTokens
from router.embedded import free_port, stop_process
from tests.conftest import named_or_embedded_services, service_env
from tests.integration.conftest import start_worker

TEXTS = ["小区路灯不亮已有一周，晚上出行很不方便，请尽快维修。",
         "某培训机构收费后停课，家长要求退费无人处理，请教育部门协调。",
         "公司拖欠三个月工资，老板一直推脱，请劳动监察部门帮助追讨。"]


def post(api: str, token: str, call_id: str, text: str) -> tuple[float, int]:
    body = json.dumps({"call_id": call_id, "text": text, "place_text": "安宁区"},
                      ensure_ascii=False).encode()
    request = urllib.request.Request(f"{api}/api/v1/calls", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        return time.perf_counter() - started, response.status


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--agents", type=int, action="append")
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="hotline-http-bench-"))
    with named_or_embedded_services(state_dir, "h") as services:
        port = free_port()
        env = service_env(services, state_dir, port)
        env["HOTLINE_LOG_LEVEL"] = "WARNING"
        worker = start_worker(env, state_dir / "worker.log")
        api = f"http://127.0.0.1:{port}"
        token = UnitTokens(env["HOTLINE_API_UNIT_TOKEN_SECRET"]).issue("dispatch-center")
        try:
            post(api, token, f"{services.run_id}-warm", TEXTS[0])
            for agents in args.agents or [1, 20]:
                ids = [f"{services.run_id}-{agents}-{i}" for i in range(args.calls)]
                started = time.perf_counter()
                with concurrent.futures.ThreadPoolExecutor(agents) as pool:
                    results = list(pool.map(lambda pair: post(api, token, pair[1],
                                                              TEXTS[pair[0] % 3]),
                                            enumerate(ids)))
                elapsed = time.perf_counter() - started
                latencies = [seconds * 1000 for seconds, _ in results]
                print(json.dumps({
                    "agents": agents, "calls": len(results),
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p95_ms": round(percentile(latencies, 0.95), 1),
                    "p99_ms": round(percentile(latencies, 0.99), 1),
                    "ticketed_share": round(sum(s == 201 for _, s in results) / len(results), 3),
                    "calls_per_second": round(len(results) / elapsed, 1)}))
        finally:
            stop_process(worker, timeout=20)


if __name__ == "__main__":
    main()
