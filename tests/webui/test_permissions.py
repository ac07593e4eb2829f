"""Every route says who may open it, strangers are sent to sign in, and officials outside an action are refused by page and by engine."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from engine import demo
from engine.elements import common, fund, land
from engine.enterprises import catalog
from engine.platform import permissions, warning_settings
from engine.platform.errors import NotAllowed
from engine.projects import corrections, excel, lifecycle, meetings
from engine.supervision import assessment, coordination, progress, rankings
from engine.workflow import admin, versions
from tests.conftest import Helper
from tests.webui.conftest import Auth
from webui import guard

PUBLIC = {"auth.login", "health.healthz", "health.readyz", "health.metrics", "i18n.switch_language"}
DECLARED = {guard.PUBLIC, guard.SIGNED_IN} | set(permissions.ACTIONS)


def routes(app: Flask) -> list[Rule]:
    """Every URL rule of the app but Flask's own static files."""
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


def permission(app: Flask, rule: Rule) -> str:
    return getattr(app.view_functions[rule.endpoint], "permission", "")


def url(rule: Rule) -> str:
    """The rule's path with every argument filled (numbers with an id no row has)."""
    path = rule.rule
    for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", path):
        value = "999999" if converter == "int" else "project_lifecycle"
        path = re.sub(rf"<(?:\w+:)?{name}>", value, path)
    return path


def token(client: FlaskClient) -> str:
    """A CSRF token of the client's session (from whatever page it can open)."""
    for path in ("/", "/login"):
        match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path, follow_redirects=True).get_data(as_text=True))
        if match:
            return match.group(1)
    raise AssertionError("no page with a form")


def call(client: FlaskClient, rule: Rule) -> Any:
    """Open the rule with GET when it has one, else POST it with a valid CSRF token."""
    if "GET" in (rule.methods or ()):
        return client.get(url(rule))
    return client.post(url(rule), data={"csrf_token": token(client)})


@dataclass(frozen=True)
class DemoOfficial:
    """A demo official's roles as the policy reads them (the unit does not matter for a route's own check)."""

    roles: frozenset[str]
    active: bool = True
    unit_id: Optional[int] = None


def outsider(key: str) -> str:
    """The first demo official the policy does not allow `key` anywhere."""
    return next(name for name, _n, _t, _u, roles in demo.USERS if not permissions.allowed(DemoOfficial(frozenset(roles)), key))


def insider(key: str) -> str:
    """The first demo official the policy allows `key`."""
    return next(name for name, _n, _t, _u, roles in demo.USERS if permissions.allowed(DemoOfficial(frozenset(roles)), key))


def test_every_route_declares_public_signed_in_or_a_policy_action(app: Flask) -> None:
    undeclared = {r.endpoint: permission(app, r) for r in routes(app) if permission(app, r) not in DECLARED}
    assert undeclared == {}
    assert {r.endpoint for r in routes(app) if permission(app, r) == guard.PUBLIC} == PUBLIC


def test_a_stranger_is_sent_to_sign_in_from_every_route_that_is_not_public(app: Flask) -> None:
    client = app.test_client()
    answered = {}
    for rule in routes(app):
        if rule.endpoint in PUBLIC:
            continue
        response = call(client, rule)
        if not (response.status_code == 302 and "/login" in response.headers.get("Location", "")):
            answered[f"{sorted(rule.methods or ())} {rule.rule}"] = response.status_code
    assert answered == {}


def test_the_public_routes_answer_without_sign_in(client: FlaskClient) -> None:
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/metrics").status_code == 200
    assert client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token(client)}).status_code == 303


ROUTE_ACTIONS = ["admin.operate", "coordination.submit", "dashboard.view", "definitions.manage", "elements.settings", "elements.view",
                 "enterprise.maintain", "enterprise.manage", "meeting.convene", "meetings.view", "project.correct", "project.flag_major",
                 "project.import", "project.register", "ranking.publish", "warning_settings.edit"]


def test_every_action_a_route_needs_is_tried_below(app: Flask) -> None:
    assert {permission(app, r) for r in routes(app)} & set(permissions.ACTIONS) == set(ROUTE_ACTIONS)


