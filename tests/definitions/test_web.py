"""Definitions pages over HTTP: process owners only, every refusal specific and storing nothing."""
from __future__ import annotations

import io
import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.platform.db import Database
from engine.platform.models import Definition, Event, Instance
from engine.workflow.versions import DefinitionDraft
from tests.conftest import Helper
from tests.definitions.bundles import BILLION_LAUGHS_BPMN, BPMN, BUNDLE, DMN, RAISE_20_TO_25, edited, renamed
from tests.definitions.conftest import sign_in

BASE = "/definitions/project_lifecycle"


def post_json(client: FlaskClient, url: str, token: str, files: dict[str, str], **extra: object) -> TestResponse:
    return client.post(url, json={"files": files, **extra}, headers={"X-CSRFToken": token})


def stored(db: Database) -> tuple[int, ...]:
    with db.session() as s:
        return tuple(s.scalars(select(func.count()).select_from(m)).one() for m in (Definition, DefinitionDraft, Event))


def test_pages_need_sign_in_and_the_process_owner_role(client: FlaskClient) -> None:
    assert client.get("/definitions").status_code == 302
    token = sign_in(client, "anwen")
    for url in ("/definitions", f"{BASE}/modeler", f"{BASE}/files", f"{BASE}/migrate", f"{BASE}/diff?from=1&to=1"):
        assert client.get(url).status_code == 403, url
    for url in ("draft", "validate", "impact", "deploy"):
        assert post_json(client, f"{BASE}/{url}", token, {}).status_code == 403, url
    assert client.post(f"{BASE}/versions/1/rollback", data={"csrf_token": token}).status_code == 403


def test_posts_without_csrf_token_are_refused(client: FlaskClient, owner: str, sqlite_db: Database) -> None:
    before = stored(sqlite_db)
    assert client.post(f"{BASE}/deploy", json={"files": {}}).status_code == 400
    assert client.post(f"{BASE}/versions/1/rollback").status_code == 400
    assert stored(sqlite_db) == before


def test_definitions_page_lists_versions_with_running_instances(client: FlaskClient, owner: str, sqlite_db: Database) -> None:
    Helper(sqlite_db).register()
    page = client.get("/definitions").get_data(as_text=True)
    assert "project_lifecycle" in page and "第1版" in page and "命令行部署" in page
    assert '<td class="num running" data-label="运行中实例">1</td>' in page


HOSTILE = [
    ("broken XML", BPMN, BUNDLE[BPMN][:3000], "XML 格式错误"),
    ("billion laughs", BPMN, BILLION_LAUGHS_BPMN, "不允许 DOCTYPE 或实体声明"),
    ("external entity", DMN, '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>', "不允许 DOCTYPE 或实体声明"),
    ("unknown lane", BPMN, BUNDLE[BPMN].replace('name="落地单位"', 'name="外星单位"', 1), "未在 lanes.yaml 中映射到角色"),
    ("__import__ in a condition", BPMN, BUNDLE[BPMN].replace("has_intent == True", "__import__('os')", 1), "不允许使用 __import__"),
    ("overlapping UNIQUE rules", DMN, BUNDLE[DMN].replace("<text>]30..50]</text>", "<text>[30..50]</text>", 1), "重叠"),
    ("FEEL range", DMN, BUNDLE[DMN].replace("<text>]30..50]</text>", "<text>]30...50]</text>", 1), "“用地面积(亩)”列"),
]


@pytest.mark.parametrize("label,name,text,message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_validate_and_deploy_refuse_hostile_files_and_store_nothing(
    client: FlaskClient, owner: str, sqlite_db: Database, label: str, name: str, text: str, message: str
) -> None:
    before = stored(sqlite_db)
    for endpoint in ("validate", "impact", "deploy"):
        response = post_json(client, f"{BASE}/{endpoint}", owner, {name: text})
        assert response.status_code == 422, endpoint
        assert any(message in p["message"] and p["file"] == name for p in response.json["problems"]), response.json
    assert stored(sqlite_db) == before


def test_deploy_from_the_modeler_is_logged_with_the_deployer(client: FlaskClient, owner: str, sqlite_db: Database) -> None:
    changed = edited(BPMN, renamed("确认投资意向", "确认意向"))[BPMN]
    assert post_json(client, f"{BASE}/draft", owner, {BPMN: changed}).json["ok"]
    assert json.loads(client.get(f"{BASE}/files").data)["files"][BPMN] == changed
    response = post_json(client, f"{BASE}/deploy", owner, {}, note="改名")
    assert response.json == {"ok": True, "created": True, "version": 2, "message": "已部署第2版，新登记的项目将按此版本运行"}
    with sqlite_db.session() as s:
        event = s.scalars(select(Event).where(Event.kind == "deploy").order_by(Event.id.desc())).first()
        assert event.payload["version"] == 2 and event.actor_id == Helper(sqlite_db).user("bangongshi").id
        assert s.scalars(select(func.count()).select_from(DefinitionDraft)).one() == 0
    again = post_json(client, f"{BASE}/deploy", owner, {})
    assert again.json["created"] is False and "未生成新版本" in again.json["message"]


