"""Cost of the tamper-evident log and the orphan watch, and the speed of `zhikong audit verify`.

Runs full T3 lifecycles through the engine on SQLite in one process, alternating three
configurations (everything on; hash chain off; chain and orphan watch off) so noise hits
all alike, and prints the medians and ratios against the bare engine. Then chains a batch of
events and times a full chain verification. Run: `.venv/bin/python bench/audit.py`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import wiring  # noqa: E402
from engine.platform import audit, db as unit_of_work  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import Event, User  # noqa: E402
from lifecycle import T3_STEPS, prepared, run_lifecycle  # noqa: E402

CHAIN_STEPS = ("guard", "remember", "seal", "chain_late")


@contextmanager
def without_chain() -> Iterator[None]:
    """The unit of work without the hash chain's flush guard and commit seal, for the duration of the block."""
    saved = {name: getattr(audit, name) for name in CHAIN_STEPS}
    for name in CHAIN_STEPS:
        setattr(audit, name, lambda *_args: None)
    try:
        yield
    finally:
        for name, step in saved.items():
            setattr(audit, name, step)


@contextmanager
def without_watch() -> Iterator[None]:
    """The unit of work without its registered steps (the orphan watch), for the duration of the block."""
    saved = (list(unit_of_work.STEPS.before_flush), list(unit_of_work.STEPS.before_commit))
    unit_of_work.STEPS.before_flush.clear()
    unit_of_work.STEPS.before_commit.clear()
    try:
        yield
    finally:
        unit_of_work.STEPS.before_flush[:], unit_of_work.STEPS.before_commit[:] = saved


def lifecycle(db: Database, registration: dict, actors: list[User]) -> float:
    """Seconds for one registration plus 14 completions, each its own transaction."""
    started = time.perf_counter()
    run_lifecycle(db, registration, actors)
    return time.perf_counter() - started


def main() -> None:
    """Measure the three configurations, then chain and verify a log of `--events` entries."""
    wiring.install()
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=60, help="lifecycles per configuration")
    parser.add_argument("--events", type=int, default=50000, help="events to chain and verify")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, registration, actors = prepared(tmp, "lifecycles")
        for _ in range(5):
            lifecycle(db, registration, actors)
        full, no_chain, bare = [], [], []
        for _ in range(args.n):
            full.append(lifecycle(db, registration, actors))
            with without_chain():
                no_chain.append(lifecycle(db, registration, actors))
            with without_chain(), without_watch():
                bare.append(lifecycle(db, registration, actors))
        db.dispose()
        log_db, _, _ = prepared(tmp, "log")
        started = time.perf_counter()
        for offset in range(0, args.events, 500):
            with log_db.session() as s:
                s.add_all(Event(kind="note", summary=f"基准事件 {offset + i}", payload={"i": offset + i}) for i in range(500))
        chained = time.perf_counter() - started
        started = time.perf_counter()
        with log_db.session() as s:
            verdict = audit.verify(s)
        verified = time.perf_counter() - started
        log_db.dispose()
    f, c, b = (statistics.median(x) * 1000 for x in (full, no_chain, bare))
    tasks = len(T3_STEPS) + 1
    print(f"T3 lifecycle on SQLite, {tasks} transactions, n={args.n} per configuration (median per lifecycle)")
    print(f"engine, chain + orphan watch : {f:8.2f} ms  ({f / tasks:.2f} ms/transaction)")
    print(f"engine, orphan watch only    : {c:8.2f} ms  ({c / tasks:.2f} ms/transaction)")
    print(f"engine, neither              : {b:8.2f} ms  ({b / tasks:.2f} ms/transaction)")
    print(f"ratio full/bare              : {f / b:8.2f}")
    print(f"ratio watch-only/bare        : {c / b:8.2f}")
    print(f"chaining {args.events} events in transactions of 500: {chained:.2f} s ({args.events / chained:,.0f} events/s)")
    print(f"verify {verdict.checked} events: {verified:.2f} s ({verdict.checked / verified:,.0f} events/s), ok={verdict.ok}")


if __name__ == "__main__":
    main()