@pytest.mark.parametrize("key", ROUTE_ACTIONS)
def test_an_official_outside_the_action_gets_403_from_every_route_that_needs_it(app: Flask, key: str) -> None:
    rules = [r for r in routes(app) if permission(app, r) == key]
    assert rules, f"no route needs {key}"
    client = app.test_client()
    Auth(client).login(outsider(key))
    refused = {r.rule: call(client, r).status_code for r in rules}
    assert set(refused.values()) == {403}, refused


@pytest.mark.parametrize("key", ROUTE_ACTIONS)
def test_an_official_inside_the_action_opens_its_pages(app: Flask, key: str) -> None:
    pages = [r for r in routes(app) if permission(app, r) == key and "GET" in (r.methods or ()) and not r.arguments]
    client = app.test_client()
    Auth(client).login(insider(key))
    answered = {r.rule: client.get(r.rule).status_code for r in pages}
    assert [rule for rule, status in answered.items() if status == 403] == []


def test_the_menu_shows_only_the_entries_the_policy_allows(client: FlaskClient, auth: Auth) -> None:
    auth.login("anwen")
    page = client.get("/").get_data(as_text=True)
    assert "驾驶舱" in page and "要素保障" not in page and "运维管理" not in page and "流程定义" not in page and "会议研判" not in page
    auth.switch("ziranziyuan")
    page = client.get("/").get_data(as_text=True)
    assert "要素保障" in page and "驾驶舱" not in page


Refusal = Callable[[Session, Any, dict[str, int]], Any]
ENGINE_REFUSALS: dict[str, tuple[str, Refusal]] = {
    "ranking.publish": ("fx_gongye", lambda s, me, ids: rankings.publish(s, me, 2025, 1)),
    "warning_settings.edit": ("anwen", lambda s, me, ids: warning_settings.update(s, {}, me)),
    "assessment.edit": ("anwen", lambda s, me, ids: assessment.set_target(s, me, 2026, ids["unit"], {})),
    "fund.edit": ("ziranziyuan", lambda s, me, ids: fund.record_disbursement(s, me, {})),
    "land.edit": ("bangongshi", lambda s, me, ids: land.record_supply(s, me, {})),
    "elements.settings": ("ziranziyuan", lambda s, me, ids: common.update_settings(s, {}, me)),
    "enterprise.manage": ("jingshang", lambda s, me, ids: catalog.add_tag(s, me, {})),
    "project.register": ("fx_gongye", lambda s, me, ids: lifecycle.register(s, {}, me)),
    "project.import": ("anwen", lambda s, me, ids: excel.commit(s, b"", me)),
    "project.flag_major": ("anwen", lambda s, me, ids: meetings.set_major(s, ids["project"], True, me)),
    "project.correct": ("xinwo", lambda s, me, ids: corrections.update(s, ids["project"], {"name": "改名"}, me)),
    "progress.post": ("xinwo", lambda s, me, ids: progress.post_note(s, ids["project"], me, {"content": "进展"})),
    "coordination.submit": ("xinwo", lambda s, me, ids: coordination.submit(s, ids["project"], me, {})),
    "coordination.criticise": ("anwen", lambda s, me, ids: coordination.record_criticism(s, me, ids["unit"], "逾期")),
    "definitions.manage": ("xianzhang", lambda s, me, ids: versions.rollback(s, "project_lifecycle", 1, me, "测试")),
    "admin.operate": ("bangongshi", lambda s, me, ids: admin.set_user_active(s, ids["user"], False, me, "调岗")),
}


@pytest.mark.parametrize("key", sorted(ENGINE_REFUSALS))
def test_the_engine_refuses_an_official_outside_the_action(hw: Helper, key: str) -> None:
    username, attempt = ENGINE_REFUSALS[key]
    ids = {"project": hw.register(by="anwen"), "unit": hw.unit("anwen"), "user": hw.user("anwen").id}
    with hw.db.session() as s:
        with pytest.raises(NotAllowed, match="^只有"):
            attempt(s, s.merge(hw.user(username)), ids)
