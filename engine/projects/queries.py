"""Read models for the officials' pages: inbox, done list, ledger, timeline, holders, signatures, diagram.

Everything here reads the task table, the project table and the event log; nothing loads a
workflow. Each query takes a Session and returns plain dataclasses the web layer renders.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from collections.abc import Callable
from typing import Any, Optional, Protocol

from sqlalchemy import ColumnElement, ColumnExpressionArgument, Index, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.projects import lifecycle
from engine.workflow import definitions, handover
from engine.platform import permissions
from engine.platform.clock import local_time
from engine.platform.errors import NotFound
from engine.platform.messages import N_, Message
from engine.platform.paging import Page, page_number
from engine.platform.models import Definition, Event, Instance, OrgUnit, Project, Task, User, UserRole
from engine.platform.org import Delegated, can_act, count_ready, count_ready_each, delegated_to, ready_tasks_page
from engine.workflow.orphans import Holder
from engine.workflow.parser import parse_xml

BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
LOGGED_TAGS = {"userTask", "businessRuleTask", "endEvent", "startEvent"}


# ---------------------------------------------------------------- inbox


@dataclass(frozen=True)
class InboxFilter:
    """Filters of 我的待办: stage, the project's landing unit, a name search, overdue only, sort order."""

    stage: str = ""
    unit_id: Optional[int] = None
    search: str = ""
    overdue_only: bool = False
    sort: str = "due"


@dataclass
class InboxRow:
    """One pending task as the inbox lists it."""

    task_id: int
    name: str
    stage: str
    created_at: datetime
    due_at: Optional[datetime]
    project_id: int
    project_name: str
    unit_name: str
    is_major: bool
    on_behalf_of: str = ""  # the colleague who delegated the task, when it is not the user's own
    claimed_by: str = ""  # who claimed this group task ("" when nobody has)
    claimed_by_me: bool = False


def _inbox_conditions(flt: InboxFilter, now: datetime) -> list[ColumnElement[bool]]:
    """The inbox filters as conditions on the task table, beside the permission branches of org.ready_tasks_page.

    Project conditions (name, unit) compare a correlated scalar subquery, which neither SQLite
    nor PostgreSQL turns into a join: it is evaluated only for the user's own ready tasks, so
    the plan always starts from the task table's indexes.
    """
    conditions = []
    if flt.stage:
        conditions.append(Task.stage == flt.stage)
    if flt.overdue_only:
        conditions.append(_past_due(now))
    if flt.unit_id:
        conditions.append(_of_task_project(Project.landing_unit_id) == flt.unit_id)
    if flt.search.strip():
        conditions.append(_of_task_project(Project.name).contains(flt.search.strip(), autoescape=True))
    return conditions


@dataclass
class InboxPage(Page[InboxRow]):
    """A page of 我的待办 with the counts shown beside it: the official's overdue tasks and all their ready tasks (the header badge)."""

    overdue: int = 0
    all_ready: int = 0


def inbox(session: Session, user: Any, flt: InboxFilter, now: datetime, page: int = 1, per_page: int = 20,
          delegated: Optional[Delegated] = None) -> InboxPage:
    """我的待办: the tasks `user` may act on (with the delegations they hold: read here unless given), filtered and
    paginated (soonest due first by default), with its counts counted in one statement."""
    conditions = _inbox_conditions(flt, now)
    if delegated is None:
        delegated = delegated_to(session, user, now)
    total, overdue, *unfiltered = count_ready_each(session, user, conditions, [_past_due(now)], *([[]] if conditions else []),
                                              delegated=delegated)
    all_ready = unfiltered[0] if unfiltered else total
    page = page_number(page, per_page, total)
    order = INBOX_ORDERS[flt.sort]
    tasks = session.execute(ready_tasks_page(user, delegated, conditions, INBOX_COLUMNS, order, per_page, (page - 1) * per_page)).all()
    others = {t.assignee_id for t in tasks if t.assignee_id is not None and t.assignee_id != user.id}
    others |= {t.claimed_by for t in tasks if t.claimed_by is not None}
    delegators: dict[int, str] = {}  # the names of delegators and claimants
    if others:
        delegators = {uid: name for uid, name in session.execute(select(User.id, User.display_name).where(User.id.in_(others)))}
    projects = {
        pid: (name, unit, major)
        for pid, name, unit, major in session.execute(
            select(Project.id, Project.name, OrgUnit.name, Project.is_major)
            .join(OrgUnit, OrgUnit.id == Project.landing_unit_id)
            .where(Project.id.in_({t.project_id for t in tasks}))
        )
    }
    rows = [InboxRow(t.id, t.name, t.stage, t.created_at, t.due_at, t.project_id, *projects[t.project_id],
                     on_behalf_of=delegators.get(t.assignee_id, "") if t.assignee_id not in (None, user.id) else "",
                     claimed_by=delegators.get(t.claimed_by, "") if t.claimed_by is not None else "",
                     claimed_by_me=t.claimed_by == user.id) for t in tasks]
    return InboxPage(rows, total, page, per_page, overdue, all_ready)


