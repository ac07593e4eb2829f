"""Edited copies of the shipped bundle with one hostile expression in one element, and ways to run them."""
from __future__ import annotations

import faulthandler
import json
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.projects import lifecycle
from engine.workflow import definitions, runtime, state
from engine.platform.config import PROJECT_ROOT
from engine.workflow.sandbox import SCRIPT_ENGINE, active

BUNDLE = definitions.read_bundle(PROJECT_ROOT / "bpmn")
WAIT_CEILING = 60.0  # seconds of wall clock a child that uses no CPU may wait before it is killed
BPMN, TIER_DMN, SCORING_DMN = "project_lifecycle.bpmn", "approval_tier.dmn", "assessment_scoring.dmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
FACTS: dict[str, Any] = {
    "project_id": 1, "project_name": "测试项目", "category": "industrial", "needs_land": False, "land_mu": 0.0,
    "dev_zone": False, "one_case_support": False, "total_investment": 50000.0, "is_manufacturing": False,
    "is_major": False,
}
"""Start data of a pure-engine run: what runtime.workflow_facts gives a freshly registered project."""


def _q(tag: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{tag}"


def _snippet(xml: str) -> list[etree._Element]:
    """Elements written with the bpmn:, spiffworkflow: and xsi: prefixes, parsed into lxml nodes."""
    holder = etree.fromstring(
        f'<holder xmlns:bpmn="{BPMN_NS}" xmlns:spiffworkflow="{SPIFF_NS}" xmlns:xsi="{XSI_NS}">{xml}</holder>'
    )
    return list(holder)


def _flow(flow_id: str, source: str, target: str) -> etree._Element:
    return _snippet(f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />')[0]


def _by_id(root: etree._Element, element_id: str) -> etree._Element:
    found = root.xpath(f"//*[@id='{element_id}']")
    assert isinstance(found, list) and len(found) == 1, element_id
    element: etree._Element = found[0]
    return element


def _text(root: etree._Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode")


def edit_xml(name: str, change: Callable[[etree._Element], None], files: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of the bundle whose file `name` was changed in place by `change(root)`."""
    result = dict(files or BUNDLE)
    root = etree.fromstring(result[name].encode("utf-8"))
    change(root)
    result[name] = _text(root)
    assert result[name] != (files or BUNDLE)[name]
    return result


def after_start(element_xml: str, element_id: str, root_elements: str = "") -> dict[str, str]:
    """The lifecycle with a new element between the start event and the first user task.

    `element_xml` holds the element with `{incoming}`/`{outgoing}` where its flow references go;
    `root_elements` (messages, signals …) go before the process. The engine reaches the new
    element as soon as a project is registered.
    """
    return chain_after_start([(element_xml, element_id)], root_elements)


def chain_after_start(elements: list[tuple[str, str]], root_elements: str = "", lane: str = "") -> dict[str, str]:
    """The lifecycle with new elements in a row between the start event and the first user task (user tasks go into `lane`)."""
    def change(root: etree._Element) -> None:
        process = _by_id(root, "project_lifecycle")
        ids = [element_id for _, element_id in elements]
        _by_id(root, "f_start").set("targetRef", ids[0])
        incoming = _by_id(root, "confirm_intent").find(_q("incoming"))
        assert incoming is not None and incoming.text == "f_start"
        incoming.text = f"f_{ids[-1]}_out"
        for index, (element_xml, element_id) in enumerate(elements):
            source = "f_start" if index == 0 else f"f_{ids[index - 1]}_out"
            target = ids[index + 1] if index + 1 < len(ids) else "confirm_intent"
            text = element_xml.replace("{incoming}", f"<bpmn:incoming>{source}</bpmn:incoming>")
            text = text.replace("{outgoing}", f"<bpmn:outgoing>f_{element_id}_out</bpmn:outgoing>")
            for node in _snippet(text):
                process.append(node)
            process.append(_flow(f"f_{element_id}_out", element_id, target))
            if lane:
                etree.SubElement(_by_id(root, lane), _q("flowNodeRef")).text = element_id
        for node in reversed(_snippet(root_elements)):
            process.addprevious(node)
    return edit_xml(BPMN, change)


def set_flow_condition(flow_id: str, text: str) -> dict[str, str]:
    """The lifecycle with one sequence-flow condition replaced."""
    def change(root: etree._Element) -> None:
        condition = _by_id(root, flow_id).find(_q("conditionExpression"))
        assert condition is not None
        condition.text = text
    return edit_xml(BPMN, change)


def user_task_scripts(task_id: str, pre: str | None = None, post: str | None = None) -> dict[str, str]:
    """The lifecycle with a spiffworkflow:preScript and/or postScript on a user task."""
    def change(root: etree._Element) -> None:
        extensions = _by_id(root, task_id).find(_q("extensionElements"))
        assert extensions is not None
        for tag, script in (("preScript", pre), ("postScript", post)):
            if script is not None:
                node = etree.SubElement(extensions, _q(tag, SPIFF_NS))
                node.text = script
    return edit_xml(BPMN, change)


def set_dmn_text(name: str, element_id: str, text: str) -> dict[str, str]:
    """A DMN file with the <text> of one inputExpression (by its input's id), inputEntry or outputEntry replaced."""
    def change(root: etree._Element) -> None:
        element = _by_id(root, element_id)
        holder = element.find(_q("inputExpression", DMN_NS)) if etree.QName(element).localname == "input" else element
        assert holder is not None
        node = holder.find(_q("text", DMN_NS))
        assert node is not None
        node.text = text
    return edit_xml(name, change)


# Elements the shipped lifecycle lacks, each placed right after the start event.

def script_task(script: str, element_id: str = "zk_script", loop: str = "") -> dict[str, str]:
    """A script task (optionally with loop characteristics)."""
    return after_start(
        f'<bpmn:scriptTask id="{element_id}" name="脚本">{{incoming}}{{outgoing}}{loop}'
        f"<bpmn:script>{_escape(script)}</bpmn:script></bpmn:scriptTask>",
        element_id,
    )


def standard_loop(condition: str | None, maximum: int | None = None, script: str = "zk_n = 1") -> dict[str, str]:
    """A script task run as a standard loop."""
    attrs = f' loopMaximum="{maximum}"' if maximum is not None else ""
    body = f"<bpmn:loopCondition>{_escape(condition)}</bpmn:loopCondition>" if condition is not None else ""
    return after_start(
        f'<bpmn:scriptTask id="zk_loop" name="循环脚本">{{incoming}}{{outgoing}}'
        f"<bpmn:standardLoopCharacteristics{attrs}>{body}</bpmn:standardLoopCharacteristics>"
        f"<bpmn:script>{_escape(script)}</bpmn:script></bpmn:scriptTask>",
        "zk_loop",
    )


def multi_instance(cardinality: str | None = "2", completion: str | None = None, sequential: bool = False,
                   data_input: str | None = None, script: str = "zk_n = 1") -> dict[str, str]:
    """A script task run as a multi-instance (by cardinality or over a collection in task data)."""
    parts = ""
    if cardinality is not None:
        parts += f"<bpmn:loopCardinality>{_escape(cardinality)}</bpmn:loopCardinality>"
    if data_input is not None:
        parts += f"<bpmn:loopDataInputRef>{data_input}</bpmn:loopDataInputRef>"
        parts += '<bpmn:inputDataItem id="zk_item" name="zk_item" />'
    if completion is not None:
        parts += f"<bpmn:completionCondition>{_escape(completion)}</bpmn:completionCondition>"
    return after_start(
        f'<bpmn:scriptTask id="zk_mi" name="多实例脚本">{{incoming}}{{outgoing}}'
        f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">{parts}'
        f"</bpmn:multiInstanceLoopCharacteristics><bpmn:script>{_escape(script)}</bpmn:script></bpmn:scriptTask>",
        "zk_mi",
    )


def timer_event(kind: str, expression: str) -> dict[str, str]:
    """An intermediate timer catch event with timeDate, timeDuration or timeCycle."""
    return after_start(
        f'<bpmn:intermediateCatchEvent id="zk_timer" name="等待">{{incoming}}{{outgoing}}<bpmn:timerEventDefinition>'
        f'<bpmn:{kind} xsi:type="bpmn:tFormalExpression">{_escape(expression)}</bpmn:{kind}>'
        f"</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        "zk_timer",
    )


def conditional_event(condition: str) -> dict[str, str]:
    """An intermediate conditional catch event."""
    return after_start(
        f'<bpmn:intermediateCatchEvent id="zk_conditional" name="条件满足">{{incoming}}{{outgoing}}'
        f'<bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">{_escape(condition)}'
        f"</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>",
        "zk_conditional",
    )


def service_task(parameter: str) -> dict[str, str]:
    """A service task whose operator parameter holds an expression."""
    return after_start(
        '<bpmn:serviceTask id="zk_service" name="调用服务"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="http/GetRequest" resultVariable="zk_result"><spiffworkflow:parameters>'
        f'<spiffworkflow:parameter id="url" type="str" value="{_escape(parameter, attribute=True)}" />'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
        "{incoming}{outgoing}</bpmn:serviceTask>",
        "zk_service",
    )


def plain_task() -> dict[str, str]:
    """A bpmn:task (no type) the engine would pass straight through."""
    return after_start('<bpmn:task id="zk_task" name="无类型任务">{incoming}{outgoing}</bpmn:task>', "zk_task")


def message_catch(correlation: str) -> dict[str, str]:
    """A message catch event whose spiffworkflow:processVariableCorrelation holds an expression."""
    return after_start(
        '<bpmn:intermediateCatchEvent id="zk_message" name="等待消息">{incoming}{outgoing}'
        '<bpmn:messageEventDefinition messageRef="zk_msg"><bpmn:extensionElements>'
        "<spiffworkflow:processVariableCorrelation><spiffworkflow:propertyId>zk_key</spiffworkflow:propertyId>"
        f"<spiffworkflow:expression>{_escape(correlation)}</spiffworkflow:expression>"
        "</spiffworkflow:processVariableCorrelation></bpmn:extensionElements></bpmn:messageEventDefinition>"
        "</bpmn:intermediateCatchEvent>",
        "zk_message",
        root_elements='<bpmn:message id="zk_msg" name="zk_msg" />',
    )


def _escape(text: str | None, attribute: bool = False) -> str:
    if text is None:
        return ""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace('"', "&quot;") if attribute else out


# Running a bundle without the database.

@dataclass
class Run:
    """What a pure-engine run left: the error (None if it stopped at a user task) and how long it took."""

    error: dict[str, Any] | None
    seconds: float
    ready: list[str]


def run_workflow(files: dict[str, str], data: dict[str, Any] | None = None,
                 complete: dict[str, dict[str, Any]] | None = None) -> Run:
    """Deploy-check `files`, start the lifecycle with `data` and run engine steps as the runtime does.

    `complete` maps user-task ids to form data: those tasks are completed as they become ready. As in
    runtime.advance, the state is then serialised and checked against max_state_bytes (LimitExceeded
    propagates, as it does out of register_project and complete_task).
    """
    loaded = definitions.build(files, lifecycle.LIFECYCLE, strict=True)
    workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=SCRIPT_ENGINE)
    workflow.get_tasks(state=TaskState.READY)[0].data.update({**FACTS, **(data or {})})
    started = time.thread_time()
    error = runtime.run_engine_steps(workflow, [])
    todo = dict(complete or {})
    while error is None and todo:
        ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id in todo]
        if not ready:
            break
        task = ready[0]
        task.set_data(**todo.pop(task.task_spec.bpmn_id))
        try:
            task.run()
        except Exception as exc:  # noqa: BLE001 - reported like the engine reports a step error
            return Run({"type": type(exc).__name__, "message": str(exc), "bpmn_id": task.task_spec.bpmn_id,
                        "raised": exc}, time.thread_time() - started, [])
        error = runtime.run_engine_steps(workflow, [])
    state.check_size(state.dump(workflow), active().max_state_bytes)
    seconds = time.thread_time() - started
    ready_ids = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    return Run(error, seconds, ready_ids)


def _child(target: Callable[[], Any], conn: Any) -> None:
    faulthandler.disable()  # a crash is the parent's finding, not a traceback on the test output
    try:
        conn.send(("ok", target()))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        conn.send(("raised", f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"[:500]))


@dataclass
class Isolated:
    """How a call in a forked child ended: "ok" (with its value), "raised", "killed" after the bound, or "died" by a signal."""

    outcome: str
    detail: Any
    seconds: float


def isolated(target: Callable[[], Any], bound: float) -> Isolated:
    """Run `target` in a forked child killed once it has used `bound` seconds of CPU, so a hang or a crash cannot take the tests down.

    The bound counts the child's own CPU time, not the wall clock, so a busy machine cannot
    fail an attack the sandbox stops in time; a child that waits without using CPU is killed
    after WAIT_CEILING of wall-clock time.
    """
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(target, child))
    started = time.monotonic()
    process.start()
    child.close()
    assert process.pid is not None
    while not parent.poll(0.02):
        if _cpu_seconds(process.pid) > bound or time.monotonic() - started > max(WAIT_CEILING, bound):
            process.kill()
            process.join()
            return Isolated("killed", f"still running after {bound:g} s of CPU", time.monotonic() - started)
        if not process.is_alive() and not parent.poll(0):
            break
    try:
        outcome, detail = parent.recv()
    except EOFError:
        outcome, detail = "died", ""
    process.join(5)
    if process.exitcode is not None and process.exitcode < 0:
        outcome, detail = "died", f"signal {-process.exitcode}"
    return Isolated(outcome, detail, time.monotonic() - started)


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time a running process has used (Linux /proc); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ad_hoc(completion: str) -> dict[str, str]:
    """An ad hoc subprocess (one script inside) with a completionCondition."""
    return after_start(
        '<bpmn:adHocSubProcess id="zk_ad_hoc" name="临时子流程">{incoming}{outgoing}'
        '<bpmn:scriptTask id="zk_ad_hoc_script" name="内部脚本"><bpmn:script>zk_n = 1</bpmn:script></bpmn:scriptTask>'
        f'<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">{_escape(completion)}</bpmn:completionCondition>'
        "</bpmn:adHocSubProcess>",
        "zk_ad_hoc",
    )


def script_gateway_cycle() -> dict[str, str]:
    """A script and an exclusive gateway whose condition always sends the token back to the script."""
    script = (
        '<bpmn:scriptTask id="zk_cycle" name="循环脚本">{incoming}<bpmn:incoming>zk_back</bpmn:incoming>{outgoing}'
        "<bpmn:script>zk_n = 1</bpmn:script></bpmn:scriptTask>"
    )
    gateway = (
        '<bpmn:exclusiveGateway id="zk_cycle_gw" name="再来一次" default="f_zk_cycle_gw_out">{incoming}'
        "<bpmn:outgoing>zk_back</bpmn:outgoing>{outgoing}</bpmn:exclusiveGateway>"
        '<bpmn:sequenceFlow id="zk_back" sourceRef="zk_cycle_gw" targetRef="zk_cycle">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">zk_n == 1</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>"
    )
    return chain_after_start([(script, "zk_cycle"), (gateway, "zk_cycle_gw")])


def nested_multi_instance(outer: int, inner: int) -> dict[str, str]:
    """An embedded subprocess run `outer` times in parallel, its one script task `inner` times: each within its ceiling."""
    return after_start(
        '<bpmn:subProcess id="zk_nested" name="嵌套多实例">{incoming}{outgoing}<bpmn:multiInstanceLoopCharacteristics>'
        f"<bpmn:loopCardinality>{outer}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
        '<bpmn:startEvent id="zk_nested_start"><bpmn:outgoing>zk_n1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:scriptTask id="zk_nested_script" name="内层"><bpmn:incoming>zk_n1</bpmn:incoming>'
        "<bpmn:outgoing>zk_n2</bpmn:outgoing><bpmn:multiInstanceLoopCharacteristics>"
        f"<bpmn:loopCardinality>{inner}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>"
        "<bpmn:script>zk_n = 1</bpmn:script></bpmn:scriptTask>"
        '<bpmn:endEvent id="zk_nested_end"><bpmn:incoming>zk_n2</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="zk_n1" sourceRef="zk_nested_start" targetRef="zk_nested_script" />'
        '<bpmn:sequenceFlow id="zk_n2" sourceRef="zk_nested_script" targetRef="zk_nested_end" />'
        "</bpmn:subProcess>",
        "zk_nested",
    )


def growing_state(iterations: int) -> dict[str, str]:
    """A loop whose every iteration stores a different 900 KB string: each within its ceiling, the state grows by 900 KB."""
    init = '<bpmn:scriptTask id="zk_init" name="初始化">{incoming}{outgoing}<bpmn:script>zk_k = 0</bpmn:script></bpmn:scriptTask>'
    grow = (
        '<bpmn:scriptTask id="zk_grow" name="逐次写入">{incoming}{outgoing}'
        f'<bpmn:standardLoopCharacteristics loopMaximum="{iterations}" />'
        "<bpmn:script>zk_k = zk_k + 1\ns = str(zk_k) + 'x' * 900000</bpmn:script></bpmn:scriptTask>"
    )
    return chain_after_start([(init, "zk_init"), (grow, "zk_grow")])


def form_pattern(pattern: str, form: str = "intent.schema.json", field: str = "opinion") -> dict[str, str]:
    """A task form whose text field must match `pattern`."""
    name = f"forms/{form}"
    schema = json.loads(BUNDLE[name])
    schema["properties"][field]["pattern"] = pattern
    return {**BUNDLE, name: json.dumps(schema, ensure_ascii=False, indent=2)}


@contextmanager
def form_schemas_checked_once() -> Iterator[None]:
    """Remember jsonschema's verdict on each form schema by content while the block runs.

    Every deploy check walks the 16 shipped forms against the metaschema twice, about half the time of
    a build; the corpus changes BPMN and DMN files (and one pattern), so the verdict on an unchanged form
    is the same every time. A changed form is checked as usual: its content is its key.
    """
    klass = jsonschema.Draft202012Validator
    original = klass.__dict__["check_schema"]
    verdicts: dict[str, jsonschema.SchemaError | None] = {}

    def check_schema(cls: Any, schema: Any, *args: Any, **kwargs: Any) -> None:
        if args or kwargs or cls is not klass:
            original.__func__(cls, schema, *args, **kwargs)
            return None
        key = json.dumps(schema, sort_keys=True, ensure_ascii=False)
        if key not in verdicts:
            try:
                original.__func__(cls, schema)
                verdicts[key] = None
            except jsonschema.SchemaError as exc:
                verdicts[key] = exc
        verdict = verdicts[key]
        if verdict is not None:
            raise verdict
        return None

    with mock.patch.object(klass, "check_schema", classmethod(check_schema)):
        yield
