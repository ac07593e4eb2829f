"""Deployable definition bundles: validate, version by content hash, parse once per process."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import jsonschema
import yaml
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, defer
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask

from engine.platform import permissions
from engine.platform.errors import DefinitionInvalid, NotFound, SandboxViolation
from engine.workflow.forms import Schema, check_form, validator_for
from engine.platform.models import Definition, Event
from engine.platform.prepared import Prepared
from engine.workflow.parser import XmlRefused, new_parser, parse_xml
from engine.workflow.sandbox import active as limits
from engine.workflow.sandbox import compile_checked, specs
from engine.workflow.validation import BPMN_NS, load_lanes, require_valid

SCOPES = ("landing_unit", "platform", "deputy", "county", "item_unit")
BUNDLE_PATTERNS = ("*.bpmn", "*.dmn", "*.cases.json", "lanes.yaml", "forms/*.json")


@dataclass(frozen=True)
class UserTaskMeta:
    """What the task table needs to know about one user task of a definition."""

    bpmn_id: str
    name: str
    lane: str
    role: str
    scope: str
    form: str
    due_in: Optional[timedelta]
    stage: str
    meeting: str = ""


@dataclass
class LoadedDefinition:
    """A parsed definition: spec objects plus lane, form and task metadata."""

    definition_id: int
    process_id: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskMeta]
    forms: dict[str, Schema]
    validators: dict[str, jsonschema.protocols.Validator] = field(default_factory=dict)

    @property
    def is_decision(self) -> bool:
        """True for a standalone decision (e.g. assessment_scoring): `spec` is its DMN engine, there is no process."""
        return not self.user_tasks and not hasattr(self.spec, "task_specs")

    def validator(self, form: str) -> jsonschema.protocols.Validator:
        """A compiled validator per form (patterns on RE2), built on first use."""
        if form not in self.validators:
            self.validators[form] = validator_for(self.forms[form])
        return self.validators[form]


def read_bundle(directory: Path) -> dict[str, str]:
    """Collect the files of a definition bundle from a directory (paths relative to it)."""
    files: dict[str, str] = {}
    for pattern in BUNDLE_PATTERNS:
        for path in sorted(directory.glob(pattern)):
            files[path.relative_to(directory).as_posix()] = path.read_text(encoding="utf-8")
    if not any(name.endswith(".bpmn") for name in files):
        raise DefinitionInvalid([{"file": str(directory), "message": "目录中没有 .bpmn 文件"}])
    return files


def content_hash(files: dict[str, str]) -> str:
    """Stable SHA-256 over file names and contents."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


def parse_duration(text: str) -> timedelta:
    """Parse an ISO-8601 duration such as P15D or PT2H (years/months as 365/30 days)."""
    parts = TimerEventDefinition.parse_iso_duration(text)
    days = parts.get("years", 0) * 365 + parts.get("months", 0) * 30 + parts.get("weeks", 0) * 7
    return timedelta(
        days=days + parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )


def _problem(file: str, element: str, message: str) -> dict[str, str]:
    return {"file": file, "element": element, "message": message}


def _file_of(spec_or_task: Any, default: str) -> str:
    return getattr(spec_or_task, "file", None) or default


def build(files: dict[str, str], process_id: str, definition_id: int = 0, strict: bool = False) -> LoadedDefinition:
    """Parse and validate a bundle once per content; raise DefinitionInvalid listing every problem found.

    `strict` (every deploy) first runs all pre-deploy checks of engine.validation, decision
    test cases included; loading an already deployed version skips them. Both the checks and
    the parse depend on the files alone, so a bundle is checked and parsed once per process
    (the parse kept by content hash: a deploy's parse serves the first load of the version).
    """
    key = (content_hash(files), process_id)
    if strict and key not in _validated:
        require_valid(files, process_id, SCOPES)
        _validated.add(key)
    with _cache_lock:
        parsed = _by_content.pop(key, None)
    if parsed is None:
        parsed = _parse(files, process_id)
    with _cache_lock:
        _by_content[key] = parsed
        while len(_by_content) > CONTENT_CACHE_SIZE:
            _by_content.pop(next(iter(_by_content)))
    return replace(parsed, definition_id=definition_id, validators={})


