"""Definition versions for process owners: drafts, the version list, diffs, deploys and roll backs."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Iterable, Optional

from lxml import etree
from sqlalchemy import JSON, DateTime, ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.workflow import definitions
from engine.platform import inputs, permissions
from engine.platform.errors import DefinitionInvalid, InvalidInput, NotFound
from engine.platform.messages import N_
from engine.platform.models import Base, Definition, Event, Instance, User, utcnow
from engine.workflow.parser import XmlRefused, parse_xml, parsed_files
from engine.workflow.validation import BPMN_NS, CASES_SUFFIX, SPIFF_NS

UNFINISHED = ("running", "error", "suspended")
ROLLBACK_REASON_LIMIT = 150  # the reason goes into the version's 200-character note after “回滚到第N版：”
EDITABLE_SUFFIXES = (".bpmn", ".dmn")
DMN_LOCAL = "decision"
FLOW_NODE_TYPES = {
    "userTask": "用户任务",
    "task": "任务",
    "manualTask": "人工任务",
    "scriptTask": "脚本任务",
    "serviceTask": "服务任务",
    "businessRuleTask": "业务规则任务",
    "sendTask": "发送任务",
    "receiveTask": "接收任务",
    "callActivity": "调用活动",
    "subProcess": "子流程",
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件",
    "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关",
    "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关",
}
PROPERTY_LABELS = {"dueIn": "办理时限", "formJsonSchemaFilename": "表单", "stage": "阶段", "meeting": "会议"}


class DefinitionDraft(Base):
    """The working copy of a process's files that process owners save from the modeler before deploying."""

    __tablename__ = "definition_draft"
    __table_args__ = (UniqueConstraint("process_id", name="uq_definition_draft_process_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(80))
    base_definition_id: Mapped[Optional[int]] = mapped_column(ForeignKey("definition.id"))
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass
class VersionInfo:
    """One deployed version as the definitions page shows it."""

    id: int
    process_id: str
    version: int
    content_hash: str
    deployed_at: datetime
    deployed_by: str
    note: str
    running: int
    latest: bool


def version_list(session: Session) -> dict[str, list[VersionInfo]]:
    """Every process with its versions, newest first, and how many unfinished instances each runs."""
    counts = dict(
        session.execute(
            select(Instance.definition_id, func.count()).where(Instance.status.in_(UNFINISHED)).group_by(Instance.definition_id)
        ).all()
    )
    names = dict(session.execute(select(User.id, User.display_name)).all())
    rows = session.scalars(select(Definition).order_by(Definition.process_id, Definition.version.desc())).all()
    result: dict[str, list[VersionInfo]] = {}
    for row in rows:
        versions = result.setdefault(row.process_id, [])
        versions.append(
            VersionInfo(
                row.id,
                row.process_id,
                row.version,
                row.content_hash,
                row.deployed_at,
                names.get(row.deployed_by, "命令行部署") if row.deployed_by else "命令行部署",
                row.note,
                counts.get(row.id, 0),
                not versions,
            )
        )
    return result


def version(session: Session, process_id: str, number: int) -> Definition:
    """One deployed version of a process."""
    row = session.scalars(select(Definition).where(Definition.process_id == process_id, Definition.version == number)).first()
    if row is None:
        raise NotFound(f"流程 {process_id} 没有第{number}版")
    return row


def draft_of(session: Session, process_id: str) -> Optional[DefinitionDraft]:
    """The saved draft of a process, if any."""
    return session.scalars(select(DefinitionDraft).where(DefinitionDraft.process_id == process_id)).first()


def working_files(session: Session, process_id: str) -> tuple[dict[str, str], Optional[DefinitionDraft], Definition]:
    """The files the modeler edits: the draft when one is saved, else the newest version."""
    latest = definitions.latest(session, process_id)
    draft = draft_of(session, process_id)
    return (dict(draft.files) if draft else dict(latest.files)), draft, latest


def merge_changes(files: dict[str, str], changed: dict[str, str]) -> dict[str, str]:
    """The bundle with edited .bpmn/.dmn/.cases.json files put in; unsafe or malformed files are refused."""
    merged = dict(files)
    problems = []
    for name, text in changed.items():
        if not isinstance(text, str) or not editable_name(name):
            problems.append({"file": str(name), "element": "", "message": "只能保存 .bpmn、.dmn 或决策用例 .cases.json 文件，文件名不能包含目录"})
            continue
        try:
            if name.endswith(CASES_SUFFIX):
                json.loads(text)
            else:
                parse_xml(text, name)
        except XmlRefused as exc:
            problems.append({"file": name, "element": "", "message": str(exc).removeprefix(f"{name}: ")})
            continue
        except json.JSONDecodeError as exc:
            problems.append({"file": name, "element": "", "message": f"JSON 格式错误（第{exc.lineno}行）：{exc.msg}"})
            continue
        merged[name] = text
    if problems:
        raise DefinitionInvalid(problems)
    return merged


def save_draft(session: Session, process_id: str, changed: dict[str, str], actor: User) -> DefinitionDraft:
    """Merge edited or uploaded files into the process's draft; unsafe XML is refused and nothing saved."""
    permissions.require(actor, "definitions.manage", N_("只有流程管理员可以修改、部署或回滚流程定义"))
    files, draft, latest = working_files(session, process_id)
    files = merge_changes(files, changed)
    if draft is None:
        draft = DefinitionDraft(process_id=process_id, base_definition_id=latest.id, files=files)
        session.add(draft)
    draft.files, draft.saved_by, draft.saved_at = files, actor.id, utcnow()
    session.flush()
    return draft


def editable_name(name: str) -> bool:
    """Whether the modeler may save a file of this name (.bpmn, .dmn or .cases.json, no directories)."""
    return (
        name.endswith(EDITABLE_SUFFIXES + (CASES_SUFFIX,))
        and PurePosixPath(name).name == name
        and not name.startswith(".")
        and len(name) <= 120
    )


def discard_draft(session: Session, process_id: str) -> None:
    """Drop the saved draft so the modeler opens the newest version again."""
    draft = draft_of(session, process_id)
    if draft is not None:
        session.delete(draft)


def upload_name(files: dict[str, str], filename: str, content: str, process_id: str) -> str:
    """Which bundle file an uploaded .bpmn/.dmn replaces: same name, same process, same decision, else its own name."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    if not name.endswith(EDITABLE_SUFFIXES):
        raise DefinitionInvalid([{"file": name, "element": "", "message": "只能上传 .bpmn 或 .dmn 文件"}])
    name = re.sub(r"[^\w.\-]", "_", name)
    try:
        root = parse_xml(content, name)
    except XmlRefused as exc:
        raise DefinitionInvalid([{"file": name, "element": "", "message": str(exc).removeprefix(f"{name}: ")}]) from exc
    if name in files:
        return name
    ids = _top_ids(root)
    suffix = PurePosixPath(name).suffix
    for existing, _text, other in parsed_files(files, suffix):
        if ids & _top_ids(other) & ({process_id} | _decision_ids(root)):
            return existing
    return name


def main_file(files: dict[str, str], process_id: str) -> Optional[str]:
    """The .bpmn (or, for a standalone decision, .dmn) file that defines `process_id`."""
    for name, _text, root in parsed_files(files, EDITABLE_SUFFIXES):
        if process_id in _top_ids(root):
            return name
    return None


def _top_ids(root: etree._Element) -> set[str]:
    return {e.get("id", "") for e in root if etree.QName(e).localname in ("process", DMN_LOCAL)}


def _decision_ids(root: etree._Element) -> set[str]:
    return {e.get("id", "") for e in root if etree.QName(e).localname == DMN_LOCAL}


def deploy_working(
    session: Session, process_id: str, actor: User, changed: Optional[dict[str, str]] = None, note: str = ""
) -> tuple[Definition, bool]:
    """Validate and deploy the working files (plus `changed`) as a new version; the draft is consumed."""
    permissions.require(actor, "definitions.manage", N_("只有流程管理员可以修改、部署或回滚流程定义"))
    files, draft, _latest = working_files(session, process_id)
    files = merge_changes(files, changed or {})
    row, created = definitions.deploy(session, files, process_id, deployed_by=actor.id, note=note or "在线建模部署")
    if draft is not None:
        session.delete(draft)
    return row, created


_NAMES: dict[int, str] = {}  # definition id → its process's or decision's name (a deployed version never changes)


def definition_name(definition: Definition) -> str:
    """The name the process owner gave the definition's process or decision (“项目全生命周期”), else its id."""
    if definition.id not in _NAMES:
        found = ""
        for _name, _text, root in parsed_files(definition.files, EDITABLE_SUFFIXES):
            for element in root.iter(f"{{{BPMN_NS}}}process", "{*}decision"):
                if element.get("id") == definition.process_id and element.get("name"):
                    found = element.get("name", "")
        _NAMES[definition.id] = found or definition.process_id
    return _NAMES[definition.id]


def process_names(session: Session, process_ids: Iterable[str]) -> dict[str, str]:
    """Each process's name as its newest version gives it."""
    return {process_id: definition_name(definitions.latest(session, process_id)) for process_id in process_ids}


def rollback(session: Session, process_id: str, number: int, actor: User, reason: str) -> Definition:
    """Redeploy an earlier version's files as the newest version (validated like any deploy), for a reason that is logged."""
    permissions.require(actor, "definitions.manage", N_("只有流程管理员可以修改、部署或回滚流程定义"))
    errors: dict[str, str] = {}
    reason = inputs.text(reason, "reason", N_("回滚原因"), ROLLBACK_REASON_LIMIT, errors, required=True)
    if errors:
        raise InvalidInput(errors)
    old = version(session, process_id, number)
    row, _created = definitions.deploy(
        session, dict(old.files), process_id, deployed_by=actor.id, note=f"回滚到第{number}版：{reason}", force=True
    )
    session.add(Event(kind="definition_rollback", actor_id=actor.id,
                      summary=f"{actor.display_name}将 {process_id} 回滚到第{number}版（部署为第{row.version}版）：{reason}",
                      payload={"process_id": process_id, "from_version": number, "version": row.version, "reason": reason}))
    return row


@dataclass
class Change:
    """One element added, removed or changed between two versions, with what changed."""

    kind: str
    id: str
    label: str
    details: list[str] = field(default_factory=list)


@dataclass
class VersionDiff:
    """Differences between two versions: flow nodes, sequence flows, decision rules, other files."""

    old: int
    new: int
    tasks: list[Change] = field(default_factory=list)
    flows: list[Change] = field(default_factory=list)
    rules: list[Change] = field(default_factory=list)
    files: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the two versions have the same content."""
        return not (self.tasks or self.flows or self.rules or self.files)


def diff(session: Session, process_id: str, old_number: int, new_number: int) -> VersionDiff:
    """What changed from one version to another: tasks, flows, DMN rules, other files."""
    old, new = version(session, process_id, old_number), version(session, process_id, new_number)
    return diff_files(old.files, new.files, old_number, new_number)


def diff_files(old: dict[str, str], new: dict[str, str], old_number: int = 0, new_number: int = 0) -> VersionDiff:
    """Compare two bundles element by element."""
    result = VersionDiff(old_number, new_number)
    old_nodes, old_flows = _bpmn_elements(old)
    new_nodes, new_flows = _bpmn_elements(new)
    result.tasks = _compare(old_nodes, new_nodes)
    result.flows = _compare(old_flows, new_flows)
    result.rules = _compare(_dmn_elements(old), _dmn_elements(new))
    for name in sorted(set(old) | set(new)):
        if name.endswith(EDITABLE_SUFFIXES):
            continue
        if name not in old:
            result.files.append(Change("added", name, name))
        elif name not in new:
            result.files.append(Change("removed", name, name))
        elif old[name] != new[name]:
            result.files.append(Change("changed", name, name, ["内容已修改"]))
    return result


Described = dict[str, tuple[str, dict[str, str]]]  # id -> (label, attribute label -> value)


def _compare(old: Described, new: Described) -> list[Change]:
    changes = []
    for key in sorted(set(old) | set(new), key=lambda k: (k not in new, k)):
        if key not in old:
            changes.append(Change("added", key, new[key][0]))
        elif key not in new:
            changes.append(Change("removed", key, old[key][0]))
        else:
            before, after = old[key][1], new[key][1]
            details = [
                f"{attr}：{before.get(attr) or '（无）'} → {after.get(attr) or '（无）'}"
                for attr in sorted(set(before) | set(after))
                if before.get(attr) != after.get(attr)
            ]
            if details:
                changes.append(Change("changed", key, new[key][0], details))
    return changes


def _bpmn_elements(files: dict[str, str]) -> tuple[Described, Described]:
    nodes: Described = {}
    flows: Described = {}
    for _name, _text, root in parsed_files(files, ".bpmn"):
        lanes = {
            ref.text: lane.get("name", "")
            for lane in root.iter(f"{{{BPMN_NS}}}lane")
            for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef")
            if ref.text
        }
        for element in root.iter(etree.Element):
            local = etree.QName(element).localname
            element_id = element.get("id", "")
            if local in FLOW_NODE_TYPES and element_id:
                nodes[element_id] = (element.get("name") or element_id, _node_attributes(element, local, lanes))
            elif local == "sequenceFlow" and element_id:
                condition = element.find(f"{{{BPMN_NS}}}conditionExpression")
                flows[element_id] = (
                    element.get("name") or element_id,
                    {
                        "名称": element.get("name", ""),
                        "起点": element.get("sourceRef", ""),
                        "终点": element.get("targetRef", ""),
                        "条件": (condition.text or "").strip() if condition is not None else "",
                    },
                )
    return nodes, flows


def _node_attributes(element: etree._Element, local: str, lanes: dict[str, str]) -> dict[str, str]:
    attributes = {
        "类型": FLOW_NODE_TYPES[local],
        "名称": element.get("name", ""),
        "泳道": lanes.get(element.get("id", ""), ""),
        "默认路径": element.get("default", ""),
    }
    for prop in element.iter(f"{{{SPIFF_NS}}}property"):
        key = prop.get("name", "")
        attributes[PROPERTY_LABELS.get(key, key)] = prop.get("value", "")
    decision = element.find(f".//{{{SPIFF_NS}}}calledDecisionId")
    if decision is not None:
        attributes["调用的决策"] = (decision.text or "").strip()
    script = element.find(f"{{{BPMN_NS}}}script")
    if script is not None:
        attributes["脚本"] = (script.text or "").strip()
    for timer in element.iter(f"{{{BPMN_NS}}}timeDuration", f"{{{BPMN_NS}}}timeDate", f"{{{BPMN_NS}}}timeCycle"):
        attributes["定时器"] = (timer.text or "").strip()
    return attributes


def _dmn_elements(files: dict[str, str]) -> Described:
    found: Described = {}
    for _name, _text, root in parsed_files(files, ".dmn"):
        ns = {"dmn": root.nsmap.get(None) or "https://www.omg.org/spec/DMN/20191111/MODEL/"}
        for table in root.iterfind(".//dmn:decisionTable", ns):
            parent = table.getparent()
            decision = parent.get("id", "") if parent is not None else ""
            labels = [i.get("label") or i.get("id") or "" for i in table.findall("dmn:input", ns)]
            outputs = [o.get("label") or o.get("name") or o.get("id") or "" for o in table.findall("dmn:output", ns)]
            found[f"{decision}:命中策略"] = (f"{decision} 命中策略", {"命中策略": table.get("hitPolicy", "UNIQUE")})
            for column in table.findall("dmn:input", ns):
                expression = column.find("dmn:inputExpression", ns)
                found[f"{decision}:{column.get('id')}"] = (
                    f"{decision} 输入列“{column.get('label') or column.get('id')}”",
                    {"变量": (_cell(expression, ns)), "类型": expression.get("typeRef", "") if expression is not None else ""},
                )
            for row, rule in enumerate(table.findall("dmn:rule", ns), start=1):
                cells = {f"{labels[i]}" if i < len(labels) else f"输入{i + 1}": _cell(e, ns) for i, e in enumerate(rule.findall("dmn:inputEntry", ns))}
                for i, entry in enumerate(rule.findall("dmn:outputEntry", ns)):
                    cells[f"输出 {outputs[i]}" if i < len(outputs) else f"输出{i + 1}"] = _cell(entry, ns)
                found[f"{decision}:{rule.get('id')}"] = (f"{decision} 规则 {rule.get('id')}（第{row}行）", cells)
    return found


def _cell(element: Optional[etree._Element], ns: dict[str, str]) -> str:
    if element is None:
        return ""
    text = element.find("dmn:text", ns)
    return (text.text or "").strip() if text is not None else ""
