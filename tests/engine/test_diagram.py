"""Both processes open in bpmn.io with a readable layout: shapes, routed edges, no overlaps."""
from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import BPMN_DIR

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
FLOW_NODES = ("startEvent", "endEvent", "userTask", "businessRuleTask", "exclusiveGateway", "scriptTask",
              "intermediateCatchEvent", "boundaryEvent", "parallelGateway", "serviceTask")


PROCESS_FILES = ["project_lifecycle.bpmn", "coordination_item.bpmn"]


def load(name: str = "project_lifecycle.bpmn") -> etree._Element:
    return etree.parse(str(BPMN_DIR / name)).getroot()


def boxes(root: etree._Element) -> dict[str, tuple[float, ...]]:
    """Element id → (x, y, width, height) of its shape."""
    found: dict[str, tuple[float, ...]] = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        b = shape.find("dc:Bounds", NS)
        found[shape.attrib["bpmnElement"]] = tuple(float(b.attrib[k]) for k in ("x", "y", "width", "height"))
    return found


def flow_nodes(root: etree._Element) -> set[str]:
    return {n.attrib["id"] for tag in FLOW_NODES for n in root.iterfind(f".//bpmn:{tag}", NS)}


@pytest.mark.parametrize("name", PROCESS_FILES)
def test_every_node_has_a_shape_and_every_flow_an_edge_that_touches_both_ends(name: str) -> None:
    root = load(name)
    nodes = flow_nodes(root)
    shapes = boxes(root)
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert len(nodes) >= 13 and nodes <= set(shapes), nodes - set(shapes)
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        assert flow.get("id") in edges, flow.get("id")
        points = [(float(p.attrib["x"]), float(p.attrib["y"])) for p in edges[flow.get("id")].findall("di:waypoint", NS)]
        assert len(points) >= 2, flow.get("id")
        for end, (px, py) in ((flow.get("sourceRef"), points[0]), (flow.get("targetRef"), points[-1])):
            x, y, w, h = shapes[end]
            assert x - 1 <= px <= x + w + 1 and y - 1 <= py <= y + h + 1, (flow.get("id"), end)


@pytest.mark.parametrize("name", PROCESS_FILES)
def test_no_two_shapes_overlap_and_lanes_contain_their_nodes(name: str) -> None:
    root = load(name)
    shapes = boxes(root)
    placed = sorted((shapes[n], n) for n in flow_nodes(root))
    for i, ((x1, y1, w1, h1), a) in enumerate(placed):
        for (x2, y2, w2, h2), b in placed[i + 1:]:
            assert not (x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1), (a, b)
    for lane in root.iterfind(".//bpmn:lane", NS):
        lx, ly, lw, lh = shapes[lane.get("id")]
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, hh = shapes[ref.text]
            assert lx <= x and x + w <= lx + lw and ly <= y and y + hh <= ly + lh, (lane.get("name"), ref.text)


def test_every_user_task_sits_in_a_lane_and_names_a_form_and_due_duration() -> None:
    root = load()
    in_lane = {ref.text for ref in root.iterfind(".//bpmn:lane/bpmn:flowNodeRef", NS)}
    tasks = list(root.iterfind(".//bpmn:userTask", NS))
    assert len(tasks) >= 19
    for task in tasks:
        assert task.get("id") in in_lane
        props = {p.get("name"): p.get("value") for p in task.iterfind(".//{http://spiffworkflow.org/bpmn/schema/1.0/core}property")}
        assert (BPMN_DIR / "forms" / props["formJsonSchemaFilename"]).exists()
        assert props["dueIn"].startswith("P")
