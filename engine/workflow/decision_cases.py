"""Runs DMN decisions on plain inputs: test cases and impact previews.

The decisions are read and evaluated by the same code a business rule task calls
(engine.workflow.decide), so a case passes here exactly when the deployed process would
decide the same. A case's expected outputs name output columns of its decision (compared
with what the process data would hold) or decisions of the file by name or id (compared
with their DMN result: a value, a context or a list).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from engine.workflow.decide import DecisionFailed, Graph, agrees, storable
from engine.workflow.drg import Decision, read_file
from engine.workflow.parser import XmlRefused, parse_xml


class DecisionError(Exception):
    """Evaluating a decision failed (for example a UNIQUE table with two matching rules)."""


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
        """True when every expected output was produced."""
        return self.actual is not None and all(k in self.actual and agrees(v, self.actual[k]) for k, v in self.expected.items())


class DecisionRunner:
    """Every decision of a set of DMN files, ready to evaluate on plain input dictionaries.

    A file that cannot be read contributes the decisions that can; the checks before deploy
    report the rest, so building a runner never fails.
    """

    def __init__(self, dmn_files: dict[str, str]) -> None:
        decisions: list[Decision] = []
        for name, text in sorted(dmn_files.items()):
            try:
                root = parse_xml(text, name)
            except XmlRefused:
                continue
            found, _problems = read_file(root, name)
            decisions += found
        self.graph = Graph(decisions)

    @property
    def decisions(self) -> list[str]:
        """Ids of the decisions this runner can evaluate."""
        return sorted(self.graph.decisions)

    def inputs_of(self, decision_id: str) -> list[str]:
        """The names a decision reads from the data: its table's input expressions or its required inputs."""
        decision = self.graph.decisions[decision_id]
        if decision.table is not None:
            return [column.expression for column in decision.table.inputs]
        return list(decision.required_inputs)

    def run(self, decision_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """What a business rule task calling the decision writes into process data; raises DecisionError when evaluation fails."""
        try:
            value = self.graph.evaluate(decision_id, inputs)
        except DecisionFailed as exc:
            raise DecisionError(str(exc)) from exc
        return self.graph.as_data(decision_id, value)

    def results(self, decision_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """The process-data view of the decision, plus the DMN result of it and each decision it required, by name and id."""
        try:
            evaluated = self.graph.evaluate_all(decision_id, inputs)
        except DecisionFailed as exc:
            raise DecisionError(str(exc)) from exc
        found = self.graph.as_data(decision_id, evaluated[decision_id])
        for other, value in evaluated.items():
            decision = self.graph.decisions[other]
            found[decision.id] = found[decision.name] = storable(value)
        return found


def case_decision(runner: DecisionRunner, file: str, declared: Any) -> Optional[str]:
    """The decision a cases file tests: the one it names, else the first decision of the file that no other requires."""
    of_file = [d for d in runner.graph.decisions.values() if d.filename == file]
    if isinstance(declared, str) and declared:
        return next((d.id for d in of_file if declared in (d.id, d.name)), None)
    required = {r for d in of_file for r in d.required_decisions}
    tops = [d.id for d in of_file if d.id not in required] or [d.id for d in of_file]
    return tops[0] if tops else None


def run_cases(runner: DecisionRunner, decision_id: str, cases: list[dict[str, Any]]) -> list[CaseResult]:
    """Evaluate each case and compare with its expected outputs."""
    results = []
    for number, case in enumerate(cases, start=1):
        inputs, expected = dict(case["inputs"]), dict(case["expected"])
        try:
            output = runner.results(decision_id, inputs)
            for key in expected:
                other = runner.graph.by_name.get(key) or runner.graph.decisions.get(key)
                if key not in output and other is not None:
                    output.update(runner.results(other.id, inputs))
            actual = {key: output[key] for key in expected if key in output}
            results.append(CaseResult(number, str(case.get("name", "")), inputs, expected, actual))
        except DecisionError as exc:
            results.append(CaseResult(number, str(case.get("name", "")), inputs, expected, None, str(exc)))
    return results
