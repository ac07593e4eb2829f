"""`zhikong serve` as a subprocess for the tests that drive it over real HTTP: a free port, its log, waiting until it answers, stopping it."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database

START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Served:
    """The running server: its process, port, database and log file."""

    process: subprocess.Popen[bytes]
    port: int
    db: Database
    log: Path

    def get(self, path: str) -> tuple[int, str]:
        """One GET on a connection of its own (closed after), so any worker may answer."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Connection": "close"})
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8")
        finally:
            connection.close()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def workers(self) -> list[int]:
        """The pids of the gunicorn master's children (its workers, when it runs no scheduler)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
        return [int(child) for child in children.split()]


def wait_until_answering(served: Served, workers_booted: int) -> None:
    """Until /healthz answers and gunicorn has booted that many workers in all."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert served.process.poll() is None, served.output()
        try:
            if served.get("/healthz")[0] == 200 and served.output().count("Booting worker") >= workers_booted:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"zhikong serve did not answer within {START_SECONDS} s:\n{served.output()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, so gunicorn's master removes its metrics directory; SIGKILL only when it does not end."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=START_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serving(db: Database, folder: Path, workers: int = 2, threads: int = 2) -> Iterator[Served]:
    """`zhikong serve --no-scheduler` with that many gunicorn workers over `db`, answering; stopped on leaving."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db.url, "ZHIKONG_WORKERS": str(workers), "ZHIKONG_THREADS": str(threads),
           "ZHIKONG_SECRET_KEY": "serve-test"}
    log = folder / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "zhikong.cli", "serve", "--no-scheduler", "--port", str(port)],
                                   cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    served = Served(process, port, db, log)
    try:
        wait_until_answering(served, workers)
        yield served
    finally:
        stop(process)
