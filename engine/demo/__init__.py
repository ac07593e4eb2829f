"""The demo county `zhikong demo` loads: its officials, then once its recent past replayed through the engine.

The past holds projects at every stage with their progress notes, 交办单, targets, a finalised
quarter, 会商意见, files, a suspension, a departure and a leave (engine/demo/projects.py and
supervision.py), each on its own date (timeline.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.demo import projects, supervision
from engine.demo.county import DEMO_PASSWORD, ENTERPRISES, UNITS, USERS, load_enterprises, load_org, record_elements
from engine.demo.supervision import DEPARTED
from engine.demo.timeline import Calendar, Replay, sweep
from engine.platform.attachments import FileStore
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.models import Definition, OrgUnit, Project, utcnow
from engine.projects import lifecycle
from engine.supervision import assessment, coordination
from engine.workflow import definitions

__all__ = ["DEMO_PASSWORD", "DEPARTED", "ENTERPRISES", "UNITS", "USERS", "Loaded", "load", "load_enterprises", "load_org",
           "load_projects"]
PROCESSES = (lifecycle.LIFECYCLE, coordination.COORDINATION, assessment.SCORING)


@dataclass(frozen=True)
class Loaded:
    """What one `zhikong demo` did: officials created, processes deployed from bpmn/, projects replayed, the quarter it finalised."""

    org: bool
    deployed: list[str]
    projects: int
    finalised: str


def load(db: Database, store: FileStore) -> Loaded:
    """Load the demo county into a database: the officials, then (into a database without projects) its past, in one transaction."""
    with db.session() as s:
        org = load_org(s)
    with db.session() as s:
        deployed = deploy_missing(s) if is_demo(s) else []
    with db.session() as s:
        count = load_projects(s, store)
    return Loaded(org, deployed, count, Calendar.at(utcnow()).label if count else "")


def is_demo(session: Session) -> bool:
    """Whether the database holds the demo county's organisation (another county's is left as it is)."""
    return session.scalar(select(OrgUnit.id).where(OrgUnit.code == UNITS[0][0])) is not None


def deploy_missing(session: Session) -> list[str]:
    """Deploy from bpmn/ each process the demo runs that the database lacks; the names of those deployed."""
    known = set(session.scalars(select(Definition.process_id).distinct()))
    missing = [process for process in PROCESSES if process not in known]
    if missing:
        files = definitions.read_bundle(PROJECT_ROOT / "bpmn")
        for process in missing:
            definitions.deploy(session, files, process, note="演示县自动部署")
    return missing


def load_projects(session: Session, store: FileStore) -> int:
    """Replay the demo county's past into a demo database without projects (its files into `store`); fill the target-enterprise
    lists once. Returns the projects registered (0 when there were projects already)."""
    if not is_demo(session):
        return 0
    deploy_missing(session)
    coordination.grant_responsible_role(session)  # unit staff answer for their 交办 items (officials added since included)
    if session.scalar(select(func.count(Project.id))):
        load_enterprises(session)
        return 0
    replay = Replay(Calendar.at(utcnow()))
    cast = projects.Cast.read(session, store)
    projects.schedule(replay, cast)
    supervision.schedule(replay, cast)
    replay.run(session)
    record_elements(session)
    load_enterprises(session)
    sweep(session)
    return len(cast.projects)
