"""Bounds on what a timer expression may evaluate to, checked before SpiffWorkflow turns it into dates.

SpiffWorkflow adds a duration month by month in Python, so `P999999999999Y` would run for
hours; a cycle with no count or a zero interval would fire at every sweep for ever.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from engine.platform.errors import LimitExceeded
from engine.workflow.sandbox.limits import Limits

MAX_YEARS = 100
SECONDS_PER_UNIT = {"years": 366 * 86400, "months": 31 * 86400, "weeks": 7 * 86400, "days": 86400,
                    "hours": 3600, "minutes": 60, "seconds": 1}
EARLIEST_YEAR, LATEST_YEAR = 1990, 2200
SHORTEST_CYCLE_SECONDS = 60


def check_timer_value(definition: Any, value: Any, limits: Limits) -> None:
    """Refuse a timer value SpiffWorkflow would take unbounded time or firings to handle."""
    if not isinstance(value, str) or len(value) > 100:
        raise LimitExceeded(f"定时器表达式的结果应为不超过 100 个字符的 ISO-8601 文本，实际为 {type(value).__name__}")
    if isinstance(definition, TimeDateEventDefinition):
        if value.upper().startswith(("P", "R")):
            raise LimitExceeded(f"定时器时间“{value}”应为日期时间（如 2026-12-31T09:00:00），时长请用定时器时长")
        _check_date(value)
    elif isinstance(definition, DurationTimerEventDefinition):
        _check_duration(value)
    elif isinstance(definition, CycleTimerEventDefinition):
        _check_cycle(value, limits)


def _check_date(text: str) -> None:
    if text.upper().startswith("P"):
        _check_duration(text)
        return
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if "W" in text.upper():
            return
        raise LimitExceeded(f"定时器时间“{text}”不是 ISO-8601 日期时间") from None
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise LimitExceeded(f"定时器时间“{text}”不在 {EARLIEST_YEAR}–{LATEST_YEAR} 年之间")


def _check_duration(text: str) -> float:
    try:
        parts = TimerEventDefinition.parse_iso_duration(text)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises a bare Exception for a malformed duration
        raise LimitExceeded(f"定时器时长“{text}”不是 ISO-8601 时长（如 P15D、PT2H）") from None
    seconds: float = sum(SECONDS_PER_UNIT[unit] * amount for unit, amount in parts.items())
    if seconds > MAX_YEARS * SECONDS_PER_UNIT["years"]:
        raise LimitExceeded(f"定时器时长“{text}”超过上限 {MAX_YEARS} 年")
    return seconds


def _check_cycle(text: str, limits: Limits) -> None:
    parts = text.upper().replace("--", "/").split("/")
    count = parts[0].removeprefix("R")
    if not parts[0].startswith("R") or not count.isdigit() or not 1 <= int(count) <= limits.max_loop_iterations:
        raise LimitExceeded(f"定时器周期“{text}”须写明重复次数（R1 到 R{limits.max_loop_iterations}），不能无限重复")
    durations = [part for part in parts[1:] if part.startswith("P")]
    for part in parts[1:]:
        if not part.startswith("P"):
            _check_date(part)
    if not durations or any(_check_duration(d) < SHORTEST_CYCLE_SECONDS for d in durations):
        raise LimitExceeded(f"定时器周期“{text}”的间隔须至少 {SHORTEST_CYCLE_SECONDS} 秒")