def _parse(files: dict[str, str], process_id: str) -> LoadedDefinition:
    """Parse a bundle with SpiffWorkflow's parser and check what only the parsed specs show."""
    problems: list[dict[str, str]] = []
    parser = new_parser()
    lanes_cfg: dict[str, Any] = {}
    forms: dict[str, Schema] = {}
    roots: dict[str, Any] = {}
    for name, text in files.items():
        try:
            if name.endswith(".bpmn"):
                roots[name] = parse_xml(text, name)
                stores = _data_stores(name, roots[name])
                if stores:
                    problems += stores
                    continue
                parser.add_bpmn_xml(roots[name], filename=name)
            elif name.endswith(".dmn"):
                roots[name] = parse_xml(text, name)
                parser.add_dmn_xml(roots[name], filename=name)
            elif name == "lanes.yaml":
                lanes_cfg = load_lanes(text) or {}
            elif name.startswith("forms/"):
                schema, verdict = check_form(text)
                if verdict.refusal is not None:
                    problems.append(_problem(name, "", f"不是有效的 JSON Schema：{verdict.refusal[1]}"))
                    continue
                problems += [_problem(name, path, message) for path, message in verdict.problems]
                forms[name.removeprefix("forms/")] = schema
        except XmlRefused as exc:
            problems.append(_problem(name, "", str(exc)))
        except ValidationException as exc:
            line = exc.line_number or _line_of(roots.get(name), exc.id)
            where = f"（第{line}行）" if line else ""
            problems.append(_problem(name, exc.id or "", f"流程结构不符合 BPMN/DMN 规范{where}：{exc}"))
        except (ValueError, RecursionError, yaml.YAMLError) as exc:
            problems.append(_problem(name, "", f"格式错误：{exc}"))
    if problems:
        raise DefinitionInvalid(problems)
    if process_id in parser.dmn_parsers:
        return _build_decision(parser, process_id, 0, forms)
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise DefinitionInvalid([_problem(exc.file_name, exc.id, f"流程无法解析：{exc}")]) from exc
    lanes: dict[str, Any] = lanes_cfg.get("lanes", {})
    user_tasks: dict[str, UserTaskMeta] = {}
    for process in (spec, *subprocess_specs.values()):
        problems.extend(_check_process_expressions(process, _file_of(process, process_id)))
    for process, task_spec in specs.all_task_specs(spec, subprocess_specs):
        file = _file_of(process, process_id)
        problems.extend(_check_expressions(task_spec, file))
        if not isinstance(task_spec, UserTask):
            continue
        meta, task_problems = _user_task_meta(task_spec, lanes, forms, file)
        problems.extend(task_problems)
        if meta:
            user_tasks[meta.bpmn_id] = meta
    if problems:
        raise DefinitionInvalid(problems)
    return LoadedDefinition(0, process_id, spec, subprocess_specs, user_tasks, forms)


def _build_decision(
    parser: Any, decision_id: str, definition_id: int, forms: dict[str, Schema]
) -> LoadedDefinition:
    """A standalone decision (e.g. assessment_scoring) deployed like a process; `spec` is its DMNEngine."""
    try:
        engine = parser.get_engine(decision_id, None)
    except ValidationException as exc:
        raise DefinitionInvalid([_problem(exc.file_name, exc.id, str(exc))]) from exc
    file = parser.dmn_parsers[decision_id].filename or decision_id
    holder = SimpleNamespace(dmnEngine=engine, bpmn_id=decision_id, name=decision_id)
    problems = _check_expressions(holder, file)
    if problems:
        raise DefinitionInvalid(problems)
    return LoadedDefinition(definition_id, decision_id, engine, {}, {}, forms)


