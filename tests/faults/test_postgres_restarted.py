"""PostgreSQL restarted while officials complete tasks: the web workers reconnect (engine.platform.liveness), the officials retry, nothing acknowledged is lost."""
from __future__ import annotations

from pathlib import Path

from engine.platform import schema
from engine.platform.db import Database
from tests.conftest import Helper, forget_process_caches, prepare_county
from tests.faults.checks import completed, lost_completions, unrestorable_instances
from tests.faults.conftest import Cluster
from tests.faults.workload import officials_at_work, ready_intents
from tests.served import serving

ATTEMPTS = 100  # 20 s of retries: a fast restart takes a second or two


def test_web_workers_reconnect_after_postgresql_restarts_under_load(cluster: Cluster, tmp_path: Path) -> None:
    cluster.create_database("zhikong")
    forget_process_caches()
    db = Database(cluster.url("zhikong"))
    try:
        schema.upgrade(db)
        prepare_county(db)
        work = ready_intents(Helper(db), 25)
        tasks = sum(len(ids) for _official, ids in work)
        with serving(db, tmp_path) as served, officials_at_work(db, served, work, ATTEMPTS, "PostgreSQL could be restarted") as running:
            cluster.restart()
            before = completed(db)
            tallies = running.result(timeout=240)
        acknowledged = [task_id for tally in tallies for task_id in tally.acknowledged]
        assert [error for tally in tallies for error in tally.errors] == []
        assert completed(db) == tasks > before  # the workers served completions again after the restart
        assert lost_completions(db, acknowledged) == []
        assert unrestorable_instances(db) == []
    finally:
        db.dispose()
        forget_process_caches()
