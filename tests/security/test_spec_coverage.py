"""Every expression SpiffWorkflow's parser keeps in a spec is one engine.workflow.sandbox.specs.sources() returns for checking."""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference

from engine.workflow.parser import new_parser, parse_xml
from engine.workflow.sandbox import specs

pytestmark = pytest.mark.filterwarnings("ignore:.*have been moved to the bpmn.messageDefinition element:DeprecationWarning")

FIXTURES = Path(__file__).parent / "fixtures"
BPMN_FILE, DMN_FILE = "coverage.bpmn", "coverage.dmn"
PROCESS = "zk_coverage"
SENTINEL = re.compile(r"zk_sentinel_\d\d")

SLOTS = {
    "zk_sentinel_01": "exclusive gateway: flow condition",
    "zk_sentinel_02": "inclusive gateway: flow condition",
    "zk_sentinel_03": "inclusive gateway: second flow condition",
    "zk_sentinel_04": "condition on the one flow out of a user task",
    "zk_sentinel_05": "conditional intermediate catch event",
    "zk_sentinel_06": "conditional boundary event",
    "zk_sentinel_07": "standard loop: loopCondition",
    "zk_sentinel_08": "standard loop: the looped script",
    "zk_sentinel_09": "parallel multi-instance: loopCardinality",
    "zk_sentinel_10": "parallel multi-instance: completionCondition",
    "zk_sentinel_11": "sequential multi-instance: loopCardinality",
    "zk_sentinel_12": "sequential multi-instance: completionCondition",
    "zk_sentinel_13": "sequential multi-instance: the script",
    "zk_sentinel_14": "multi-instance over loopDataInputRef: completionCondition",
    "zk_sentinel_15": "timer catch event: timeDate",
    "zk_sentinel_16": "timer catch event: timeDuration",
    "zk_sentinel_17": "timer catch event: timeCycle",
    "zk_sentinel_18": "timer boundary event: timeDate",
    "zk_sentinel_19": "timer boundary event: timeDuration",
    "zk_sentinel_20": "timer boundary event: timeCycle",
    "zk_sentinel_52": "multiple (parallel) catch event: timeDuration",
    "zk_sentinel_53": "multiple (parallel) catch event: condition",
    "zk_sentinel_54": "transaction subprocess: script",
    "zk_sentinel_21": "script task",
    "zk_sentinel_22": "user task: spiffworkflow:preScript",
    "zk_sentinel_23": "user task: spiffworkflow:postScript",
    "zk_sentinel_24": "service task: serviceTaskOperator parameter",
    "zk_sentinel_47": "service task: second parameter",
    "zk_sentinel_25": "service task: preScript",
    "zk_sentinel_26": "service task: postScript",
    "zk_sentinel_27": "bpmn:message: spiffworkflow:messagePayload",
    "zk_sentinel_48": "message throw event definition: messagePayload (older place)",
    "zk_sentinel_28": "message boundary event definition: messagePayload (older place)",
    "zk_sentinel_29": "correlationPropertyRetrievalExpression/formalExpression",
    "zk_sentinel_30": "message catch event: spiffworkflow:processVariableCorrelation expression",
    "zk_sentinel_31": "bpmn:signal: spiffworkflow:payloadExpression",
    "zk_sentinel_32": "bpmn:error: spiffworkflow:payloadExpression",
    "zk_sentinel_33": "bpmn:escalation: spiffworkflow:payloadExpression",
    "zk_sentinel_34": "send task: preScript",
    "zk_sentinel_45": "receive task: postScript",
    "zk_sentinel_35": "embedded subprocess: script",
    "zk_sentinel_46": "embedded subprocess: flow condition",
    "zk_sentinel_36": "event subprocess: conditional start event",
    "zk_sentinel_39": "event subprocess: script",
    "zk_sentinel_37": "ad hoc subprocess: completionCondition",
    "zk_sentinel_38": "ad hoc subprocess: script",
    "zk_sentinel_40": "called process (callActivity): script",
    "zk_sentinel_41": "DMN: input expression",
    "zk_sentinel_49": "DMN: second input expression",
    "zk_sentinel_42": "DMN: input entry (FEEL string)",
    "zk_sentinel_50": "DMN: input entry not(list) first item",
    "zk_sentinel_51": "DMN: input entry not(list) second item",
    "zk_sentinel_43": "DMN: output entry (FEEL string)",
    "zk_sentinel_44": "bpmn:task: preScript",
}

