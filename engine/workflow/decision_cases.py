"""Runs DMN decisions through SpiffWorkflow's real DMN engine: test cases and impact previews.

Each decision is called from a one-task harness process (start → business rule task → end),
parsed with the same FEEL-aware parser and run with the same sandboxed script engine as the
lifecycle, so a case passes here exactly when the deployed process would decide the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional
from xml.sax.saxutils import escape

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.workflow.parser import new_parser, parse_xml
from engine.workflow.sandbox import SCRIPT_ENGINE

_HARNESS_PROCESS = """
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="{pid}_start"><bpmn:outgoing>{pid}_f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="{pid}_decide">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>{pid}_f1</bpmn:incoming><bpmn:outgoing>{pid}_f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="{pid}_end"><bpmn:incoming>{pid}_f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="{pid}_f1" sourceRef="{pid}_start" targetRef="{pid}_decide" />
    <bpmn:sequenceFlow id="{pid}_f2" sourceRef="{pid}_decide" targetRef="{pid}_end" />
  </bpmn:process>"""
_HARNESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="decision_harness" targetNamespace="http://zhikong/harness">{processes}
</bpmn:definitions>"""


class DecisionError(Exception):
    """Evaluating a decision failed (for example a comparison between a number and a string)."""


@dataclass
class CaseResult:
    """One test case: its label, inputs, expected and actual outputs, and whether they agree."""

    number: int
    name: str
    inputs: dict[str, Any]
    expected: dict[str, Any]
    actual: Optional[dict[str, Any]]
    error: str = ""

    @property
    def passed(self) -> bool:
        """True when every expected output was produced exactly."""
        return self.actual is not None and all(self.actual.get(k) == v for k, v in self.expected.items())


class DecisionRunner:
    """Every decision of a set of DMN files, ready to evaluate on plain input dictionaries."""

    def __init__(self, dmn_files: dict[str, str]) -> None:
        parser = new_parser()
        for name, text in sorted(dmn_files.items()):
            root = parse_xml(text, name)
            parser.add_dmn_xml(root, filename=name)
        decision_ids = sorted(parser.dmn_parsers)
        self._process_of = {decision: f"decide_{index}" for index, decision in enumerate(decision_ids)}
        processes = "".join(
            _HARNESS_PROCESS.format(pid=pid, decision=escape(decision)) for decision, pid in self._process_of.items()
        )
        if processes:
            parser.add_bpmn_xml(parse_xml(_HARNESS.format(processes=processes), "harness.bpmn"), filename="harness.bpmn")
        self._specs = {decision: parser.get_spec(pid) for decision, pid in self._process_of.items()}
        self._inputs = {
            decision: [i.expression or i.label for i in parser.dmn_parsers[decision].decision.decisionTables[0].inputs]
            for decision in decision_ids
        }
        self._outputs = {
            decision: [o.name or o.label for o in parser.dmn_parsers[decision].decision.decisionTables[0].outputs]
            for decision in decision_ids
        }

    @property
    def decisions(self) -> list[str]:
        """Ids of the decisions this runner can evaluate."""
        return sorted(self._specs)

    def inputs_of(self, decision_id: str) -> list[str]:
        """The input expressions (variable names) a decision reads."""
        return list(self._inputs[decision_id])

    def run(self, decision_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """The decision's output for `inputs`; raises DecisionError when evaluation fails."""
        workflow = BpmnWorkflow(self._specs[decision_id], script_engine=SCRIPT_ENGINE)
        start = workflow.get_tasks(state=TaskState.READY)[0]
        start.data.update(inputs)
        try:
            workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            notes = "；".join(getattr(exc, "notes", []) or [])
            raise DecisionError(f"{exc}{'；' + notes if notes else ''}") from exc
        decided = workflow.get_tasks(spec_name=f"{self._process_of[decision_id]}_decide")[0]
        return {key: decided.data.get(key) for key in self._outputs[decision_id]}


def run_cases(runner: DecisionRunner, decision_id: str, cases: list[dict[str, Any]]) -> list[CaseResult]:
    """Evaluate each case through the DMN engine and compare with its expected outputs."""
    results = []
    for number, case in enumerate(cases, start=1):
        inputs, expected = dict(case["inputs"]), dict(case["expected"])
        try:
            output = runner.run(decision_id, inputs)
            actual = {key: output.get(key) for key in expected}
            results.append(CaseResult(number, str(case.get("name", "")), inputs, expected, actual))
        except DecisionError as exc:
            results.append(CaseResult(number, str(case.get("name", "")), inputs, expected, None, str(exc)))
    return results
