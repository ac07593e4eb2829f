"""Expressions run sandboxed: hostile conditions are refused at deploy and cannot run at all."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import definitions, runtime
from engine.errors import DefinitionInvalid, SandboxViolation
from engine.sandbox import SCRIPT_ENGINE
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
        definitions.deploy(s, files, runtime.LIFECYCLE)
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
