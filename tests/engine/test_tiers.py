"""SPEC §4: the 13 tier examples through the real BPMN, and every tier route end to end."""
from __future__ import annotations

import json

import pytest
from lxml import etree
from sqlalchemy import select

from engine.projects import lifecycle
from engine.workflow import definitions
from engine.projects import corrections
from engine.platform.models import Event, Project
from tests.conftest import APPROVE, BPMN_DIR, Helper, approval_form, drive_to_tier

FIRST_STEP = {
    "T1": "t1_head_consent",
    "T2": "t2_deputy_review",
    "T3": "t3_deputy_review",
    "Z1": "z1_zone_approval",
    "Z3": "z3_standing_committee",
}
CATEGORY = {"服务业": "services", "文旅": "tourism", "康养": "health", "工业": "industrial", "农业": "agriculture", "商业": "commerce"}

# needs land, mu, category, zone, 一事一议, tier — the SPEC §4 table verbatim
EXAMPLES = [
    (False, None, "服务业", False, False, "T1"),
    (True, 20, "文旅", False, False, "T1"),
    (True, 20.5, "康养", False, False, "T2"),
    (True, 30, "工业", False, False, "T1"),
    (True, 30.01, "工业", False, False, "T2"),
    (True, 50, "农业", False, False, "T2"),
    (True, 50.1, "工业", False, False, "T3"),
    (True, 45, "工业", True, False, "Z1"),
    (True, 50, "商业", True, False, "Z1"),
    (True, 80, "工业", True, False, "Z3"),
    (True, 10, "工业", False, True, "T2"),
    (True, 40, "文旅", False, True, "T3"),
    (True, 120, "工业", False, True, "T3"),
]


@pytest.mark.parametrize("needs_land,mu,category,zone,support,tier", EXAMPLES)
def test_spec_examples_route_to_their_tier(hs: Helper, needs_land: bool, mu: float, category: str, zone: bool, support: bool, tier: str) -> None:
    unit_user = "jinpan" if zone else "anwen"
    pid = hs.register(by=unit_user, category=CATEGORY[category])
    drive_to_tier(hs, pid, unit_user, approval_form(needs_land, mu or 0, support))
    assert hs.only_ready(pid).bpmn_id == FIRST_STEP[tier]
    assert hs.project(pid).tier == tier
    with hs.db.session() as s:
        decision = s.scalars(select(Event).where(Event.project_id == pid, Event.kind == "decision")).one()
    assert decision.payload["tier"] == tier
    assert decision.payload["inputs"]["dev_zone"] is zone


# tier → [(bpmn id, the official who must act)] after the first step
ROUTES = {
    "T1": (False, 0, "anwen", [("t1_head_consent", "xianzhang"), ("t1_deputy_approval", "fx_gongye")]),
    "T2": (True, 40, "anwen", [("t2_deputy_review", "fx_gongye"), ("t2_head_meeting", "xzbgh"), ("t2_head_approval", "xianzhang")]),
    "T3": (
        True,
        60,
        "anwen",
        [
            ("t3_deputy_review", "fx_gongye"),
            ("t3_head_meeting", "xzbgh"),
            ("t3_standing_committee", "changwei"),
            ("t3_head_approval", "xianzhang"),
        ],
    ),
    "Z1": (True, 45, "jinpan", [("z1_zone_approval", "jinpan")]),
    "Z3": (True, 80, "jinpan", [("z3_standing_committee", "changwei"), ("z3_head_approval", "xianzhang")]),
}


