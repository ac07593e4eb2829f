"""The lifecycle opens in bpmn.io with a readable layout: shapes, routed edges, no overlaps."""
from __future__ import annotations

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


def load() -> etree._Element:
    return etree.parse(str(BPMN_DIR / "project_lifecycle.bpmn")).getroot()


def test_every_node_has_a_shape_and_every_flow_an_edge_with_waypoints() -> None:
    root = load()
    nodes = {n.get("id") for tag in FLOW_NODES for n in root.iterfind(f".//bpmn:{tag}", NS)}
    flows = {f.get("id") for f in root.iterfind(".//bpmn:sequenceFlow", NS)}
    shapes = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert len(nodes) > 30 and nodes <= shapes, nodes - shapes
    assert flows <= set(edges), flows - set(edges)
    for flow_id in flows:
        assert len(edges[flow_id].findall("di:waypoint", NS)) >= 2, flow_id


def test_no_two_shapes_overlap_and_lanes_contain_their_nodes() -> None:
    root = load()
    nodes = {n.get("id") for tag in FLOW_NODES for n in root.iterfind(f".//bpmn:{tag}", NS)}
    boxes = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        b = shape.find("dc:Bounds", NS)
        boxes[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    placed = sorted((boxes[n], n) for n in nodes)
    for i, ((x1, y1, w1, h1), a) in enumerate(placed):
        for (x2, y2, w2, h2), b in placed[i + 1:]:
            overlap = x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1
            assert not overlap, (a, b)
    for lane in root.iterfind(".//bpmn:lane", NS):
        lx, ly, lw, lh = boxes[lane.get("id")]
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, hh = boxes[ref.text]
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
