"""Timer values SpiffWorkflow would take unbounded time or firings to handle are refused: at deploy when literal, at run time otherwise."""
from __future__ import annotations

import time

import pytest

from engine.projects import lifecycle
from engine.workflow import definitions
from engine.platform.errors import DefinitionInvalid
from tests.security import helpers as H

REFUSED_LITERALS = [
    ("timeDuration", "'P999999999999Y'", "超过上限 100 年"),
    ("timeDuration", "'PT99999999999999S'", "超过上限 100 年"),
    ("timeDuration", "'2026-13-01'", "不是 ISO-8601 时长"),
    ("timeDate", "'P15D'", "应为日期时间"),
    ("timeDate", "'9999-01-01T00:00:00'", "1990–2200"),
    ("timeDate", "'not a date'", "不是 ISO-8601 日期时间"),
    ("timeCycle", "'R/PT1H'", "须写明重复次数"),
    ("timeCycle", "'R999999/PT1H'", "须写明重复次数"),
    ("timeCycle", "'R5/PT0S'", "间隔须至少 60 秒"),
    ("timeCycle", "'R5/P999999999Y'", "超过上限 100 年"),
    ("timeDuration", "5", "ISO-8601 文本"),
]


@pytest.mark.parametrize("kind,expression,message", REFUSED_LITERALS, ids=[f"{k}-{e}" for k, e, _ in REFUSED_LITERALS])
def test_a_literal_timer_value_is_refused_at_deploy_naming_the_element(kind: str, expression: str, message: str) -> None:
    with pytest.raises(DefinitionInvalid) as err:
        definitions.build(H.timer_event(kind, expression), lifecycle.LIFECYCLE, strict=True)
    assert any(p["element"] == "zk_timer" and message in p["message"] for p in err.value.problems), err.value.problems


@pytest.mark.parametrize("kind,value", [("timeDuration", "P999999999999Y"), ("timeCycle", "R/PT0S"), ("timeDate", "P1D")])
def test_a_timer_value_from_data_is_refused_at_run_time_within_a_second(kind: str, value: str) -> None:
    started = time.thread_time()
    run = H.run_workflow(H.timer_event(kind, "zk_when"), {"zk_when": value})
    assert time.thread_time() - started < 5
    assert run.error is not None and run.error["bpmn_id"] == "zk_timer" and run.error["type"] == "LimitExceeded", run


@pytest.mark.parametrize("kind,expression", [("timeDuration", "'P15D'"), ("timeDate", "'2026-12-31T09:00:00'"),
                                              ("timeCycle", "'R3/PT1H'")])
def test_ordinary_timer_values_still_deploy_and_wait(kind: str, expression: str) -> None:
    run = H.run_workflow(H.timer_event(kind, expression))
    assert run.error is None, run