def test_upload_of_a_hostile_file_is_refused_and_changes_nothing(client: FlaskClient, owner: str, sqlite_db: Database) -> None:
    before = stored(sqlite_db)
    response = client.post(
        f"{BASE}/upload",
        data={"csrf_token": owner, "file": (io.BytesIO(BILLION_LAUGHS_BPMN.encode()), "lifecycle.bpmn")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "不允许 DOCTYPE 或实体声明" in response.get_data(as_text=True)
    assert stored(sqlite_db) == before


def test_upload_puts_an_exported_file_into_the_draft(client: FlaskClient, owner: str, sqlite_db: Database) -> None:
    exported = edited(BPMN, renamed("确认投资意向", "确认意向"))[BPMN]
    response = client.post(
        f"{BASE}/upload",
        data={"csrf_token": owner, "file": (io.BytesIO(exported.encode()), "diagram_1.bpmn")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    with sqlite_db.session() as s:
        draft = s.scalars(select(DefinitionDraft)).one()
        assert draft.files[BPMN] == exported and "diagram_1.bpmn" not in draft.files


def test_diff_rollback_and_migrate_pages(client: FlaskClient, owner: str, sqlite_db: Database) -> None:
    h = Helper(sqlite_db)
    pid = h.register(name="待迁移项目")
    post_json(client, f"{BASE}/deploy", owner, {BPMN: edited(BPMN, renamed("确认投资意向", "确认意向"))[BPMN]})
    page = client.get(f"{BASE}/diff?from=1&to=2").get_data(as_text=True)
    assert "名称：确认投资意向 → 确认意向" in page
    listing = client.get("/definitions").get_data(as_text=True)
    assert '<h2>项目全生命周期 <code class="muted">project_lifecycle</code>' in listing
    assert "在线建模：项目全生命周期" in client.get(f"{BASE}/modeler").get_data(as_text=True)
    migrate_page = client.get(f"{BASE}/migrate").get_data(as_text=True)
    assert "待迁移项目" in migrate_page and "可以迁移" in migrate_page
    assert migrate_page.count('<option value="县长审批"') == 1 and migrate_page.count(">分管副县长审核</option>") == 1
    waiting_here = client.get(f"{BASE}/migrate?task=确认意向").get_data(as_text=True)
    waiting_elsewhere = client.get(f"{BASE}/migrate?task=县长审批").get_data(as_text=True)
    assert "<tr data-instance=" in waiting_here and "<tr data-instance=" not in waiting_elsewhere
    with sqlite_db.session() as s:
        instance_id = s.scalars(select(Instance.id).where(Instance.project_id == pid)).one()
    done = client.post(f"{BASE}/migrate", data={"csrf_token": owner, "instance_id": str(instance_id)}).get_data(as_text=True)
    assert "已迁移" in done and "第1版 → 第2版" in done
    assert h.only_ready(pid).name == "确认意向"
    unexplained = client.post(f"{BASE}/versions/1/rollback", data={"csrf_token": owner})
    assert unexplained.status_code == 422 and "未回滚：回滚原因不能为空" in unexplained.get_data(as_text=True)
    assert client.post(f"{BASE}/versions/1/rollback", data={"csrf_token": owner, "reason": "改名待定"}).status_code == 303
    with sqlite_db.session() as s:
        latest = s.scalars(select(Definition).order_by(Definition.version.desc())).first()
        assert (latest.version, latest.note) == (3, "回滚到第1版：改名待定")


def test_impact_preview_lists_changed_projects_and_the_cases_to_update(client: FlaskClient, owner: str, sqlite_db: Database) -> None:
    h = Helper(sqlite_db)
    h.register(name="康养22亩", category="health", needs_land=True, land_mu=22)
    h.register(name="工业22亩", category="industrial", needs_land=True, land_mu=22)
    dmn = BUNDLE[DMN]
    for old, new in RAISE_20_TO_25:
        dmn = dmn.replace(old, new)
    before = stored(sqlite_db)
    response = post_json(client, f"{BASE}/impact", owner, {DMN: dmn})
    assert response.status_code == 200
    rows = response.json["rows"]
    assert [(r["project"], r["old"], r["new"], r["decided"]) for r in rows] == [("康养22亩", "T2", "T1", False)]
    assert [(p["file"], p["element"]) for p in response.json["problems"]] == [("approval_tier.cases.json", "3")]
    assert stored(sqlite_db) == before
