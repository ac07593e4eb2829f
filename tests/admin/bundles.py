"""Test bundles derived from bpmn/: a script that divides by a project field, a boundary timer, dead and live waits."""
from __future__ import annotations

from engine.workflow import definitions
from tests.conftest import BPMN_DIR

SCRIPT = "base = total_investment\ninvestment_per_mu = base / land_mu"


def _swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def lifecycle_files() -> dict[str, str]:
    """The shipped bundle, as deployed."""
    return definitions.read_bundle(BPMN_DIR)


def with_division_script() -> dict[str, str]:
    """The lifecycle with a script task 计算亩均投资 between the start and 确认投资意向 (line 2 divides by land_mu)."""
    files = lifecycle_files()
    bpmn = files["project_lifecycle.bpmn"]
    bpmn = _swap(
        bpmn,
        '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="confirm_intent" />',
        '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="calc_density" />\n'
        '    <bpmn:scriptTask id="calc_density" name="计算亩均投资">\n'
        "      <bpmn:incoming>f_start</bpmn:incoming>\n      <bpmn:outgoing>f_density</bpmn:outgoing>\n"
        f"      <bpmn:script>{SCRIPT}</bpmn:script>\n    </bpmn:scriptTask>\n"
        '    <bpmn:sequenceFlow id="f_density" sourceRef="calc_density" targetRef="confirm_intent" />',
    )
    bpmn = _swap(
        bpmn,
        "<bpmn:incoming>f_start</bpmn:incoming>\n      <bpmn:incoming>f_feasibility_renegotiate",
        "<bpmn:incoming>f_density</bpmn:incoming>\n      <bpmn:incoming>f_feasibility_renegotiate",
    )
    bpmn = _swap(
        bpmn,
        '<di:waypoint x="276" y="190" />\n        <di:waypoint x="346" y="190" />',
        '<di:waypoint x="258" y="208" />\n        <di:waypoint x="258" y="250" />\n      </bpmndi:BPMNEdge>\n'
        '      <bpmndi:BPMNShape id="calc_density_di" bpmnElement="calc_density">\n'
        '        <dc:Bounds x="230" y="250" width="100" height="60" />\n      </bpmndi:BPMNShape>\n'
        '      <bpmndi:BPMNEdge id="f_density_di" bpmnElement="f_density">\n'
        '        <di:waypoint x="330" y="280" />\n        <di:waypoint x="396" y="280" />\n'
        '        <di:waypoint x="396" y="230" />',
    )
    files["project_lifecycle.bpmn"] = bpmn
    return files


def with_boundary_timer() -> dict[str, str]:
    """The lifecycle with an interrupting 30-day timer on 可行性论证 that closes the project."""
    files = lifecycle_files()
    bpmn = files["project_lifecycle.bpmn"]
    bpmn = _swap(
        bpmn,
        '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="confirm_intent" />',
        '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="confirm_intent" />\n'
        '    <bpmn:boundaryEvent id="feasibility_timeout" name="论证超时" attachedToRef="feasibility_review">\n'
        "      <bpmn:outgoing>f_feasibility_timeout</bpmn:outgoing>\n"
        '      <bpmn:timerEventDefinition><bpmn:timeDuration>"P30D"</bpmn:timeDuration></bpmn:timerEventDefinition>\n'
        "    </bpmn:boundaryEvent>\n"
        '    <bpmn:endEvent id="end_feasibility_timeout" name="中止：论证超时"><bpmn:incoming>f_feasibility_timeout</bpmn:incoming></bpmn:endEvent>\n'
        '    <bpmn:sequenceFlow id="f_feasibility_timeout" sourceRef="feasibility_timeout" targetRef="end_feasibility_timeout" />',
    )
    files["project_lifecycle.bpmn"] = bpmn
    return files


def waiting_process(process_id: str, event_xml: str, extra: str = "") -> dict[str, str]:
    """A one-step process that waits on one intermediate catch event (signal, message …)."""
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_{process_id}" targetNamespace="http://bpmn.io/schema/bpmn">
  {extra}
  <bpmn:process id="{process_id}" name="等待测试" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="等待外部事件"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>{event_xml}</bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""
    return {f"{process_id}.bpmn": bpmn, "lanes.yaml": "lanes: {}\nroles: {}\n"}


SIGNAL_WAIT = waiting_process(
    "signal_wait", '<bpmn:signalEventDefinition signalRef="sig_go" />', '<bpmn:signal id="sig_go" name="放行" />'
)
MESSAGE_WAIT = waiting_process(
    "message_wait", '<bpmn:messageEventDefinition messageRef="msg_go" />', '<bpmn:message id="msg_go" name="回复" />'
)
