"""Fault-test fixtures: a throw-away PostgreSQL cluster of a test's own (initdb, pg_ctl on a free port), so it can restart a server no other test uses."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.served import free_port

PG_SECONDS = 60


def as_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: under root (CI's containers) the cluster belongs to the postgres account."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def binaries() -> Path | None:
    """The newest PostgreSQL's bin directory holding initdb and pg_ctl, if installed."""
    found = sorted(Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb") if Path(p).with_name("pg_ctl").exists())
    return found[-1] if found else None


@dataclass
class Cluster:
    """A running cluster: its data directory, port and pg_ctl."""

    bin: Path
    data: Path
    port: int

    @property
    def log(self) -> str:
        """The server's log (a file: a server writing to pg_ctl's pipe would keep it open)."""
        return str(self.data.parent / "server.log")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), *args]), check=True, capture_output=True, timeout=PG_SECONDS)

    def start(self) -> None:
        self.pg_ctl("-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "-l", self.log, "-w", "start")

    def restart(self) -> None:
        """Stop the server, ending every connection (fast mode), and start it again."""
        self.pg_ctl("-m", "fast", "-l", self.log, "-w", "restart")  # the options are kept, the log file must be named again

    def create_database(self, name: str) -> None:
        subprocess.run(as_owner([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name]),
                       check=True, capture_output=True, timeout=PG_SECONDS)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A fresh cluster started on a free port; stopped and its directory removed however the test ends."""
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("no initdb and pg_ctl under /usr/lib/postgresql/*/bin (install the postgresql package)")
    folder = Path(tempfile.mkdtemp(prefix="zhikong-cluster-"))  # not under pytest's private tmp_path: the postgres account must reach it
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        running = Cluster(bin_dir, folder / "data", free_port())
        subprocess.run(as_owner([str(bin_dir / "initdb"), "-D", str(running.data), "-U", "postgres", "--auth=trust", "--no-sync"]),
                       check=True, capture_output=True, timeout=PG_SECONDS)
        running.start()
        try:
            yield running
        finally:
            running.pg_ctl("-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