@pytest.mark.parametrize("tier", sorted(ROUTES))
def test_each_tier_route_runs_to_construction_start_with_the_right_officials(h: Helper, tier: str) -> None:
    needs_land, mu, unit_user, steps = ROUTES[tier]
    pid = h.register(by=unit_user)
    drive_to_tier(h, pid, unit_user, approval_form(needs_land, mu))
    for bpmn_id, official in steps:
        assert h.only_ready(pid).bpmn_id == bpmn_id
        assert h.actors_for(pid) == [official]
        h.complete(pid, official, APPROVE, bpmn_id)
    assert h.project(pid).stage == "signing"
    assert h.project(pid).approved_at is not None
    h.complete(pid, unit_user, {"signed_date": "2026-10-01", "contract_amount": 48000}, "sign_contract")
    h.complete(pid, unit_user, {"company_registered": True}, "project_landing")
    outcome = h.complete(pid, unit_user, {"start_date": "2026-11-20", "funds_in_place": 12000}, "construction_start")
    project = h.project(pid)
    assert outcome.status == "completed" and outcome.ready == []
    assert (project.status, project.stage) == ("started", "started")
    assert str(project.signed_date) == "2026-10-01" and float(project.funds_in_place) == 12000
    assert h.ready(pid) == []


def _with_manufacturing_column(files: dict[str, str]) -> dict[str, str]:
    """The tier table with one more input column (is_manufacturing, '-' in every rule) and cases that give it."""
    ns = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    root = etree.fromstring(files["approval_tier.dmn"].encode("utf-8"))
    table = root.find(f".//{{{ns}}}decisionTable")
    last_input = table.findall(f"{{{ns}}}input")[-1]
    column = etree.fromstring(
        f'<input xmlns="{ns}" id="input_is_manufacturing" label="是否制造业">'
        '<inputExpression id="input_expr_is_manufacturing" typeRef="boolean"><text>is_manufacturing</text></inputExpression>'
        "</input>"
    )
    last_input.addnext(column)
    for rule in table.findall(f"{{{ns}}}rule"):
        entries = rule.findall(f"{{{ns}}}inputEntry")
        entries[-1].addnext(etree.fromstring(f'<inputEntry xmlns="{ns}" id="{rule.get("id")}_in_mfg"><text>-</text></inputEntry>'))
    cases = json.loads(files["approval_tier.cases.json"])
    for case in cases["cases"]:
        case["inputs"]["is_manufacturing"] = False
    return {**files, "approval_tier.dmn": etree.tostring(root, encoding="unicode"),
            "approval_tier.cases.json": json.dumps(cases, ensure_ascii=False)}


def test_a_new_decision_column_reaches_the_decision_without_any_python_change(hs: Helper) -> None:
    files = _with_manufacturing_column(definitions.read_bundle(BPMN_DIR))
    with hs.db.session() as s:
        _, created = definitions.deploy(s, files, lifecycle.LIFECYCLE)
    assert created
    pid = hs.register(is_manufacturing=True)
    drive_to_tier(hs, pid, "anwen", approval_form(True, 30))
    with hs.db.session() as s:
        decision = s.scalars(select(Event).where(Event.project_id == pid, Event.kind == "decision")).one()
    assert decision.payload["inputs"]["is_manufacturing"] is True
    assert decision.payload["tier"] == "T1" and set(decision.payload["inputs"]) >= {"land_mu", "category", "dev_zone"}
    with hs.db.session() as s:
        project = s.get_one(Project, pid)
        decided_by = corrections.tier_fields(s, project)
        assert {"is_manufacturing", "landing_unit_id", "landing_platform_id", "land_mu"} <= set(decided_by)
        assert "is_manufacturing" in corrections.locked(project, decided_by)


@pytest.mark.parametrize("platform,zone", [("jinpan", True), (None, False)])
def test_the_dev_zone_fact_follows_the_landing_platform_the_registration_names(hs: Helper, platform: str | None, zone: bool) -> None:
    """A project of a township unit that lands on the development zone's platform is decided as the zone's (and one without a
    platform as its landing unit's): registration hands the record the units it validated."""
    extra = {"landing_platform_id": hs.unit(platform)} if platform else {}
    pid = hs.register(by="anwen", **extra)
    drive_to_tier(hs, pid, "anwen", approval_form(True, 30))
    with hs.db.session() as s:
        decision = s.scalars(select(Event).where(Event.project_id == pid, Event.kind == "decision")).one()
    assert decision.payload["inputs"]["dev_zone"] is zone
