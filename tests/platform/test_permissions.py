"""The permission policy: every grant names a declared role and scope, every role has a Chinese name and a use, and checks answer by scope."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import pytest

from engine.platform import permissions
from engine.platform.config import PROJECT_ROOT
from engine.platform.errors import NotAllowed
from engine.workflow import validation


def lane_roles() -> dict[str, str]:
    """Lane name → role key, as bpmn/lanes.yaml maps them."""
    config = validation.load_lanes((PROJECT_ROOT / "bpmn" / "lanes.yaml").read_text(encoding="utf-8"))
    return {lane: mapping["role"] for lane, mapping in config["lanes"].items()}


def test_every_grant_names_a_declared_role_and_scope() -> None:
    problems = [(key, role, scope) for key, action in permissions.ACTIONS.items() for role, scope in action.grants.items()
                if not permissions.is_role(role) or scope not in permissions.SCOPE_NAMES]
    assert problems == []
    assert all(action.grants and action.name for action in permissions.ACTIONS.values())


def test_every_declared_role_is_used_by_a_lane_or_an_action() -> None:
    used = set(lane_roles().values()) | {role for action in permissions.ACTIONS.values() for role in action.grants}
    assert sorted(set(permissions.ROLES) - used) == []


def test_every_role_has_a_chinese_name_and_a_duty() -> None:
    chinese = re.compile(r"[\u4e00-\u9fff]")
    assert [key for key, role in permissions.ROLES.items() if not (chinese.search(role.name) and chinese.search(role.duty))] == []


def test_the_bodies_the_county_policy_names_beside_the_lanes_are_declared() -> None:
    """驻外招商（引才）联络处 collect leads, 行业主管部门 and 要素保障部门 join the project teams, 县督考办 issues 交办单."""
    names = {"liaison_office": "驻外招商联络处", "industry_dept": "行业主管部门", "element_dept": "要素保障部门", "supervision_office": "县督考办"}
    assert {key: permissions.role_name(key) for key in names} == names
    assert "liaison_office" in permissions.roles_for("project.register")



# ---------------------------------------------------------------- checks answer by role and scope


@dataclass
class Official:
    """A stand-in official for the policy's checks."""

    roles: frozenset[str]
    unit_id: Optional[int] = 1
    active: bool = True


def official(*roles: str, unit_id: int = 1, active: bool = True) -> Official:
    return Official(frozenset(roles), unit_id, active)


def test_a_county_grant_holds_everywhere_and_a_unit_grant_only_for_the_own_unit() -> None:
    office, town = official("office"), official("landing_unit", unit_id=7)
    assert permissions.allowed(office, "project.correct", units=(3, 4))
    assert permissions.county_wide(office, "project.correct")
    assert permissions.allowed(town, "project.correct", units=(7, 4))
    assert not permissions.allowed(town, "project.correct", units=(3, 4))
    assert permissions.allowed(town, "project.correct") and not permissions.county_wide(town, "project.correct")


def test_a_meeting_grant_holds_only_for_the_body_whose_role_is_held() -> None:
    secretary = official("assessment_group")
    assert permissions.allowed(secretary, "meeting.convene", meeting="assessment_group")
    assert not permissions.allowed(secretary, "meeting.convene", meeting="standing_committee")
    assert permissions.allowed(official("office"), "meeting.convene", meeting="standing_committee")
    assert permissions.allowed(secretary, "meeting.convene")


def test_an_inactive_official_may_do_nothing() -> None:
    assert not permissions.allowed(official("office", active=False), "ranking.publish")
    assert not permissions.county_wide(official("office", active=False), "ranking.publish")


def test_require_refuses_with_the_message_given() -> None:
    with pytest.raises(NotAllowed, match="只有领导小组办公室可以定稿考核排名"):
        permissions.require(official("deputy"), "ranking.publish", "只有领导小组办公室可以定稿考核排名")
    permissions.require(official("office"), "ranking.publish", "不应拒绝")


def test_an_undeclared_action_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="fund.edti"):
        permissions.allowed(official("office"), "fund.edti")


def test_roles_for_lists_the_grants_of_a_scope() -> None:
    assert permissions.roles_for("progress.post", permissions.UNIT) == {"landing_unit", "project_team", "dev_zone"}
    assert permissions.roles_for("progress.post", permissions.COUNTY) == {"office", "admin"}
    assert permissions.roles_for("project.register") == {"landing_unit", "liaison_office", "industry_dept", "office"}


def test_role_names_come_from_the_policy_and_an_old_key_shows_as_itself() -> None:
    assert permissions.role_name("industry_dept") == "行业主管部门"
    assert permissions.role_name("element_dept") == "要素保障部门"
    assert permissions.role_name("retired_role") == "retired_role"
    assert list(permissions.role_names()) == list(permissions.ROLES)