DROPPED_BY_PARSER = {
    "zk_sentinel_04": "TaskParser.connect_outgoing ignores conditions on flows out of tasks (only gateways keep them), "
    "so SpiffWorkflow never evaluates this text",
}
"""Slots written into the fixture that SpiffWorkflow's parser does not keep: documented, not checked."""

UNCHECKED: dict[str, str] = {}
"""Slots the parser keeps and SpiffWorkflow evaluates that sources() does not return (each case xfails strictly)."""

SKIPPED_ATTRIBUTES = frozenset({"_wf_spec", "wf_spec"})
"""Back-references from a task spec to its process spec: every process spec is walked as a root anyway."""


@dataclass(frozen=True)
class Parsed:
    """The parsed coverage bundle and the sentinels found each way."""

    written: frozenset[str]
    reachable: dict[str, list[str]]
    checked: frozenset[str]


def _walkable(value: Any) -> bool:
    """SpiffWorkflow's and the engine's own objects are walked; functions, classes, modules and the like are not."""
    if isinstance(value, (type, ModuleType, FunctionType, BuiltinFunctionType, MethodType)):
        return False
    module = type(value).__module__ or ""
    return module.startswith(("SpiffWorkflow.", "engine."))


def _attributes(value: Any) -> Iterator[tuple[str, Any]]:
    yield from getattr(value, "__dict__", {}).items()
    for klass in type(value).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if hasattr(value, slot):
                yield slot, getattr(value, slot)


def reachable_sentinels(roots: dict[str, Any]) -> dict[str, list[str]]:
    """Breadth-first walk of every object reachable from the roots; sentinel → paths of the strings holding it."""
    found: dict[str, list[str]] = {}
    seen: set[int] = set()
    queue: deque[tuple[Any, str]] = deque((value, name) for name, value in roots.items())
    while queue:
        value, path = queue.popleft()
        if isinstance(value, str):
            for token in SENTINEL.findall(value):
                found.setdefault(token, []).append(path)
            continue
        if value is None or isinstance(value, (bool, int, float, bytes)) or id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, etree._Element):
            queue.append((etree.tostring(value, encoding="unicode"), f"{path}<xml>"))
        elif isinstance(value, dict):
            for key, item in value.items():
                queue.append((key, f"{path}.keys()"))
                queue.append((item, f"{path}[{key!r}]"))
        elif isinstance(value, (list, tuple, set, frozenset)):
            for index, item in enumerate(value):
                queue.append((item, f"{path}[{index}]"))
        elif _walkable(value):
            for name, item in _attributes(value):
                if name not in SKIPPED_ATTRIBUTES:
                    queue.append((item, f"{path}.{name}"))
    return found


@pytest.fixture(scope="module")
def parsed() -> Parsed:
    """Parse the fixture with the engine's parser (not deploy: deploy refuses service tasks) and look both ways."""
    texts = {name: (FIXTURES / name).read_text(encoding="utf-8") for name in (BPMN_FILE, DMN_FILE)}
    parser = new_parser()
    parser.add_dmn_xml(parse_xml(texts[DMN_FILE], DMN_FILE), filename=DMN_FILE)
    parser.add_bpmn_xml(parse_xml(texts[BPMN_FILE], BPMN_FILE), filename=BPMN_FILE)
    spec = parser.get_spec(PROCESS)
    subprocess_specs = parser.get_subprocess_specs(PROCESS)
    roots = {PROCESS: spec, **{f"subprocess_specs[{name!r}]": sub for name, sub in subprocess_specs.items()}}
    checked = {
        token
        for _process, _owner, source in specs.all_sources(spec, subprocess_specs)
        for token in SENTINEL.findall(source.text)
    }
    written = {token for text in texts.values() for token in SENTINEL.findall(_without_comments(text))}
    return Parsed(frozenset(written), reachable_sentinels(roots), frozenset(checked))


def _without_comments(text: str) -> str:
    return re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)


def test_the_fixture_names_each_sentinel_once_and_describes_it(parsed: Parsed) -> None:
    assert parsed.written == set(SLOTS)
    for name in (BPMN_FILE, DMN_FILE):
        tokens = SENTINEL.findall(_without_comments((FIXTURES / name).read_text(encoding="utf-8")))
        assert len(tokens) == len(set(tokens)), f"a sentinel is used twice in {name}"


