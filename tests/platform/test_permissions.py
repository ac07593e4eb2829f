"""The permission policy is complete and the only one: every role named anywhere is declared, every declared role and action is used, and checks answer by scope."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Iterator, Optional

import pytest
import yaml

from engine import demo
from engine.platform import permissions
from engine.platform.config import PROJECT_ROOT
from engine.platform.errors import NotAllowed
from engine.workflow import validation

CODE_DIRS = ("engine", "webui", "zhikong", "bench")
POLICY = PROJECT_ROOT / "engine" / "platform" / "permissions.py"
TEMPLATES = PROJECT_ROOT / "webui" / "templates"
ROLE_SET_NAME = re.compile(r"(ROLES?|EDITORS|VIEWERS|MAINTAINERS|MANAGERS)$")
ACTION_CALLS = {"allowed", "require", "county_wide", "roles_for", "action", "requires", "can", "audience", "void_entry"}
ACTION_KEY = re.compile(r"^[a-z_]+\.[a-z_]+$")
TEMPLATE_CAN = re.compile(r"""\bcan\(\s*['"]([^'"]+)['"]\s*\)""")
TEMPLATE_ROLE = re.compile(r"""['"](\w+)['"]\s+(?:not\s+)?in\s+[\w.]*\broles\b""")


@dataclass(frozen=True)
class Found:
    """A role or action key found in the code, and where."""

    value: str
    where: str


