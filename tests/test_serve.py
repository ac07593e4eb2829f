"""`zhikong serve` as a county runs it: gunicorn with 2 workers on a free port over a temporary SQLite database, then HUP and TERM."""
from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.workflow import health
from engine.platform import schema
from engine.platform.db import Database
from tests.served import START_SECONDS, Served, serving, wait_until_answering

PID = re.compile(r'"GET /login HTTP/1.1" 200 .* pid=<(\d+)>')


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    db = Database(f"sqlite:///{folder / 'serve.db'}")
    schema.upgrade(db)
    try:
        with serving(db, folder) as server:  # the module's tests may be shared among xdist workers: each stops its own server
            yield server
    finally:
        db.dispose()


def test_two_gunicorn_workers_answer_with_an_access_log(served: Served) -> None:
    assert served.get("/healthz") == (200, '{"status":"ok"}\n')
    status, page = served.get("/login")
    assert status == 200 and "登录" in page
    deadline = time.monotonic() + START_SECONDS
    while not PID.search(served.output()) and time.monotonic() < deadline:  # gunicorn logs a request after answering it
        time.sleep(0.1)
    output = served.output()
    assert "Using worker: gthread" in output and output.count("Booting worker") == 2
    assert PID.search(output), output


def test_readyz_wants_a_scheduler_heartbeat(served: Served) -> None:
    status, body = served.get("/readyz")
    assert status == 503 and "调度器从未上报心跳" in json.loads(body)["problems"][0]
    with served.db.session() as s:
        health.beat(s, "scheduler.timers")
    status, body = served.get("/readyz")
    assert status == 200 and json.loads(body)["status"] == "ok"


def login_count(served: Served) -> float:
    status, text = served.get("/metrics")
    assert status == 200
    match = re.search(r'^zhikong_http_request_duration_seconds_count\{endpoint="auth.login"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_add_up_every_workers_requests(served: Served) -> None:
    before = login_count(served)
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while len(set(PID.findall(served.output()))) < 2 and sent < 800:
            assert all(status == 200 for status, _ in pool.map(lambda _: served.get("/login"), range(40)))
            sent += 40
    assert len(set(PID.findall(served.output()))) == 2, "both workers answered /login"
    assert [login_count(served) - before for _ in range(6)] == [sent] * 6  # the same sum whichever worker is scraped
    assert "zhikong_database_up 1.0" in served.get("/metrics")[1]


def test_hup_restarts_the_workers_and_term_stops_cleanly(served: Served) -> None:
    served.process.send_signal(signal.SIGHUP)
    wait_until_answering(served, 4)
    assert served.output().count("Booting worker") == 4, served.output()
    assert login_count(served) >= 40  # the restarted workers' counts stay in the sum
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=START_SECONDS) == 0, served.output()
    assert "Shutting down: Master" in served.output()
