"""kill -9 of a gunicorn web worker while officials complete tasks: gunicorn starts another, the officials retry, no acknowledged completion is lost."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from engine.platform.db import Database
from tests.conftest import PG_URL, Helper
from tests.faults.checks import completed, lost_completions, unrestorable_instances
from tests.faults.workload import officials_at_work, ready_intents
from tests.served import serving, wait_until_answering

pytestmark = pytest.mark.postgres
ATTEMPTS = 50


@pytest.mark.skipif(not PG_URL, reason="needs ZHIKONG_TEST_PG")
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_web_worker_killed_under_load_loses_no_acknowledged_completion(db: Database, tmp_path: Path) -> None:
    work = ready_intents(Helper(db), 25)
    tasks = sum(len(ids) for _official, ids in work)
    with serving(db, tmp_path) as served, officials_at_work(db, served, work, ATTEMPTS, "a worker could be killed") as running:
        victim = served.workers()[0]
        os.kill(victim, signal.SIGKILL)
        tallies = running.result(timeout=240)
        wait_until_answering(served, 3)  # gunicorn booted a third worker in the killed one's place
        assert victim not in served.workers() and len(served.workers()) == 2
    acknowledged = [task_id for tally in tallies for task_id in tally.acknowledged]
    assert [error for tally in tallies for error in tally.errors] == []
    assert lost_completions(db, acknowledged) == []
    assert completed(db) == tasks  # each task acknowledged, or committed just before its worker died and refused as done on the retry
    assert unrestorable_instances(db) == []
