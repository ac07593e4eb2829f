"""The 计分规则 page reads the scoring table's FEEL cells as words."""
from __future__ import annotations

from engine.supervision.assessment import CLASS_LABELS, EVENT_LABELS, readable_cell


def test_scoring_rule_cells_read_as_words() -> None:
    assert readable_cell('"signed"', EVENT_LABELS) == "签约"
    assert readable_cell('"signed", "landed"', EVENT_LABELS) == "签约、落地"
    assert readable_cell('not("criticised")', EVENT_LABELS) == "除通报批评以外"
    assert readable_cell('"mfg_7yi"', CLASS_LABELS) == "7亿元以上制造业"
    assert readable_cell("-", EVENT_LABELS) == "任意" and readable_cell("[1..5]", EVENT_LABELS) == "[1..5]"