def test_every_sentinel_written_is_kept_by_the_parser_or_documented_as_dropped(parsed: Parsed) -> None:
    lost = parsed.written - set(parsed.reachable)
    assert lost == set(DROPPED_BY_PARSER), {token: SLOTS[token] for token in lost ^ set(DROPPED_BY_PARSER)}


def test_the_walk_sees_every_kind_of_holder() -> None:
    """Sanity of the walker itself: a string in a dict key, a slot, a tuple and an XML node is found; cycles end."""
    class Slotted:
        __slots__ = ("text",)
        __module__ = "engine.fake"

        def __init__(self) -> None:
            self.text = "zk_sentinel_97"

    cyclic: list[Any] = []
    cyclic.append(cyclic)
    roots = {
        "a": {"zk_sentinel_95": 1},
        "b": (Slotted(),),
        "c": etree.fromstring("<x>zk_sentinel_96</x>"),
        "d": cyclic,
    }
    assert set(reachable_sentinels(roots)) == {"zk_sentinel_95", "zk_sentinel_96", "zk_sentinel_97"}


def test_a_decision_deployed_on_its_own_is_covered_too() -> None:
    """A table no process calls (deployed like assessment_scoring) is checked through the same decision_sources()."""
    parser = new_parser()
    parser.add_dmn_xml(parse_xml((FIXTURES / DMN_FILE).read_text(encoding="utf-8"), DMN_FILE), filename=DMN_FILE)
    engine = parser.get_engine("zk_decision", None)
    reachable = reachable_sentinels({"zk_decision": engine})
    checked = {token for source in specs.decision_sources(engine) for token in SENTINEL.findall(source.text)}
    assert set(reachable) == {"zk_sentinel_41", "zk_sentinel_42", "zk_sentinel_43", "zk_sentinel_49", "zk_sentinel_50",
                              "zk_sentinel_51"}
    assert set(reachable) <= checked, {token: reachable[token] for token in set(reachable) - checked}


def test_collection_references_are_names_not_expressions() -> None:
    """loopDataInputRef, loopDataOutputRef and the data items name task-data variables (read as task.data[name]),
    so the fixture gives them plain names rather than sentinels."""
    parser = new_parser()
    parser.add_dmn_xml(parse_xml((FIXTURES / DMN_FILE).read_text(encoding="utf-8"), DMN_FILE), filename=DMN_FILE)
    parser.add_bpmn_xml(parse_xml((FIXTURES / BPMN_FILE).read_text(encoding="utf-8"), BPMN_FILE), filename=BPMN_FILE)
    task_spec = parser.get_spec(PROCESS).task_specs["mi_collection"]
    references = (task_spec.data_input, task_spec.data_output, task_spec.input_item, task_spec.output_item)
    assert all(isinstance(ref, TaskDataReference) for ref in references)
    assert [ref.bpmn_id for ref in references] == ["zk_collection", "zk_collection_out", "zk_collection_item", "zk_collection_result"]
    assert task_spec.cardinality is None


CASES = [
    pytest.param(token, id=f"{token.removeprefix('zk_sentinel_')}-{SLOTS[token]}",
                 marks=[pytest.mark.xfail(strict=True, reason=UNCHECKED[token])] if token in UNCHECKED else [])
    for token in sorted(SLOTS)
    if token not in DROPPED_BY_PARSER
]


@pytest.mark.parametrize("token", CASES)
def test_each_expression_the_parser_keeps_is_returned_by_sources(parsed: Parsed, token: str) -> None:
    assert token in parsed.reachable, f"{SLOTS[token]}: the parser did not keep it"
    assert token in parsed.checked, f"{SLOTS[token]} is held at {parsed.reachable[token]} but specs.sources() never returns it"


def test_nothing_reachable_escapes_sources_beyond_the_known_holes(parsed: Parsed) -> None:
    """The whole-spec view of the per-slot cases: the only reachable, unchecked sentinels are the documented holes."""
    unchecked = set(parsed.reachable) - parsed.checked
    assert unchecked <= set(UNCHECKED), {token: parsed.reachable[token] for token in unchecked - set(UNCHECKED)}
