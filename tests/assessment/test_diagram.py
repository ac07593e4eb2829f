"""The coordination item process: every step in a lane with a form and due duration; reports per item."""
from __future__ import annotations

from lxml import etree

from tests.conftest import BPMN_DIR
from tests.engine.test_diagram import NS

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}property"


def load() -> etree._Element:
    return etree.parse(str(BPMN_DIR / "coordination_item.bpmn")).getroot()


def test_every_user_task_sits_in_a_lane_with_a_form_and_due_duration_and_reports_are_per_item() -> None:
    root = load()
    in_lane = {ref.text for ref in root.iterfind(".//bpmn:lane/bpmn:flowNodeRef", NS)}
    tasks = list(root.iterfind(".//bpmn:userTask", NS))
    assert len(tasks) == 6
    for task in tasks:
        assert task.get("id") in in_lane
        props = {p.get("name"): p.get("value") for p in task.iterfind(f".//{SPIFF}")}
        assert (BPMN_DIR / "forms" / props["formJsonSchemaFilename"]).exists()
        assert props["dueIn"].startswith("P")
    report = root.find(".//bpmn:userTask[@id='report_item']", NS)
    assert report.find("bpmn:multiInstanceLoopCharacteristics/bpmn:loopDataInputRef", NS).text == "items"
