"""Wires the domain packages to the workflow core and to each other, once per process, before any work runs.

The core and the project record never import the packages that build on them; they are told
here instead: the project record as the core's subject, each process's hooks, the elements
office's fund cap for the record's checks, and the orphan check, the light stamps and the data revisions as steps of every unit of work.
"""
from __future__ import annotations

from engine.elements import common
from engine.platform import db, revisions
from engine.projects import lifecycle, record
from engine.supervision import assessment, coordination, stamps
from engine.workflow import orphans


def install() -> None:
    """Register every hook (idempotent: a second call registers the same again)."""
    lifecycle.install()
    coordination.install()
    record.use_fund_cap(common.fund_project_cap)
    db.STEPS.add(before_flush=orphans.note_changes, written=orphans.note_written, before_commit=orphans.check)
    db.STEPS.add(before_flush=stamps.note_changes, written=stamps.note_written, before_commit=stamps.restamp_noted)
    revisions.watch(assessment.RANKING_INPUTS)
    db.STEPS.add(before_flush=revisions.note_changes, written=revisions.note_written, before_commit=revisions.move_noted)