def _user_task_meta(
    task_spec: Any, lanes: dict[str, Any], forms: dict[str, Schema], file: str
) -> tuple[Optional[UserTaskMeta], list[dict[str, str]]]:
    """Resolve lane → role/scope, form and due duration of one user task."""
    bpmn_id = task_spec.bpmn_id
    props = (task_spec.extensions or {}).get("properties", {})
    problems = []
    lane_cfg = lanes.get(task_spec.lane or "")
    if not task_spec.lane:
        problems.append(_problem(file, bpmn_id, "用户任务不在任何泳道中，请把它拖入一个映射到角色的泳道"))
    elif not lane_cfg:
        problems.append(_problem(file, bpmn_id, f"用户任务所在泳道“{task_spec.lane}”未在 lanes.yaml 中映射到角色，请改用已映射的泳道或在 lanes.yaml 中添加"))
    elif not permissions.is_role(lane_cfg.get("role")) or lane_cfg.get("scope") not in SCOPES:
        problems.append(_problem("lanes.yaml", task_spec.lane, f"泳道映射的角色或范围无效：{lane_cfg}"))
    form = props.get("formJsonSchemaFilename", "")
    if form not in forms:
        problems.append(_problem(file, bpmn_id, f"引用的表单 {form or '（未填写）'} 不存在于 forms/ 目录"))
    due_in = None
    if props.get("dueIn"):
        try:
            due_in = parse_duration(props["dueIn"])
        except Exception:  # noqa: BLE001 - any parse failure is a modelling error
            problems.append(_problem(file, bpmn_id, f"办理时限 dueIn={props['dueIn']!r} 不是 ISO-8601 时长（如 P15D）"))
    if problems or not lane_cfg:
        return None, problems
    meta = UserTaskMeta(
        bpmn_id=bpmn_id,
        name=task_spec.bpmn_name or bpmn_id,
        lane=task_spec.lane,
        role=lane_cfg["role"],
        scope=lane_cfg["scope"],
        form=form,
        due_in=due_in,
        stage=props.get("stage", ""),
        meeting=props.get("meeting", ""),
    )
    return meta, []


def _check_expressions(task_spec: Any, file: str) -> list[dict[str, str]]:
    """The element is a kind the engine runs, each of its expressions passes the sandbox, literal ceilings hold."""
    element = task_spec.bpmn_id or task_spec.name
    label = specs.element_label(task_spec)
    if not getattr(task_spec, "dmnEngine", None) and not specs.runnable(task_spec):
        return [_problem(file, element, f"元素{label}是{specs.kind_name(task_spec)}，引擎无法执行，请改用用户任务、脚本任务或业务规则任务")]
    problems = [_problem(file, element, f"元素{label}：{message}") for message in specs.literal_problems(task_spec, limits())]
    for source in specs.sources(task_spec):
        try:
            compile_checked(source.text, source.mode)
        except SandboxViolation as exc:
            problems.append(_problem(file, element, f"元素{label}的{source.label}未通过安全检查：{exc.message}"))
    return problems


def _check_process_expressions(process: Any, file: str) -> list[dict[str, str]]:
    """Expressions held by a process spec itself pass the sandbox."""
    problems = []
    for source in specs.process_sources(process):
        try:
            compile_checked(source.text, source.mode)
        except SandboxViolation as exc:
            problems.append(_problem(file, process.name, f"流程 {process.name} 的{source.label}未通过安全检查：{exc.message}"))
    return problems


_cache: dict[int, LoadedDefinition] = {}
_by_content: dict[tuple[str, str], LoadedDefinition] = {}
CONTENT_CACHE_SIZE = 16
_validated: set[tuple[str, str]] = set()
_cache_lock = threading.RLock()


