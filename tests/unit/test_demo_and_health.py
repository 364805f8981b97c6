"""The demo's start-up checks and clean-up, children that die with their parent, the health
command's report, and the Makefile's guard rails. Real processes and sockets, no broker."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from router.demo import run_demo
from router.domain.errors import ConfigurationError
from router.embedded import (
    EmbeddedServiceError,
    _spawn,
    free_port,
    port_in_use,
    wait_for_worker,
)
from router.health import check_health
from router.settings import ApiSettings, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listener() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture
def sigterm_handler_restored() -> Iterator[None]:
    """run_demo takes SIGTERM over; give it back to pytest whatever the test does."""
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.usefixtures("sigterm_handler_restored")
def test_demo_refuses_a_busy_api_port_before_starting_anything(
        listener: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings = Settings(api=ApiSettings(port=listener))

    assert run_demo(settings, once=False) == 2

    err = capsys.readouterr().err
    assert err == (f"demo: port {listener} is already in use;"
                   " set HOTLINE_API_PORT to another port\n")
    assert list(tmp_path.iterdir()) == []  # no state folder: no broker, Redis or worker


def test_the_demo_command_exits_2_on_a_busy_api_port(listener: int, tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_API_PORT": str(listener), "TMPDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "router.cli", "demo"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"demo: port {listener} is already in use; set HOTLINE_API_PORT to another port"]
    assert list(tmp_path.iterdir()) == []


def test_port_in_use_tells_a_held_port_from_a_free_one(listener: int) -> None:
    assert port_in_use("127.0.0.1", listener)
    assert not port_in_use("127.0.0.1", free_port())


@pytest.mark.usefixtures("sigterm_handler_restored")
def test_a_failed_demo_keeps_its_folder_and_says_where(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # Fails while reading the router configuration, before any service starts.
    settings = Settings(config_dir=tmp_path / "no-such-config", api=ApiSettings(port=0))

    with pytest.raises(ConfigurationError, match="file not found"):
        run_demo(settings, once=True)

    [state_dir] = tmp_path.glob("hotline-demo-*")
    assert f"kept in {state_dir}" in capsys.readouterr().err


class _Answer(http.server.BaseHTTPRequestHandler):
    body: bytes = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process standing in for the worker."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def test_wait_for_worker_is_not_fooled_by_another_http_server(
        sleeper: subprocess.Popen[bytes]) -> None:
    # BaseHTTPRequestHandler answers 501 to a GET it has no do_GET for.
    with (_serving(http.server.BaseHTTPRequestHandler) as port,
          pytest.raises(EmbeddedServiceError, match="HTTP 501")):
        wait_for_worker(port, 0.5, sleeper)


def test_wait_for_worker_wants_the_healthz_answer_of_the_worker(
        sleeper: subprocess.Popen[bytes]) -> None:
    class Other(_Answer):
        body = b'{"status": "starting"}'

    class Ours(_Answer):
        body = json.dumps({"status": "ok"}).encode()

    with _serving(Other) as port, pytest.raises(EmbeddedServiceError, match="starting"):
        wait_for_worker(port, 0.5, sleeper)
    with _serving(Ours) as port:
        wait_for_worker(port, 30, sleeper)


def test_wait_for_worker_reports_a_worker_that_exited() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    with pytest.raises(EmbeddedServiceError, match="exited with 3"):
        wait_for_worker(free_port(), 30, process)


def _alive(pid: int) -> bool:
    """Running, not a zombie: a reparented child may wait for a reaper that never comes."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


_PARENT = """
import sys, time
from pathlib import Path
from router.embedded import _spawn
child = _spawn(["sleep", "60"], Path(sys.argv[1]))
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_spawned_children_die_with_a_parent_killed_by_sigkill(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(tmp_path / "child.log")],
                              stdout=subprocess.PIPE, cwd=ROOT)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert _alive(child)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def test_spawn_still_runs_children_in_a_session_of_their_own(tmp_path: Path) -> None:
    child = _spawn(["sleep", "60"], tmp_path / "child.log")
    try:
        assert os.getsid(child.pid) == child.pid
    finally:
        child.kill()
        child.wait()


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh working folder, no database named and Redis and Kafka on a port nobody serves."""
    port = free_port()
    monkeypatch.chdir(tmp_path)
    for name in ("HOTLINE_DATABASE_URL", "HOTLINE_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("HOTLINE_KAFKA_BOOTSTRAP", f"127.0.0.1:{port}")
    return tmp_path


def test_health_creates_no_state_folder(unreachable: Path) -> None:
    results = check_health(Settings(), timeout=5)

    expected = unreachable.resolve() / ".hotline" / "hotline.db"
    assert results["database"] == f"no database at {expected} (HOTLINE_DATABASE_URL is unset)"
    assert list(unreachable.iterdir()) == []


def test_health_creates_nothing_in_the_state_dir_it_is_given(
        unreachable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(unreachable / "state"))
    results = check_health(Settings(), timeout=5)

    assert results["database"].startswith(f"no database at {unreachable.resolve() / 'state'}")
    assert list(unreachable.iterdir()) == []


def test_health_creates_no_sqlite_file_the_url_names(
        unreachable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "sqlite:///hotline.db")
    results = check_health(Settings(), timeout=5)

    assert results["database"] == f"no database at {unreachable.resolve() / 'hotline.db'}"
    assert list(unreachable.iterdir()) == []


def test_health_reads_an_existing_state_dir_database(
        unreachable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (unreachable / "state").mkdir()
    sqlite3.connect(unreachable / "state" / "hotline.db").close()
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(unreachable / "state"))

    assert check_health(Settings(), timeout=5)["database"] == "ok"


def test_health_names_each_exception_class_once(unreachable: Path) -> None:
    results = check_health(Settings(), timeout=5)

    assert results["kafka"].startswith("KafkaConnectionError: ")
    assert results["kafka"].count("KafkaConnectionError") == 1
    assert results["redis"].startswith("ConnectionError: ")
    assert results["redis"].count("ConnectionError") == 1


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@needs_make
def test_make_says_python3_venv_is_missing(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path)
    (tmp_path / "pyproject.toml").touch()
    python = tmp_path / "python-without-ensurepip"
    # What Debian's python3 does without python3-venv, for both `-c` and `-m venv`.
    python.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'ensurepip'\""
                      " >&2\nexit 1\n")
    python.chmod(0o755)

    result = subprocess.run(["make", "install", f"PYTHON={python}"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode != 0
    assert ("python3-venv is missing: apt-get install python3-venv (Debian/Ubuntu)"
            in result.stderr.splitlines())
    assert not (tmp_path / ".venv").exists()


@needs_make
def test_make_clean_removes_every_cache(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path)
    made = [".venv/lib/__pycache__", ".hotline", ".pytest_cache", ".mypy_cache", ".ruff_cache",
            ".hypothesis/examples", ".import_linter_cache", "hotline_router.egg-info",
            "router/__pycache__", "tests/unit/__pycache__"]
    for folder in made:
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "router" / "kept.py").touch()

    result = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)

    assert result.returncode == 0, result.stderr
    assert [folder for folder in made if (tmp_path / folder).exists()] == []
    assert (tmp_path / "router" / "kept.py").exists()


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs git and the repository")
def test_git_ignores_what_make_clean_removes() -> None:
    paths = [".venv/", ".hotline/", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/",
             ".hypothesis/", ".import_linter_cache/", "hotline_router.egg-info/",
             "router/__pycache__/"]
    result = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert sorted(result.stdout.split()) == sorted(paths)
