"""The dashboard's light counts by unit, counted by the database, agree with the per-project lights on both backends."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from engine.platform.models import Project, Task, utcnow
from engine.supervision import lights
from tests.conftest import Helper


def test_counts_by_unit_match_the_lights_of_every_project(h: Helper) -> None:
    now = utcnow()
    cases = [  # (task created, task due, last progress) relative to now, in days; None leaves it as registered
        (-10, 5, None),    # not yet due, fresh progress: green
        (-10, -1, None),   # overdue by less than its length: yellow
        (-10, -6, None),   # overdue by more than its length: red
        (-3, 2, -35),      # stale progress only (yellow after the default 30 days)
        (-3, 2, -50),      # stale progress past the red threshold (45 days)
        (-10, -1, -50),    # yellow task, red progress: red wins
    ]
    for n, (created, due, progress) in enumerate(cases):
        pid = h.register(name=f"灯号项目{n}", by="anwen" if n % 2 else "xinwo")
        with h.db.session() as s:
            for task in s.scalars(select(Task).where(Task.project_id == pid, Task.status == "ready")):
                task.created_at, task.due_at = now + timedelta(days=created), now + timedelta(days=due)
            s.get_one(Project, pid).last_progress_at = now + timedelta(days=progress if progress is not None else -1)
    with h.db.session() as s:
        expected: dict[int, Counter[str]] = {}
        for item in lights.project_lights(s, now).values():
            expected.setdefault(item.unit_id, Counter())[item.light] += 1
        counted = lights.counts_by_unit(s, now)
        anwen = lights.counts_by_unit(s, now, {h.unit("anwen")})
    assert counted == expected
    assert sum(c["red"] for c in counted.values()) == 3 and sum(c["yellow"] for c in counted.values()) == 2
    assert set(anwen) <= {h.unit("anwen")} and anwen[h.unit("anwen")] == expected[h.unit("anwen")]
