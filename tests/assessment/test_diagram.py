"""The coordination item process opens in bpmn.io with a readable layout, like the lifecycle."""
from __future__ import annotations

from lxml import etree

from tests.conftest import BPMN_DIR
from tests.engine.test_diagram import FLOW_NODES, NS

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}property"


def load() -> etree._Element:
    return etree.parse(str(BPMN_DIR / "coordination_item.bpmn")).getroot()


def boxes(root: etree._Element) -> dict[str, tuple[float, ...]]:
    found = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        b = shape.find("dc:Bounds", NS)
        found[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    return found


def test_every_node_has_a_shape_and_every_flow_an_edge_that_touches_both_ends() -> None:
    root = load()
    nodes = {n.get("id") for tag in FLOW_NODES for n in root.iterfind(f".//bpmn:{tag}", NS)}
    shapes = boxes(root)
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert len(nodes) >= 13 and nodes <= set(shapes), nodes - set(shapes)
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        points = [(float(p.get("x")), float(p.get("y"))) for p in edges[flow.get("id")].findall("di:waypoint", NS)]
        assert len(points) >= 2, flow.get("id")
        for end, (px, py) in ((flow.get("sourceRef"), points[0]), (flow.get("targetRef"), points[-1])):
            x, y, w, h = shapes[end]
            assert x - 1 <= px <= x + w + 1 and y - 1 <= py <= y + h + 1, (flow.get("id"), end)


def test_no_two_shapes_overlap_and_lanes_contain_their_nodes() -> None:
    root = load()
    nodes = {n.get("id") for tag in FLOW_NODES for n in root.iterfind(f".//bpmn:{tag}", NS)}
    shapes = boxes(root)
    placed = sorted((shapes[n], n) for n in nodes)
    for i, ((x1, y1, w1, h1), a) in enumerate(placed):
        for (x2, y2, w2, h2), b in placed[i + 1:]:
            assert not (x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1), (a, b)
    for lane in root.iterfind(".//bpmn:lane", NS):
        lx, ly, lw, lh = shapes[lane.get("id")]
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, hh = shapes[ref.text]
            assert lx <= x and x + w <= lx + lw and ly <= y and y + hh <= ly + lh, (lane.get("name"), ref.text)


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