def _strings(node: ast.AST) -> Iterator[str]:
    """String constants of a literal: itself, or the items of a tuple, list, set or frozenset(...) call."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for item in node.elts:
            yield from _strings(item)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("frozenset", "set", "tuple") and node.args:
        yield from _strings(node.args[0])


def _ends_with(node: ast.AST, suffix: str) -> bool:
    """Whether the expression is an attribute or name called `suffix` (user.roles, UserRole.role, roles)."""
    return (isinstance(node, ast.Attribute) and node.attr == suffix) or (isinstance(node, ast.Name) and node.id == suffix)


def _call_name(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id if isinstance(node.func, ast.Name) else ""


def role_literals(source: str, where: str) -> list[Found]:
    """String literals the code uses as role keys: in `x in user.roles`, `.role == x`, `.role.in_(…)`, `role=x`,
    `users_with_role(s, x)`, `roles & {…}` and assignments to *_ROLES / *_EDITORS / *_VIEWERS names."""
    found: list[Found] = []

    def add(node: ast.AST, line: int) -> None:
        found.extend(Found(value, f"{where}:{line}") for value in _strings(node))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, sides, sides[1:]):
                if isinstance(op, (ast.In, ast.NotIn)) and _ends_with(right, "roles"):
                    add(left, node.lineno)
                if isinstance(op, (ast.Eq, ast.NotEq)):
                    if _ends_with(left, "role"):
                        add(right, node.lineno)
                    if _ends_with(right, "role"):
                        add(left, node.lineno)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            if _ends_with(node.left, "roles"):
                add(node.right, node.lineno)
            if _ends_with(node.right, "roles"):
                add(node.left, node.lineno)
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "in_" and isinstance(node.func, ast.Attribute) and _ends_with(node.func.value, "role"):
                for arg in node.args:
                    add(arg, node.lineno)
            if name == "users_with_role" and len(node.args) > 1:
                add(node.args[1], node.lineno)
            for keyword in node.keywords:
                if keyword.arg == "role":
                    add(keyword.value, node.lineno)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any(isinstance(t, ast.Name) and ROLE_SET_NAME.search(t.id) for t in targets):
                add(node.value, node.lineno)
    return found


def action_literals(source: str, where: str) -> list[Found]:
    """Action keys the code names: constant arguments of the policy calls, and the action of each NAV entry."""
    found: list[Found] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _call_name(node) in ACTION_CALLS:
            for arg in node.args:
                found.extend(Found(v, f"{where}:{node.lineno}") for v in _strings(arg) if ACTION_KEY.match(v))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "NAV" for t in node.targets):
            for entry in getattr(node.value, "elts", []):
                if isinstance(entry, ast.Tuple) and len(entry.elts) == 4:
                    found.extend(Found(v, f"{where}:{node.lineno}") for v in _strings(entry.elts[3]))
    return found


def code_files() -> Iterator[tuple[Path, str]]:
    """Every Python module of the product except the policy itself and the applied migrations."""
    for folder in CODE_DIRS:
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            if path != POLICY and "migrations" not in path.parts:
                yield path, path.relative_to(PROJECT_ROOT).as_posix()


def roles_in_code() -> list[Found]:
    return [f for path, where in code_files() for f in role_literals(path.read_text(encoding="utf-8"), where)]


def actions_in_code() -> list[Found]:
    found = [f for path, where in code_files() for f in action_literals(path.read_text(encoding="utf-8"), where)]
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(PROJECT_ROOT).as_posix()
        found += [Found(m.group(1), f"{where}:{text.count(chr(10), 0, m.start()) + 1}") for m in TEMPLATE_CAN.finditer(text)]
    return found


def lane_roles() -> dict[str, str]:
    """Lane name → role key, as bpmn/lanes.yaml maps them."""
    config = validation.load_lanes((PROJECT_ROOT / "bpmn" / "lanes.yaml").read_text(encoding="utf-8"))
    return {lane: mapping["role"] for lane, mapping in config["lanes"].items()}


def undeclared(found: list[Found], declared: Collection[str]) -> list[str]:
    return sorted(f"{f.value} ({f.where})" for f in found if f.value not in declared)


# ---------------------------------------------------------------- every role named anywhere is declared


def test_every_lane_maps_to_a_declared_role() -> None:
    assert {lane: role for lane, role in lane_roles().items() if not permissions.is_role(role)} == {}


def test_lanes_yaml_leaves_role_names_to_the_policy() -> None:
    config = yaml.safe_load((PROJECT_ROOT / "bpmn" / "lanes.yaml").read_text(encoding="utf-8"))
    assert set(config) == {"lanes"}


def test_every_role_named_in_code_is_declared() -> None:
    found = roles_in_code()
    assert len(found) >= 3, "the scan found too few role names to be looking in the right places"
    assert undeclared(found, permissions.ROLES) == []


def test_no_module_but_the_policy_keeps_a_set_of_roles() -> None:
    role_sets = []
    for path, where in code_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and ROLE_SET_NAME.search(t.id) for t in node.targets):
                values = list(_strings(node.value))
                if len(values) > 1 and all(permissions.is_role(v) for v in values):
                    role_sets.append(f"{where}:{node.lineno}")
    assert role_sets == []


def test_every_role_in_templates_is_declared() -> None:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        found += [Found(m.group(1), path.name) for m in TEMPLATE_ROLE.finditer(path.read_text(encoding="utf-8"))]
    assert undeclared(found, permissions.ROLES) == []


def test_every_role_of_the_demo_officials_is_declared() -> None:
    found = [Found(role, f"engine/demo/county.py {username}") for username, _n, _t, _u, roles in demo.USERS for role in roles]
    assert undeclared(found, permissions.ROLES) == []


@pytest.mark.parametrize("snippet, role", [
    ('if "liaison_office" in user.roles: pass', "liaison_office"),
    ('ok = bool(me.roles & {"office", "vice_mayor"})', "vice_mayor"),
    ('q = select(UserRole).where(UserRole.role == "vice_mayor")', "vice_mayor"),
    ('q = Task.role.in_(["vice_mayor"])', "vice_mayor"),
    ('row = UserRole(role="vice_mayor")', "vice_mayor"),
    ('ids = notifications.users_with_role(s, "vice_mayor")', "vice_mayor"),
    ('EDITOR_ROLES = frozenset({"vice_mayor"})', "vice_mayor"),
])
def test_the_scan_finds_a_role_named_in_each_kind_of_check(snippet: str, role: str) -> None:
    assert role in {f.value for f in role_literals(snippet, "snippet")}


# ---------------------------------------------------------------- every declared role and action is used


def test_every_grant_names_a_declared_role_and_scope() -> None:
    problems = [(key, role, scope) for key, action in permissions.ACTIONS.items() for role, scope in action.grants.items()
                if not permissions.is_role(role) or scope not in permissions.SCOPE_NAMES]
    assert problems == []
    assert all(action.grants and action.name for action in permissions.ACTIONS.values())


def test_every_declared_role_is_used_by_a_lane_or_an_action() -> None:
    used = set(lane_roles().values()) | {role for action in permissions.ACTIONS.values() for role in action.grants}
    assert sorted(set(permissions.ROLES) - used) == []


def test_every_action_named_in_code_and_templates_is_declared_and_every_declared_action_is_checked() -> None:
    found = actions_in_code()
    assert undeclared(found, permissions.ACTIONS) == []
    assert sorted(set(permissions.ACTIONS) - {f.value for f in found}) == []


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


def test_a_lane_may_only_name_a_declared_role_and_an_old_roles_section_is_ignored() -> None:
    bundle = {"lanes.yaml": "lanes:\n  外星泳道: {role: vice_mayor, scope: county}\n"}
    problems = validation.check_bundle(bundle, "project_lifecycle", ("county",)).problems
    assert any("vice_mayor" in p["message"] and "权限策略" in p["message"] for p in problems), problems
    old = {"lanes.yaml": "lanes:\n  县长: {role: county_head, scope: county}\nroles:\n  county_head: 县长\n"}
    assert [p for p in validation.check_bundle(old, "project_lifecycle", ("county",)).problems if p["file"] == "lanes.yaml"] == []
