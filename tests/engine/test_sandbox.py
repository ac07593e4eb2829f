"""Expressions run sandboxed: hostile conditions are refused at deploy and cannot run at all."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.projects import lifecycle
from engine.workflow import definitions
from engine.platform.errors import DefinitionInvalid, LimitExceeded, SandboxViolation
from engine.workflow.sandbox import SCRIPT_ENGINE, Limits, use
from engine.workflow.sandbox.guards import measure
from tests.conftest import BPMN_DIR, Helper

HOSTILE = "__import__('os').system('touch {marker}')"


def test_hostile_condition_is_refused_at_deploy_naming_the_element(h: Helper, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    files = definitions.read_bundle(BPMN_DIR)
    hostile = HOSTILE.format(marker=marker).replace("'", "&apos;")
    bpmn = files["project_lifecycle.bpmn"]
    assert "has_intent == True" in bpmn
    files["project_lifecycle.bpmn"] = bpmn.replace("has_intent == True", hostile, 1)
    with h.db.session() as s, pytest.raises(DefinitionInvalid) as err:
        definitions.deploy(s, files, lifecycle.LIFECYCLE)
    assert "__import__" in str(err.value)
    assert err.value.problems[0]["element"]
    assert not marker.exists()


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('touch {marker}')",
        "open('{marker}', 'w')",
        "eval('1')",
        "().__class__.__bases__[0].__subclasses__()",
        "'{{0.__class__}}'.format(1)",
        "exec('x=1')",
    ],
)
def test_sandbox_refuses_dangerous_expressions_and_runs_nothing(tmp_path: Path, expression: str) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(SandboxViolation):
        SCRIPT_ENGINE.environment.evaluate(expression.format(marker=marker), {})
    assert not marker.exists()


def test_sandbox_still_evaluates_ordinary_conditions() -> None:
    env = SCRIPT_ENGINE.environment
    assert env.evaluate('decision == "approve" and land_mu <= 50', {"decision": "approve", "land_mu": 50.0}) is True
    assert env.evaluate("max(a, b) + len(items)", {"a": 1, "b": 3, "items": [1, 2]}) == 5


def test_ordinary_scripts_keep_working_under_the_guards() -> None:
    env = SCRIPT_ENGINE.environment
    data: dict[str, Any] = {"items": [{"name": "甲", "amount": 12.5}, {"name": "乙", "amount": 7.5}], "rate": 2}
    script = "\n".join([
        "total = sum(i['amount'] for i in items)",
        "names = sorted({i['name'] for i in items})",
        "by_name = {i['name']: i['amount'] * rate for i in items}",
        "label = f\"{len(items)}项，合计{total:.1f}万元\"",
        "big = [i for i in items if i['amount'] > 10]",
        "count = 0",
        "for i in range(10):",
        "    if i % 2 == 0:",
        "        continue",
        "    count += i",
        "by_name['丙'] = 0",
        "by_name['丙'] += 1",
        "parts = '、'.join(names).split('、')",
        "first = items[0]['name'].strip().upper()",
        "window = items[:1] + items[1:]",
        "ok = 0 < total <= 100 and 'x' not in names",
    ])
    env.execute(script, data)
    assert data["total"] == 20.0 and data["names"] == ["乙", "甲"] and data["by_name"] == {"甲": 25.0, "乙": 15.0, "丙": 1}
    assert data["label"] == "2项，合计20.0万元" and data["count"] == 25 and data["parts"] == ["乙", "甲"]
    assert data["first"] == "甲" and data["window"] == data["items"] and data["ok"] is True


@pytest.mark.parametrize(
    "source,limit",
    [
        ("10 ** 10 ** 10", "整数位数"),
        ("sum(range(10 ** 13))", "range 长度"),
        ("'x' * 10 ** 10", "文本长度"),
        ("[0] * 10 ** 9", "列表长度"),
        ("'a'.ljust(10 ** 10)", "文本长度"),
        ("('ab' * 1000).replace('', 'x' * 1000)", "文本长度"),
        ("1 << 10 ** 9", "整数位数"),
        ("[[x for x in range(100000)] for y in range(100000)]", "循环次数|执行时间"),
    ],
)
def test_sizes_are_checked_before_the_operation_runs(source: str, limit: str) -> None:
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match=limit):
        SCRIPT_ENGINE.environment.evaluate(source, {})
    assert time.monotonic() - started < 2


def test_scripts_stop_at_their_deadline_and_shared_trees_are_refused() -> None:
    env = SCRIPT_ENGINE.environment
    use(Limits(script_seconds=0.05, max_iterations=10**9))
    try:
        started = time.monotonic()
        with pytest.raises(LimitExceeded, match="执行时间"):
            env.execute("n = 0\nfor a in range(100000):\n    for b in range(100000):\n        n += 1", {})
        assert time.monotonic() - started < 1
    finally:
        use(None)
    with pytest.raises(LimitExceeded, match="数据"):
        env.execute("l = [1]\nfor i in range(60):\n    l = [l, l]\ns = str(l)", {})
    with pytest.raises(LimitExceeded, match="嵌套"):
        env.execute("t = ()\nfor i in range(100000):\n    t = (t,)\ns = {t}", {})


def test_a_script_cannot_store_more_than_the_task_data_ceiling() -> None:
    data: dict[str, Any] = {}
    with pytest.raises(LimitExceeded, match="任务数据"):
        SCRIPT_ENGINE.environment.execute("a = 'x' * 900000\nb = 'y' * 900000", data)


def test_attributes_are_checked_against_the_value_type_at_run_time() -> None:
    env = SCRIPT_ENGINE.environment
    assert env.evaluate("name.upper()", {"name": "abc"}) == "ABC"
    with pytest.raises(SandboxViolation):
        env.evaluate("(x for x in items).count(1)", {"items": [1]})
    with pytest.raises(SandboxViolation):
        env.evaluate("(x for x in items)", {"items": [1]})


def test_data_measurement_counts_each_element_and_refuses_each_limit_alone() -> None:
    """Texts are counted where their container opens, by the same rules as every other element."""
    limits = Limits()
    shared = ["x" * 5, 7]
    data = {"ab": "cde", "list": [shared, shared, ("y", None)], "n": {"deep": {"er": True}}}
    # dict 2 + keys 4 + 6 + 3 + "cde" 5; the list 2 + each shared list (2 + 7 + 8) twice + the tuple (2 + 3 + 8); {"deep": …} 2 + 6
    # + {"er": True} 2 + 4 + 8
    assert measure(data, limits) == 2 + 4 + 6 + 3 + 5 + 2 + 2 * (2 + 7 + 8) + (2 + 3 + 8) + 2 + 6 + 2 + 4 + 8
    with pytest.raises(LimitExceeded, match="文本长度"):
        measure({"a": ["ok", "x" * 11]}, replace(limits, max_string=10))
    with pytest.raises(LimitExceeded, match="文本长度"):
        measure({"x" * 11: 1}, replace(limits, max_string=10))
    with pytest.raises(LimitExceeded, match="数据元素数量"):
        measure(["a"] * 10, replace(limits, max_nodes=10))
    assert measure(["a"] * 9, replace(limits, max_nodes=10)) == 2 + 9 * 3
    with pytest.raises(LimitExceeded, match="数据嵌套层数"):
        measure({"a": {"b": "c"}}, replace(limits, max_depth=1))
    assert measure({"a": {"b": {}}}, replace(limits, max_depth=2)) == 2 + 3 + 2 + 3 + 2  # an empty container at the last level is fine
    with pytest.raises(LimitExceeded, match="数据大小"):
        measure({"a": "x" * 40}, replace(limits, max_task_data_bytes=40))
