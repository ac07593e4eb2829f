"""Impact preview of a changed tier table: the running projects whose tier would change, old → new,
computed from what each project stored (ledger facts and form answers)."""
from __future__ import annotations

from engine.projects import lifecycle
from engine.workflow import impact
from tests.conftest import Helper, approval_form, drive_to_tier
from tests.definitions.bundles import BUNDLE, DMN, RAISE_20_TO_25, edited


def raised_threshold() -> dict[str, str]:
    def change(text: str) -> str:
        for old, new in RAISE_20_TO_25:
            text = text.replace(old, new)
        return text
    return edited(DMN, change)


def test_preview_lists_exactly_the_projects_whose_tier_changes(h: Helper) -> None:
    waiting = h.register(name="康养22亩", category="health", needs_land=True, land_mu=22)
    h.register(name="工业22亩", category="industrial", needs_land=True, land_mu=22)
    h.register(name="文旅30亩", category="tourism", needs_land=True, land_mu=30)
    h.register(name="不供地", category="services")
    decided = h.register(name="康养已决策", category="health", needs_land=True, land_mu=10)
    drive_to_tier(h, decided, "anwen", approval_form(True, 24))  # the form's 24 亩 overrides the 10 registered
    assert h.project(decided).tier == "T2"
    with h.db.session() as s:
        changed, rows = impact.preview(s, lifecycle.LIFECYCLE, raised_threshold())
    assert changed == ["approval_tier"]
    by_name = {r.project_name: r for r in rows}
    assert sorted(by_name) == ["康养22亩", "康养已决策"]
    assert (by_name["康养22亩"].old, by_name["康养22亩"].new) == ({"tier": "T2"}, {"tier": "T1"})
    assert by_name["康养22亩"].project_id == waiting and not by_name["康养22亩"].decided
    assert by_name["康养已决策"].decided and by_name["康养已决策"].inputs["land_mu"] == 24
    assert by_name["康养22亩"].inputs == {
        "dev_zone": False, "one_case_support": False, "needs_land": True, "category": "health", "land_mu": 22.0,
    }


def test_unchanged_tables_affect_nobody(hs: Helper) -> None:
    hs.register(category="health", needs_land=True, land_mu=22)
    renamed_task = edited("project_lifecycle.bpmn", lambda t: t.replace('name="确认投资意向"', 'name="确认意向"', 1))
    with hs.db.session() as s:
        assert impact.preview(s, lifecycle.LIFECYCLE, renamed_task) == ([], [])
        assert impact.preview(s, lifecycle.LIFECYCLE, BUNDLE) == ([], [])