def forget_parsed() -> None:
    """Drop the parsed definitions by id (when a process switches to another database); parses kept by content hash stay valid."""
    with _cache_lock:
        _cache.clear()


def _data_stores(name: str, root: Any) -> list[dict[str, str]]:
    """A refusal for each BPMN data store in a file, with its line: the engine keeps data in process variables only."""
    return [_problem(name, element.get("id") or "", f"第{element.sourceline}行的数据存储“{element.get('name') or element.get('id') or ''}”："
                     "本系统不支持 BPMN 数据存储，请改用流程变量和表单字段")
            for element in root.iter(f"{{{BPMN_NS}}}dataStore", f"{{{BPMN_NS}}}dataStoreReference")]


def _line_of(root: Any, element_id: Optional[str]) -> Optional[int]:
    """The line of the element with this id in a parsed file (SpiffWorkflow leaves some of its errors without one)."""
    if root is None or not element_id:
        return None
    found = next((e for e in root.iter() if e.get("id") == element_id), None)
    return found.sourceline if found is not None else None


def load(session: Session, definition_id: int) -> LoadedDefinition:
    """The parsed definition, parsed once per process and cached by id."""
    loaded = _cache.get(definition_id)
    if loaded is not None:
        return loaded
    with _cache_lock:
        if definition_id not in _cache:
            row = session.get(Definition, definition_id)
            if row is None:
                raise NotFound(f"流程定义 {definition_id} 不存在")
            # the hash is computed from the stored files, never read from the row: a row altered in the database is parsed afresh
            _cache[definition_id] = build(row.files, row.process_id, definition_id)
        return _cache[definition_id]


def not_deployed(process_id: str) -> NotFound:
    """The error for a process with no deployed version, saying how to deploy one."""
    return NotFound(f"流程 {process_id} 尚未部署，请先运行 zhikong deploy bpmn")


def latest(session: Session, process_id: str) -> Definition:
    """The newest deployed version of a process, its files read only when asked for (`latest_id` when only its id is wanted)."""
    row = session.scalars(
        select(Definition).where(Definition.process_id == process_id).order_by(Definition.version.desc()).limit(1)
        .options(defer(Definition.files))
    ).first()
    if row is None:
        raise not_deployed(process_id)
    return row


_LATEST_ID = Prepared(select(Definition.id).where(Definition.process_id == bindparam("process_id"))
                      .order_by(Definition.version.desc()).limit(1))


def latest_id(session: Session, process_id: str) -> int:
    """The id of the newest deployed version of a process, in one prebuilt read (what starting a workflow needs)."""
    rows = _LATEST_ID.rows(session, {"process_id": process_id})
    if not rows:
        raise not_deployed(process_id)
    return int(rows[0][0])


def deploy(
    session: Session,
    files: dict[str, str],
    process_id: str,
    deployed_by: Optional[int] = None,
    note: str = "",
    force: bool = False,
) -> tuple[Definition, bool]:
    """Validate and store a bundle as a new version; unchanged content returns the latest version.

    `force` stores a new version even when the content equals the latest (a roll back).
    """
    digest = content_hash(files)
    current = session.scalars(
        select(Definition).where(Definition.process_id == process_id).order_by(Definition.version.desc()).limit(1)
    ).first()
    if current is not None and current.content_hash == digest and not force:
        return current, False
    build(files, process_id, strict=True)
    version = (session.scalar(select(func.max(Definition.version)).where(Definition.process_id == process_id)) or 0) + 1
    row = Definition(
        process_id=process_id, version=version, content_hash=digest, files=files, deployed_by=deployed_by, note=note
    )
    session.add(row)
    session.flush()
    session.add(
        Event(
            kind="deploy",
            actor_id=deployed_by,
            summary=f"部署 {process_id} 第{version}版",
            payload={"definition_id": row.id, "version": version, "hash": digest, "files": sorted(files)},
        )
    )
    return row, True
