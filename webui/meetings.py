"""Meetings: open a 研判小组/领导小组/县长办公会议/县委常委会 sitting, decide its agenda in one submission,
print the minutes (会议纪要)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from engine.projects import meetings, queries
from engine.workflow import runtime
from engine.platform.errors import EngineError, InvalidInput
from engine.platform.models import Project, Task, User
from engine.platform.org import can_act

from . import metrics
from .guard import requires
from .auth import official
from .i18n import translated
from engine.platform.clock import zone
from .services import db

bp = Blueprint("meetings", __name__)
NAV = [(40, "会议研判", "meetings.index", "meeting.convene")]


def _visible_kinds(session: Session, user: User) -> list[meetings.MeetingKind]:
    """The meeting kinds this official convenes or sits as secretary of."""
    return [kind for kind in meetings.kinds(session).values() if meetings.may_convene(user, kind)]


@bp.route("/meetings")
@requires("meetings.view")
def index() -> ResponseReturnValue:
    """Each meeting kind with the number of projects waiting, its open sitting, and past meetings."""
    with db().session() as s:
        me = official(s)
        kinds = _visible_kinds(s, me)
        rows = [(kind, meetings.waiting_count(s, kind.key), meetings.open_meetings(s, kind.key)) for kind in kinds]
        history = [(m, meetings.title(m), len(meetings.agenda(s, m.id))) for m in meetings.recent(s)]
    return render_template("meetings/index.html", rows=rows, history=history)


def _choose_kind(session: Session) -> ResponseReturnValue:
    """Which meeting to convene, when the link named none: the kinds this official convenes, with the projects waiting."""
    me = official(session)
    kinds = [kind for kind in meetings.kinds(session).values() if meetings.may_convene(me, kind)]
    if len(kinds) == 1:
        return redirect(url_for("meetings.open_meeting", kind=kinds[0].key))
    rows = [(kind, meetings.waiting_count(session, kind.key)) for kind in kinds]
    return render_template("meetings/choose.html", rows=rows)


@bp.route("/meetings/new", methods=["GET", "POST"])
@requires("meeting.convene")
def open_meeting() -> ResponseReturnValue:
    """Open a sitting: date, host, place, attendees; the agenda is every project waiting at that step."""
    kind_key = request.values.get("kind", "")
    with db().session() as s:
        kind = meetings.kinds(s).get(kind_key)
        if not kind_key and request.method == "GET":
            return _choose_kind(s)
        if kind is None:
            abort(404)
        if not meetings.may_convene(official(s), kind):
            abort(403)
        waiting = meetings.waiting_names(s, kind.key)
    if request.method == "GET":
        values = {"held_on": datetime.now(zone()).date().isoformat()}
        return render_template("meetings/new.html", kind=kind, waiting=waiting, values=values, errors={})
    try:
        with db().session() as s:
            meeting = meetings.open_meeting(s, kind.key, request.form.to_dict(), official(s))
            meeting_id = meeting.id
    except InvalidInput as exc:
        return render_template("meetings/new.html", kind=kind, waiting=waiting, values=request.form, errors=exc.errors), 422
    except EngineError as exc:
        flash(translated(exc.message), "error")
        abort(exc.status)
    flash(_("会议已召开，议程共 %(n)s 个项目", n=len(waiting)), "success")
    return redirect(url_for("meetings.meeting_page", meeting_id=meeting_id), 303)


def _items(session: Session, meeting: meetings.Meeting, me: User) -> list[dict[str, Any]]:
    """Agenda rows: the item, its task and project, the form schema, and whether `me` may decide it."""
    rows = []
    for item in meetings.agenda(session, meeting.id):
        task = session.get(Task, item.task_id)
        project = session.get(Project, item.project_id)
        assert task is not None and project is not None
        schema = runtime.form_schema(session, task)
        rows.append(
            dict(
                item=item,
                task=task,
                project=project,
                unit=project.landing_unit.name,
                schema=schema,
                decision_label=_decision_label(schema, item.decision),
                decidable=meeting.status == "open" and task.status == "ready" and can_act(me, task),
            )
        )
    return rows


def _decision_label(schema: dict[str, Any], decision: str) -> str:
    """Translated label of a recorded decision, including deferral and handled-elsewhere."""
    if decision == meetings.DEFERRED:
        return _("暂缓审议")
    if decision == meetings.HANDLED_ELSEWHERE:
        return _("已在会外办理")
    return queries.choice_label(schema, "decision", decision) if decision else ""


def _submitted(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Form data per agenda item from fields named item-<id>-<field>."""
    result: dict[int, dict[str, Any]] = {}
    for row in rows:
        prefix = f"item-{row['item'].id}-"
        result[row["item"].id] = {k[len(prefix):]: v for k, v in request.form.items() if k.startswith(prefix)}
    return result


@bp.route("/meetings/<int:meeting_id>", methods=["GET", "POST"])
@requires("meetings.view")
def meeting_page(meeting_id: int) -> ResponseReturnValue:
    """The agenda with a decision per project; one submission records them all in one transaction."""
    with db().session() as s:
        meeting = s.get(meetings.Meeting, meeting_id)
        if meeting is None:
            abort(404)
        me = official(s)
        rows = _items(s, meeting, me)
        title = meetings.title(meeting)
    context = dict(meeting=meeting, title=title, rows=rows, can_decide=any(r["decidable"] for r in rows))
    if request.method == "GET":
        return render_template("meetings/meeting.html", values={}, errors={}, **context)
    if not context["can_decide"]:
        abort(403)
    try:
        with db().session() as s:
            decided = meetings.record_decisions(s, meeting_id, official(s), _submitted(rows),
                                                all_deferred_confirmed=request.form.get(meetings.ALL_DEFERRED) == "1")
    except InvalidInput as exc:
        return render_template("meetings/meeting.html", values=request.form, errors=exc.errors, **context), 422
    except EngineError as exc:
        flash(translated(exc.message), "error")
        return redirect(url_for("meetings.meeting_page", meeting_id=meeting_id), 303)
    metrics.completed(decided)
    flash(_("已记录 %(n)s 个项目的会议结果，会议纪要已生成", n=decided), "success")
    return redirect(url_for("meetings.minutes", meeting_id=meeting_id), 303)


@bp.route("/meetings/<int:meeting_id>/minutes")
@requires("meetings.view")
def minutes(meeting_id: int) -> ResponseReturnValue:
    """Printable 会议纪要: date, host, attendees and every project's decision and opinion."""
    with db().session() as s:
        meeting = s.get(meetings.Meeting, meeting_id)
        if meeting is None:
            abort(404)
        rows = _items(s, meeting, official(s))
        title = meetings.title(meeting)
        closer = s.get(User, meeting.closed_by) if meeting.closed_by else None
    return render_template("meetings/minutes.html", meeting=meeting, title=title, rows=rows, closer=closer)