INBOX_COLUMNS = ("id", "name", "stage", "created_at", "due_at", "project_id", "assignee_id", "claimed_by")


INBOX_ORDERS: dict[str, Callable[[Any], tuple[Any, ...]]] = {  # the inbox's sorts, of a page's columns
    "due": lambda c: (c.due_at.asc().nulls_last(), c.id.desc()),
    "new": lambda c: (c.created_at.desc(), c.id.desc()),
}


def _of_task_project(column: Any) -> Any:
    """A column of the task's project as a correlated scalar subquery."""
    return select(column).where(Project.id == Task.project_id).scalar_subquery()


def _past_due(now: datetime) -> ColumnElement[bool]:
    """due_at < now, written so no planner narrows by due time alone (it would walk every unassigned task)."""
    return func.coalesce(Task.due_at, now) < now


def inbox_count(session: Session, user: Any, delegated: Optional[Delegated] = None) -> int:
    """Number of tasks in the user's inbox (the header badge)."""
    return count_ready(session, user, delegated=delegated)


@dataclass
class DoneRow:
    """One task the user completed, with the opinion they wrote."""

    task_id: int
    name: str
    completed_at: datetime
    project_id: int
    project_name: str
    decision: str
    opinion: str


def done(session: Session, user_id: int, page: int = 1, per_page: int = 20) -> Page[DoneRow]:
    """已办: tasks the user completed, newest first."""
    where = Task.completed_by == user_id
    total = session.scalar(select(func.count()).where(where)) or 0
    page = page_number(page, per_page, total)
    rows = session.execute(
        select(Task.id, Task.name, Task.completed_at, Project.id, Project.name, Task.data)
        .join(Project, Project.id == Task.project_id)
        .where(where)
        .order_by(Task.completed_at.desc(), Task.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    result = []
    for task_id, name, completed_at, project_id, project_name, data in rows:
        data = data or {}
        result.append(
            DoneRow(task_id, name, completed_at, project_id, project_name, str(data.get("decision", "")), _opinion(data))
        )
    return Page(result, total, page, per_page)


def not_ready_reason(session: Session, task: Task) -> str:
    """Why a task can no longer be submitted (its page answers 409): who completed it and when in county time,
    or that its process moved on."""
    if task.status == "completed" and task.completed_at is not None:
        who = session.get(User, task.completed_by) if task.completed_by else None
        at = task.completed_at if task.completed_at.tzinfo else task.completed_at.replace(tzinfo=timezone.utc)
        return Message(N_("任务“%(task)s”已由%(name)s于%(at)s办理完毕"), task=task.name,
                       name=who.display_name if who else Message(N_("他人")), at=f"{local_time(at):%Y-%m-%d %H:%M}")
    if task.status == "suspended":
        return suspension_notice(session, task)
    return Message(N_("任务“%(task)s”已不在待办状态（流程已变化）"), task=task.name)


def suspension_notice(session: Session, task: Task) -> str:
    """Why a task of a suspended process waits: who suspended it, when in county time and for what reason (its last suspension)."""
    row = session.execute(
        select(Event.at, Event.payload, User.display_name).outerjoin(User, User.id == Event.actor_id)
        .where(Event.instance_id == task.instance_id, Event.kind == "admin_suspend").order_by(Event.id.desc()).limit(1)
    ).first()
    if row is None:
        return Message(N_("任务“%(task)s”所在流程已被管理员挂起，暂不能办理"), task=task.name)
    at, payload, who = row
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    reason = str((payload or {}).get("reason") or "") or Message(N_("未说明"))
    return Message(N_("任务“%(task)s”所在流程已于%(at)s由%(who)s挂起，原因：%(reason)s。流程恢复后方可办理"), task=task.name,
                   at=f"{local_time(at):%Y-%m-%d %H:%M}", who=who or Message(N_("管理员")), reason=reason)


def _opinion(data: dict[str, Any]) -> str:
    """The text a signer wrote: the opinion, else the reason or the summary."""
    return str(data.get("opinion") or data.get("reason") or data.get("summary") or "")


# ---------------------------------------------------------------- ledger


@dataclass(frozen=True)
class LedgerFilter:
    """Filters of 项目台账; `visible_unit_id` limits a town or zone to its own projects."""

    stage: str = ""
    unit_id: Optional[int] = None
    category: str = ""
    manufacturing_7yi: bool = False
    industrial_3yi: bool = False
    major: bool = False
    light: str = ""
    search: str = ""
    visible_unit_id: Optional[int] = None


@dataclass
class LedgerRow:
    """One project as the ledger lists it."""

    id: int
    name: str
    investor: str
    category: str
    total_investment: Decimal
    needs_land: bool
    land_mu: Decimal
    stage: str
    status: str
    tier: str
    is_major: bool
    is_7yi: bool
    is_3yi: bool
    landing_unit: str
    attracting_unit: str
    deputy: str
    registered_at: datetime
    light: str = ""


def _ledger_conditions(session: Session, flt: LedgerFilter, now: datetime, lights: LightSource) -> list[ColumnExpressionArgument[bool]]:
    """WHERE conditions of every ledger filter but the stage (the light filter asks the light source)."""
    conditions: list[ColumnExpressionArgument[bool]] = []
    if flt.visible_unit_id:
        conditions.append(Project.of_units([flt.visible_unit_id]))
    if flt.unit_id:
        conditions.append(Project.of_units([flt.unit_id]))
    if flt.category:
        conditions.append(Project.category == flt.category)
    if flt.manufacturing_7yi:
        conditions.append(Project.is_7yi_manufacturing)
    if flt.industrial_3yi:
        conditions.append(Project.is_3yi_industrial)
    if flt.major:
        conditions.append(Project.is_major.is_(True))
    if flt.light:
        conditions += lights.matching(now, flt.light)
    text = flt.search.strip()
    if text:
        conditions.append(or_(Project.name.contains(text, autoescape=True), Project.investor.contains(text, autoescape=True)))
    return conditions


class LightSource(Protocol):
    """Where the ledger's warning lights come from (supervision's lights: each project's stored stamps)."""

    def matching(self, now: datetime, light: str) -> list[ColumnElement[bool]]:
        """Conditions on Project that keep the projects showing `light`."""

    def lights_of(self, session: Session, project_ids: list[int], now: datetime) -> dict[int, str]:
        """The light of each given project."""


@dataclass
class Ledger:
    """A page of the ledger and the number of projects per stage under the same filters (stage aside)."""

    page: Page[LedgerRow]
    stage_counts: dict[str, int]


def ledger(session: Session, flt: LedgerFilter, now: datetime, lights: LightSource, page: int = 1, per_page: int = 20) -> Ledger:
    """项目台账: projects matching the filters, newest registered first, each with its warning light from `lights`."""
    conditions = _ledger_conditions(session, flt, now, lights)
    counts = {
        stage: count
        for stage, count in session.execute(
            select(Project.stage, func.count()).where(*conditions).group_by(Project.stage)
        )
    }
    if flt.stage:
        conditions.append(Project.stage == flt.stage)
    total = counts.get(flt.stage, 0) if flt.stage else sum(counts.values())
    page = page_number(page, per_page, total)
    landing, attracting = aliased(OrgUnit), aliased(OrgUnit)
    rows = session.execute(
        select(
            Project.id,
            Project.name,
            Project.investor,
            Project.category,
            Project.total_investment,
            Project.needs_land,
            Project.land_mu,
            Project.stage,
            Project.status,
            Project.tier,
            Project.is_major,
            Project.is_7yi_manufacturing,
            Project.is_3yi_industrial,
            landing.name,
            attracting.name,
            User.display_name,
            Project.registered_at,
        )
        .join(landing, landing.id == Project.landing_unit_id)
        .join(attracting, attracting.id == Project.attracting_unit_id)
        .join(User, User.id == Project.deputy_id)
        .where(*conditions)
        .order_by(Project.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    result = [
        LedgerRow(pid, name, investor, category, total, needs_land, land_mu, stage, status, tier, is_major, bool(is_7yi),
                  bool(is_3yi), landing_name, attracting_name, deputy, registered_at)
        for (pid, name, investor, category, total, needs_land, land_mu, stage, status, tier, is_major, is_7yi, is_3yi,
             landing_name, attracting_name, deputy, registered_at) in rows
    ]
    found = lights.lights_of(session, [r.id for r in result if r.status == "active"], now)
    for row in result:
        row.light = found.get(row.id, "")
    return Ledger(Page(result, total, page, per_page), counts)


def can_view_project(user: permissions.Official, project: Project) -> bool:
    """County-level roles see every project; a town or zone sees those it attracted or lands."""
    if permissions.allowed(user, "ledger.view_county"):
        return True
    return user.unit_id in (project.landing_unit_id, project.attracting_unit_id)


def visible_unit_for(user: permissions.Official) -> Optional[int]:
    """The unit a user's ledger is limited to, or None for county-wide viewers."""
    return None if permissions.allowed(user, "ledger.view_county") else user.unit_id


# ---------------------------------------------------------------- project page


@dataclass
class TimelineEntry:
    """One event of a project's history: who did what, when; for a completed step its name and conclusion."""

    at: datetime
    kind: str
    actor: str
    actor_title: str
    bpmn_id: str
    summary: str
    step: str
    decision: str
    decision_label: str
    opinion: str
    on_behalf_of: str = ""  # the colleague who delegated the step, when the actor completed it for them


def timeline(session: Session, project_id: int) -> list[TimelineEntry]:
    """The project's history from the event log, oldest first."""
    rows = session.execute(
        select(Event.at, Event.kind, User.display_name, User.title, Event.bpmn_id, Event.summary, Event.payload, Instance.definition_id)
        .outerjoin(User, User.id == Event.actor_id)
        .outerjoin(Instance, Instance.id == Event.instance_id)
        .where(Event.project_id == project_id)
        .order_by(Event.at, Event.id)
    ).all()
    principals = {p["on_behalf_of"] for *_, p, _d in rows if isinstance(p, dict) and isinstance(p.get("on_behalf_of"), int)}
    names: dict[int, str] = {}
    if principals:
        names = {uid: name for uid, name in session.execute(select(User.id, User.display_name).where(User.id.in_(principals)))}
    entries = []
    for at, kind, actor, title, bpmn_id, summary, payload, definition_id in rows:
        data = (payload or {}).get("data") or {}
        step, label = "", ""
        if kind in ("complete", "meeting") and definition_id is not None:
            loaded = definitions.load(session, definition_id)
            meta = loaded.user_tasks.get(bpmn_id)
            if meta is not None:
                step = meta.name
                label = choice_label(loaded.forms.get(meta.form, {}), "decision", data.get("decision"))
        entries.append(
            TimelineEntry(
                at, kind, actor or "", title or "", bpmn_id, summary, step, str(data.get("decision", "")), label, _opinion(data) if data else "",
                names.get((payload or {}).get("on_behalf_of") or 0, ""),
            )
        )
    return entries


@dataclass
class Holding:
    """A ready task of a project and the officials who can act on it."""

    task_id: int
    name: str
    due_at: Optional[datetime]
    holders: list[str]


def current_tasks(session: Session, project_id: int) -> list[Holding]:
    """The project's ready tasks with the names and titles of the officials who hold them."""
    tasks = list(session.scalars(select(Task).where(Task.project_id == project_id, Task.status == "ready").order_by(Task.id)))
    if not tasks:
        return []
    roles = {t.role for t in tasks}
    assignees = {t.assignee_id for t in tasks if t.assignee_id}
    found: dict[int, Holder] = {}
    rows = session.execute(
        select(User.id, User.unit_id, User.display_name, User.title, UserRole.role)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), or_(User.id.in_(assignees), UserRole.role.in_(roles)))
        .order_by(User.id)
    )
    for user_id, unit_id, name, title, role in rows:
        candidate = found.setdefault(user_id, Holder(user_id, unit_id, name, title=title or ""))
        if role is not None:
            candidate.roles.add(role)
    candidates = list(found.values())
    holdings = []
    for t in tasks:
        names = [f"{u.display_name}（{u.title}）" for u in candidates if can_act(u, t)]
        claimant = next((u for u in candidates if u.id == t.claimed_by and can_act(u, t)), None) if t.claimed_by else None
        if claimant is not None:  # a claimed group task: the colleague who is on it
            names = [f"{claimant.display_name}（{claimant.title}，已认领）"]
        if t.assignee_id is not None:  # a personal task: its delegates in force too (a project has a few ready tasks)
            names += [f"{d.delegate}（受{d.delegator}委托）" for d in handover.of_task(session, t)]
        holdings.append(Holding(t.id, t.name, t.due_at, names))
    return holdings


@dataclass
class Signature:
    """One signer's entry on the approval form: step, person, time, conclusion and opinion."""

    task_id: int
    step: str
    bpmn_id: str
    signer: str
    signer_title: str
    unit: str
    signed_at: datetime
    decision: str
    decision_label: str
    opinion: str
    data: dict[str, Any] = field(default_factory=dict)


def signatures(session: Session, project_id: int) -> list[Signature]:
    """Every completed step of the project with its signer and opinion, in order (the 审批表 opinions)."""
    rows = session.execute(
        select(Task, User.display_name, User.title, OrgUnit.name, Instance.definition_id)
        .join(User, User.id == Task.completed_by)
        .join(OrgUnit, OrgUnit.id == User.unit_id)
        .join(Instance, Instance.id == Task.instance_id)
        .where(Task.project_id == project_id, Task.status == "completed", Instance.process_id == lifecycle.LIFECYCLE)
        .order_by(Task.completed_at, Task.id)
    ).all()
    result = []
    for task, name, title, unit, definition_id in rows:
        assert task.completed_at is not None  # a completed task
        data = task.data or {}
        schema = definitions.load(session, definition_id).forms.get(task.form, {})
        decision, label = str(data.get("decision", "")), choice_label(schema, "decision", data.get("decision"))
        if "has_intent" in data and not decision:
            decision, label = ("has_intent", "有投资意向") if data["has_intent"] else ("no_intent", "无投资意向")
        result.append(
            Signature(task.id, task.name, task.bpmn_id, name, title, unit, task.completed_at, decision, label, _opinion(data), data)
        )
    return result


def choice_label(schema: dict[str, Any], field_name: str, value: Any) -> str:
    """The Chinese title of an enumerated form value (as the form offered it)."""
    prop = schema.get("properties", {}).get(field_name, {})
    for choice in prop.get("oneOf", []):
        if choice.get("const") == value:
            return str(choice.get("title", value))
    return "" if value is None else str(value)


# ---------------------------------------------------------------- diagram


@dataclass(frozen=True)
class FlowGraph:
    """Sequence flows of a process: node kinds and outgoing (flow id, target) per node."""

    kinds: dict[str, str]
    outgoing: dict[str, list[tuple[str, str]]]
    starts: list[str]


_graphs: dict[str, tuple[str, FlowGraph]] = {}
_graphs_lock = threading.Lock()


def _process_xml(files: dict[str, str], process_id: str) -> str:
    """The BPMN file of a bundle that defines the process."""
    for name, text in files.items():
        if name.endswith(".bpmn") and f'id="{process_id}"' in text:
            return text
    raise NotFound(f"定义中没有流程 {process_id} 的 BPMN 文件")


def _graph(session: Session, definition_id: int, content_hash: str) -> tuple[str, FlowGraph]:
    """BPMN XML and flow graph of a definition, parsed once per process and keyed by content hash."""
    cached = _graphs.get(content_hash)
    if cached is not None:
        return cached
    row = session.get(Definition, definition_id)
    if row is None:
        raise NotFound(f"流程定义 {definition_id} 不存在")
    xml = _process_xml(row.files, row.process_id)
    root = parse_xml(xml, "diagram")
    process = next(p for p in root.iter(f"{BPMN_NS}process") if p.get("id") == row.process_id)
    kinds: dict[str, str] = {}
    outgoing: dict[str, list[tuple[str, str]]] = {}
    for element in process.iter():
        element_id = element.get("id")
        if not isinstance(element.tag, str) or not element.tag.startswith(BPMN_NS) or not element_id:
            continue
        tag = element.tag[len(BPMN_NS):]
        if tag == "sequenceFlow":
            outgoing.setdefault(element.get("sourceRef", ""), []).append((element_id, element.get("targetRef", "")))
        else:
            kinds[element_id] = tag
    starts = [node for node, kind in kinds.items() if kind == "startEvent"]
    with _graphs_lock:
        _graphs[content_hash] = (xml, FlowGraph(kinds, outgoing, starts))
    return _graphs[content_hash]


def _path(graph: FlowGraph, source: str, target: str) -> Optional[list[tuple[str, str]]]:
    """Shortest chain of (flow, node) from source to target passing only through unlogged nodes (gateways …)."""
    queue: deque[tuple[str, list[tuple[str, str]]]] = deque([(source, [])])
    seen = {source}
    while queue:
        node, path = queue.popleft()
        for flow_id, nxt in graph.outgoing.get(node, []):
            step = path + [(flow_id, nxt)]
            if nxt == target:
                return step
            if nxt not in seen and graph.kinds.get(nxt) not in LOGGED_TAGS:
                seen.add(nxt)
                queue.append((nxt, step))
    return None


@dataclass
class DiagramData:
    """What the viewer draws: the XML of the instance's version, done and current element ids."""

    xml: str
    definition_version: int
    current: list[str]
    completed: list[str]
    flows: list[str]


def lifecycle_instance(session: Session, project_id: int) -> Instance:
    """The project's lifecycle instance (a project may also run coordination processes)."""
    instance = session.scalars(
        select(Instance)
        .where(Instance.project_id == project_id, Instance.process_id == lifecycle.LIFECYCLE)
        .order_by(Instance.id)
        .limit(1)
    ).first()
    if instance is None:
        raise NotFound(f"项目 {project_id} 没有流程实例")
    return instance


def diagram(session: Session, project_id: int) -> DiagramData:
    """Diagram of a project's lifecycle with the path taken, from the task table and event log only."""
    instance = lifecycle_instance(session, project_id)
    version, content_hash = session.execute(
        select(Definition.version, Definition.content_hash).where(Definition.id == instance.definition_id)
    ).one()
    xml, graph = _graph(session, instance.definition_id, content_hash)
    visits = [
        bpmn_id
        for bpmn_id in session.scalars(
            select(Event.bpmn_id)
            .where(Event.instance_id == instance.id, Event.kind.in_(("complete", "decision", "end")))
            .order_by(Event.id)
        )
        if bpmn_id in graph.kinds
    ]
    current = list(
        session.scalars(select(Task.bpmn_id).where(Task.instance_id == instance.id, Task.status == "ready").order_by(Task.id))
    )
    sequence = graph.starts[:1] + visits
    completed: list[str] = list(sequence)
    flows: list[str] = []
    for index, node in enumerate(sequence[1:] + current, start=1):
        for previous in reversed(sequence[:index]):
            path = _path(graph, previous, node)
            if path is not None:
                flows += [flow for flow, _ in path]
                completed += [n for _, n in path[:-1]]
                break
    return DiagramData(xml, version, current, sorted(set(completed) - set(current)), sorted(set(flows)))



# Indexes of the ledger (migration 0002): the unit filter matches the attracting unit as well as the
# landing unit; the per-stage counts read covering indexes only — SQLite skip-scans the wide
# stage-first one, PostgreSQL ranges over the category or manufacturing ones.
Index("ix_project_attracting_unit_id", Project.attracting_unit_id)
Index("ix_project_category_total", Project.category, Project.total_investment, Project.stage)
Index("ix_project_manufacturing_total", Project.is_manufacturing, Project.total_investment, Project.stage)
Index(
    "ix_project_ledger",
    Project.stage,
    Project.category,
    Project.is_manufacturing,
    Project.total_investment,
    Project.is_major,
    Project.landing_unit_id,
    Project.attracting_unit_id,
)
