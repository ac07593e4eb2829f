"""The work the fault tests hand out: projects registered through the lifecycle, so each town official has ready intent tasks."""
from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from engine.platform.db import Database
from tests.conftest import Helper
from tests.faults.checks import completed
from tests.faults.official import Tally, crowd
from tests.served import Served
from tests.timers.test_scheduler_cli import wait_for

TOWNS = ("anwen", "xinwo", "jianshan", "yushan")


def ready_intents(h: Helper, per_official: int, officials: tuple[str, ...] = TOWNS) -> list[tuple[str, list[int]]]:
    """Register `per_official` projects landing at each official's town; each official with the ids of its ready intent tasks."""
    work = []
    for username in officials:
        ids = h.register_many([f"{username}项目{i}" for i in range(per_official)], by=username)
        work.append((username, [h.only_ready(project_id).id for project_id in ids]))
    return work


@contextmanager
def officials_at_work(db: Database, served: Served, work: list[tuple[str, list[int]]], attempts: int,
                      fault: str) -> Iterator[Future[list[Tally]]]:
    """The officials completing `work` over HTTP in the background, handed over once 20 completions are in: time for `fault`."""
    with ThreadPoolExecutor(1) as background:
        running = background.submit(crowd, served.port, work, attempts)
        assert wait_for(lambda: completed(db) >= 20 or running.done()), served.output()
        assert not running.done(), f"the officials finished before {fault}"
        yield running
