"""The query plans of the hot pages at county scale, as the database runs them: every statement the engine sends.

Each page's engine call runs once on a filled database (a kept fill of `bench/pages.py`, or its
PostgreSQL database) while its statements are recorded; each SELECT is then explained with the
same parameters: `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL, `EXPLAIN QUERY PLAN` on SQLite.
Prints Markdown (docs/query-plans.md holds a PostgreSQL run). Statements are the engine's own,
so the plans stay those of the code as it is.

Run: `python bench/plans.py postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from engine import wiring  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import Project, User  # noqa: E402
from engine.platform.org import count_ready  # noqa: E402
from engine.projects import queries  # noqa: E402
from engine.supervision import dashboard, lights, rankings  # noqa: E402
from engine.workflow import console  # noqa: E402


def pages(session: Session, now: datetime) -> dict[str, Callable[[], Any]]:
    """Each hot page's engine call, with real ids from the filled database."""
    official = session.scalars(select(User).where(User.username == "anwen")).one()
    deputy = session.scalars(select(User).where(User.username == "fx_wenlv")).one()  # holds fx_gongye's tasks in bench/inbox.py
    project_id = session.scalar(select(Project.id).where(Project.landing_unit_id == official.unit_id).order_by(Project.id.desc()).limit(1))
    return {
        "cockpit figures (county)": lambda: dashboard.figures(session, now.year, now),
        "warning board": lambda: lights.board(session, now),
        "ledger filtered by red light": lambda: queries.ledger(session, queries.LedgerFilter(light="red"), now, lights.LEDGER),
        "inbox of a town official": lambda: queries.inbox(session, official, queries.InboxFilter(), now),
        "inbox badge": lambda: count_ready(session, official),
        "inbox of a deputy, with delegations": lambda: queries.inbox(session, deputy, queries.InboxFilter(), now),
        "quarter's ranking": lambda: rankings.ranking(session, now.year, (now.month - 1) // 3 + 1),
        "stuck cases (admin console)": lambda: console.find_stuck(session, now=now, limit=20),
        "a project's history": lambda: queries.timeline(session, project_id or 0),
    }


def explain(session: Session, statement: str, parameters: Any, postgresql: bool) -> tuple[str, float]:
    """The plan of one recorded statement with its parameters, and the seconds explaining took."""
    cursor = session.connection().connection.driver_connection.cursor()
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgresql else "EXPLAIN QUERY PLAN "
    started = time.perf_counter()
    cursor.execute(prefix + statement, parameters)
    rows = cursor.fetchall()
    seconds = time.perf_counter() - started
    lines = [row[0] for row in rows] if postgresql else [f"{'  ' * (row[1] > 0)}{row[3]}" for row in rows]
    return "\n".join(lines), seconds


def main() -> None:
    """Record each page's statements, explain them, print Markdown."""
    wiring.install()
    parser = argparse.ArgumentParser()
    parser.add_argument("url", help="a filled database")
    args = parser.parse_args()
    db = Database(args.url)
    postgresql = not db.is_sqlite
    recorded: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        recorded.append((statement, parameters))

    now = datetime.now(timezone.utc)
    print(f"# Query plans of the hot pages ({'PostgreSQL' if postgresql else 'SQLite'}, "
          f"{now:%Y-%m-%d}, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)\n")
    with db.session() as session:
        for page, call in pages(session, now).items():
            recorded.clear()
            event.listen(db.engine, "before_cursor_execute", record)
            started = time.perf_counter()
            call()
            seconds = time.perf_counter() - started
            event.remove(db.engine, "before_cursor_execute", record)
            selects = [(sql, params) for sql, params in recorded if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
            print(f"## {page}: {seconds * 1000:.0f} ms, {len(selects)} statements\n")
            for sql, params in selects:
                plan, _ = explain(session, sql, params, postgresql)
                print("```sql\n" + " ".join(sql.split()) + "\n```\n```\n" + plan + "\n```\n")
    db.dispose()


if __name__ == "__main__":
    main()
