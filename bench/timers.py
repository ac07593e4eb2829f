"""Timer sweep at scale: 100k instances waiting on a timer, 1,000 of them due.

Prints the time to find and claim the due instances, the whole sweep time (find, claim, fire,
persist the 1,000 due ones, with the task table, events and hooks), proves by counting
ORM loads that no instance that was not due was loaded, and compares with the same 1,000
firings done by raw SpiffWorkflow in memory (restore, refresh timers, engine steps, dump).
Target: sweep ≤ 1 s. Run: `python bench/timers.py` (SQLite in a temporary directory), or
`--pg-scratch URL` for a scratch PostgreSQL database whose public schema is dropped first.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select, text  # noqa: E402

from engine import wiring  # noqa: E402
from engine.workflow import definitions, state, timers
from engine import demo
from engine.platform import schema  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import Event, Instance, OrgUnit, User, utcnow  # noqa: E402
from tests.timers.seeding import deploy_wait, seed  # noqa: E402


def prepare(url: str, total: int, due: int) -> tuple[Database, set[int]]:
    """A migrated database with `total` waiting instances, `due` of them due now, scattered by id."""
    db = Database(url)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    schema.upgrade(db)
    with db.session() as s:
        demo.load_org(s)
        unit_id = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "anwen")).one()
        deputy_id = s.scalars(select(User.id).where(User.username == "fx_gongye")).one()
    definition_id = deploy_wait(db)
    now = utcnow()
    rng = random.Random(4)
    due_slots = set(rng.sample(range(total), due))
    times = [now - timedelta(minutes=rng.randint(1, 600)) if i in due_slots
             else now + timedelta(minutes=rng.randint(60, 60 * 24 * 30)) for i in range(total)]
    started = time.perf_counter()
    seed(db, definition_id, times, unit_id, deputy_id)
    print(f"seeded {total:,} waiting instances ({due:,} due) in {time.perf_counter() - started:.1f} s")
    with db.session() as s:
        due_ids = set(s.scalars(select(Instance.id).where(Instance.next_timer_at <= utcnow())))
        if db.engine.dialect.name == "postgresql":
            s.execute(text("ANALYZE"))
    assert len(due_ids) == due
    return db, due_ids


def raw_firings(db: Database, ids: set[int]) -> float:
    """Seconds for raw SpiffWorkflow to fire the same instances in memory (the baseline)."""
    with db.session() as s:
        rows = s.execute(select(Instance.definition_id, Instance.state).where(Instance.id.in_(ids))).all()
        loaded = definitions.load(s, rows[0][0])
    started = time.perf_counter()
    for _definition_id, stored in rows:
        workflow = state.restore(stored, loaded.spec, loaded.subprocess_specs)
        workflow.refresh_timers()
        workflow.do_engine_steps()
        state.dump(workflow)
    return time.perf_counter() - started


def measure(url: str, total: int, due: int) -> None:
    """Seed, time the raw baseline and the sweep, and count what the sweep loaded."""
    db, due_ids = prepare(url, total, due)
    started = time.perf_counter()
    with db.session() as s:
        claimed = {i.id for i in timers.due_instances(s, utcnow(), due + 1)}
        s.rollback()
    find = time.perf_counter() - started
    assert claimed == due_ids
    raw = raw_firings(db, due_ids)
    state.WORKFLOWS.clear()
    loaded: list[int] = []

    def count(target: Instance, _context: object) -> None:
        loaded.append(target.id)

    event.listen(Instance, "load", count)
    started = time.perf_counter()
    result = timers.sweep(db)
    sweep = time.perf_counter() - started
    event.remove(Instance, "load", count)
    with db.session() as s:
        fired = s.scalar(select(func.count()).select_from(Event).where(Event.kind == "timer"))
        still_due = s.scalar(select(func.count()).select_from(Instance).where(Instance.next_timer_at <= utcnow()))
    not_due_loaded = len(set(loaded) - due_ids)
    print(f"instances loaded by the sweep: {len(loaded):,} (of them not due: {not_due_loaded}); "
          f"timers fired: {fired:,} (sweep says {result.timers_fired:,}); still due afterwards: {still_due}")
    print(f"{db.engine.dialect.name}: find and claim the {due:,} due instances (state included) {find * 1000:.0f} ms")
    print(f"{db.engine.dialect.name}: sweep {sweep:.3f} s for {due:,} due of {total:,} waiting "
          f"({sweep / due * 1000:.2f} ms per firing); raw SpiffWorkflow in memory {raw:.3f} s; "
          f"ratio sweep/raw {sweep / raw:.1f}; target sweep ≤ 1 s: {'met' if sweep <= 1 else 'NOT met'}")
    assert not_due_loaded == 0 and len(loaded) == due and fired == due and still_due == 0
    db.dispose()


def main() -> None:
    """Parse the options, register the hooks, run and print."""
    wiring.install()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--pg-scratch", help="scratch PostgreSQL URL (its public schema is dropped)")
    args = parser.parse_args()
    if args.pg_scratch:
        measure(args.pg_scratch, args.total, args.due)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            measure(f"sqlite:///{tmp}/bench.db", args.total, args.due)


if __name__ == "__main__":
    main()
