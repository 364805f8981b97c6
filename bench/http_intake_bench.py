"""Latency of the agent desktop's intake: POST /api/v1/calls until it answers with the ticket.

    python bench/http_intake_bench.py --calls 200 --agents 1 --agents 20

Uses the services the environment names (HOTLINE_KAFKA_BOOTSTRAP, HOTLINE_REDIS_URL,
HOTLINE_DATABASE_URL) and starts the embedded ones for the rest, with one worker process.
Each agent is a thread that sends its calls one after another, the next as soon as the last
is answered or, with `--pace`, every so many seconds (an agent takes a call, types, sends);
the calls are of distinct callers and matters (bench/scale_bench.py's). Prints p50/p95/p99
in milliseconds, the share answered 201 (ticket ready), calls per second and the worker's CPU
per call, per agent count, and from the worker's metrics the mean milliseconds per batch of
each stage, the mean batch size and the mean dispatch delay, to show where an answer's time
goes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scale_bench import distinct_calls, gil_profiler
from router.access import UnitTokens
from router.embedded import free_port, stop_process
from tests.conftest import named_or_embedded_services, service_env
from tests.integration.conftest import start_worker

# per batch: its stages' seconds and its size; per ticket: receipt to hand-off
_BROKEN_DOWN = ("hotline_processing_latency_seconds", "hotline_batch_size",
                "hotline_dispatch_delay_seconds")


def post(api: str, token: str, call: dict[str, Any]) -> tuple[float, int]:
    body = json.dumps({key: call[key] for key in ("call_id", "text", "place_text",
                                                 "caller_contact")},
                      ensure_ascii=False).encode()
    request = urllib.request.Request(f"{api}/api/v1/calls", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        return time.perf_counter() - started, response.status


def run_agents(api: str, token: str, calls: list[dict[str, Any]], agents: int, pace: float
               ) -> tuple[list[tuple[float, int]], float]:
    """(seconds, status) of every call, and the seconds they all took."""
    started = time.perf_counter()

    def agent(first: int) -> list[tuple[float, int]]:
        done = []
        for turn, n in enumerate(range(first, len(calls), agents)):
            # the agents' turns spread over the pace, not all at once
            wait = started + (turn + first / agents) * pace - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            done.append(post(api, token, calls[n]))
        return done

    with concurrent.futures.ThreadPoolExecutor(agents) as pool:
        results = [r for done in pool.map(agent, range(agents)) for r in done]
    return results, time.perf_counter() - started


def stage_totals(api: str, metrics_token: str) -> dict[str, tuple[float, float]]:
    """(sum of seconds, count) per histogram series of the worker's batch stages and
    dispatch delay, from its /metrics."""
    request = urllib.request.Request(f"{api}/metrics",
                                     headers={"Authorization": f"Bearer {metrics_token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    totals: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in _BROKEN_DOWN:
            continue
        for sample in family.samples:
            if sample.name.endswith(("_sum", "_count")):
                series = sample.labels.get("stage", family.name.removeprefix("hotline_"))
                pair = totals.setdefault(series, [0.0, 0.0])
                pair[sample.name.endswith("_count")] += sample.value
    return {series: (pair[0], pair[1]) for series, pair in totals.items()}


def breakdown(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
              ) -> dict[str, float]:
    """Mean milliseconds per batch of each stage over a run, mean records per batch, and the
    mean dispatch delay (receipt to hand-off) per ticket."""
    means = {}
    for series, (seconds, count) in after.items():
        seconds_before, count_before = before.get(series, (0.0, 0.0))
        if count > count_before:
            scale = 1 if series == "batch_size" else 1000
            means[series] = round((seconds - seconds_before) / (count - count_before) * scale,
                                  1)
    return means


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--agents", type=int, action="append")
    parser.add_argument("--pace", type=float, default=0.0,
                        help="seconds from one call of an agent to its next (0: at once)")
    parser.add_argument("--profile", type=Path,
                        help="write py-spy's collapsed stacks of the worker's thread holding"
                             " the GIL here, over all the agents' runs")
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="hotline-http-bench-"))
    with named_or_embedded_services(state_dir, "h") as services:
        port = free_port()
        env = service_env(services, state_dir, port)
        env["HOTLINE_LOG_LEVEL"] = "WARNING"
        worker = start_worker(env, state_dir / "worker.log")
        api = f"http://127.0.0.1:{port}"
        token = UnitTokens(env["HOTLINE_API_UNIT_TOKEN_SECRET"]).issue("dispatch-center")
        profiler: subprocess.Popen[bytes] | None = None
        worker_cpu = psutil.Process(worker.pid)
        try:
            post(api, token, distinct_calls(f"{services.run_id}-warm", 1)[0])
            if args.profile is not None:
                profiler = gil_profiler(worker.pid, args.profile, rate=50)
            for agents in args.agents or [1, 20]:
                calls = distinct_calls(f"{services.run_id}-{agents}", args.calls)
                before = stage_totals(api, env["HOTLINE_API_METRICS_TOKEN"])
                cpu_before = sum(worker_cpu.cpu_times()[:2])  # user and system
                results, elapsed = run_agents(api, token, calls, agents, args.pace)
                cpu_seconds = sum(worker_cpu.cpu_times()[:2]) - cpu_before
                stages = breakdown(before, stage_totals(api, env["HOTLINE_API_METRICS_TOKEN"]))
                latencies = [seconds * 1000 for seconds, _ in results]
                print(json.dumps({
                    "agents": agents, "pace_seconds": args.pace, "calls": len(results),
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p95_ms": round(percentile(latencies, 0.95), 1),
                    "p99_ms": round(percentile(latencies, 0.99), 1),
                    "ticketed_share": round(sum(s == 201 for _, s in results) / len(results), 3),
                    "calls_per_second": round(len(results) / elapsed, 1),
                    "worker_cpu_ms_per_call": round(cpu_seconds / len(results) * 1000, 2),
                    "worker_mean_ms": stages}))
        finally:
            stop_process(worker, timeout=20)
            if profiler is not None:  # py-spy writes its stacks once the worker has gone
                profiler.wait(60)


if __name__ == "__main__":
    main()
