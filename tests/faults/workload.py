"""The work the fault tests hand out: projects registered through the lifecycle, so each town official has ready intent tasks."""
from __future__ import annotations

from tests.conftest import Helper

TOWNS = ("anwen", "xinwo", "jianshan", "yushan")


def ready_intents(h: Helper, per_official: int, officials: tuple[str, ...] = TOWNS) -> list[tuple[str, list[int]]]:
    """Register `per_official` projects landing at each official's town; each official with the ids of its ready intent tasks."""
    work = []
    for username in officials:
        ids = [h.register(by=username, name=f"{username}项目{i}") for i in range(per_official)]
        work.append((username, [h.only_ready(project_id).id for project_id in ids]))
    return work
