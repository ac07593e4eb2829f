"""Re-checks every stored definition version with today's checks, and suspends the running instances of those that fail.

A version stored before a check existed, or written into the database directly, is never
run unchecked: loading it fails, and `zhikong init-db` lists it and parks its instances.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow import definitions
from engine.platform.errors import DefinitionInvalid
from engine.platform.models import Definition, Event, Instance, Task, utcnow

REFUSED_EVENT = "definition_refused"
SUSPENDED_EVENT = "suspend_unchecked"


@dataclass(frozen=True)
class RefusedVersion:
    """A stored version that fails today's checks, why, and how many instances were suspended now."""

    definition_id: int
    process_id: str
    version: int
    reason: str
    suspended: int


def recheck_stored(session: Session) -> list[RefusedVersion]:
    """Build every stored version afresh; record the failures and suspend their running instances, in one transaction."""
    definitions.forget_parsed()
    refused = []
    known = _already_recorded(session)
    for row in session.scalars(select(Definition).order_by(Definition.id)):
        try:
            definitions.build(row.files, row.process_id, row.id)
        except DefinitionInvalid as exc:
            reason = "；".join(f"{p.get('file', '')} {p.get('element', '')}：{p['message']}".strip() for p in exc.problems[:5])
            suspended = _suspend_instances(session, row, reason, exc.problems[0].get("element", ""))
            if row.id not in known:
                session.add(Event(kind=REFUSED_EVENT, at=utcnow(), summary=f"{row.process_id} 第{row.version}版未通过安全检查"[:300],
                                  payload={"definition_id": row.id, "reason": reason}))
            refused.append(RefusedVersion(row.id, row.process_id, row.version, reason, suspended))
    session.flush()
    return refused


def _already_recorded(session: Session) -> set[int]:
    payloads = session.scalars(select(Event.payload).where(Event.kind == REFUSED_EVENT))
    return {int(p["definition_id"]) for p in payloads if isinstance(p, dict) and "definition_id" in p}


def _suspend_instances(session: Session, row: Definition, reason: str, element: str) -> int:
    """Park the unfinished instances of a refused version with the reason; their tasks leave every inbox."""
    instances = list(session.scalars(
        select(Instance).where(Instance.definition_id == row.id, Instance.status.in_(("running", "error")))
    ))
    for instance in instances:
        for task in session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "ready")):
            task.status = "suspended"
        instance.status, instance.updated_at = "suspended", utcnow()
        instance.error = _error(reason, element)
        session.add(Event(kind=SUSPENDED_EVENT, at=utcnow(), instance_id=instance.id, project_id=instance.project_id,
                          bpmn_id=element, summary=f"流程定义未通过安全检查，已挂起：{reason}"[:300], payload={"reason": reason}))
    return len(instances)


def _error(reason: str, element: str) -> dict[str, Any]:
    return {"type": "DefinitionRefused", "message": f"流程定义未通过当前安全检查：{reason}", "bpmn_id": element,
            "element_name": "", "line_number": None, "error_line": None}


def refused_versions(session: Session) -> list[dict[str, Any]]:
    """Versions the last re-checks refused (for the admin console), newest first."""
    rows = session.execute(
        select(Event.payload, Event.at, Definition.process_id, Definition.version)
        .join(Definition, Definition.id == Event.payload["definition_id"].as_integer())
        .where(Event.kind == REFUSED_EVENT)
        .order_by(Event.id.desc())
    )
    return [{"process_id": r.process_id, "version": r.version, "reason": r.payload.get("reason", ""), "at": r.at} for r in rows]
