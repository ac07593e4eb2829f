"""Bad input never answers 5xx: lead registration and every task form of the deployed processes refuse it with a 4xx
naming the field, and nothing is stored — through the web form and through JSON task data, on every backend.

One project (major, so meeting steps take a form on its own page) is walked through the lifecycle and one coordination
case through its process; at the first task of each form the bad values are posted, then the valid baseline completes
the task through the same page."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.projects import lifecycle
from engine.supervision import coordination
from engine.workflow import definitions, forms, runtime
from engine.platform.errors import InvalidInput
from engine.platform.models import Event, Instance, Project, Task
from tests.assessment.conftest import SupervisionHelper, deploy_all
from tests.conftest import BACKENDS, make_app, prepared_database
from tests.webui.conftest import Auth, csrf_token

LONG = "长" * 10_001  # past every maxLength
CONTROL = ["\x00", "名称\x00", "\x1b[31m红\x1b[0m", "\x7f", "a\x85b", "a\x0bb"]  # inside text: at its ends strip() drops them
NOT_SCALAR = ["[1, 2]", '{"a": 1}', "[]", "null"]
NUMBERS = [
    "NaN", "-NaN", "Infinity", "-Infinity", "inf", "∞", "1e308", "-1e308", "1e400", "1e-400", "9" * 400, "-" + "9" * 400,
    "-99999999999999", "99999999999999", "-5", "１２３", "١٢٣", "¹²³", "1_000", "0x10", "1,000", "12.345", "1e", "--1", ".",
    "1 2", "三十", "12亩", "true",
]
BOOLEANS = ["maybe", "2", "truee", "是", "T", "1.0", "on off"]
DATES = [
    "0001-01-01", "9999-12-31", "1989-12-31", "2101-01-01", "2026-02-30", "2026-13-01", "2026-00-10", "yesterday", "today",
    "2026/05/01", "20260501", "2026-5-1", "２０２６-０５-０１", "2026-05-01T08:00", "-2026-05-01",
]
CHOICES = ["PASS", "approve1", "同意", "0", "' OR 1=1 --"]
IDS = ["0", "-1", "１", "1.0", "1e3", "99999999999", "9" * 400, "abc"]
REQUIRED = ["", "\u3000"]
LINE_BREAKS = ["a\nb", "a\tb", "a\r\nb"]
JSON_BAD = [float("nan"), float("inf"), -float("inf"), 1e308, 10**400, [float("nan")], {"x": "\x00"}, "\x00", "\ud800"]
EXTRA = {  # values bad only for one field
    ("approval_form", "land_mu"): ["0", "-0", "0.00", "99999999999"],  # above 0 (the baseline needs land), within Numeric(10, 2)
    ("approval_form", "fund_request"): ["10000.01"],
    ("registration", "land_mu"): ["0", "-0", "99999999999"],
    ("registration", "foreign_capital"): ["1e12", "1000000000000"],
    ("registration", "fund_request"): ["10000.01"],
    ("registration", "contact_phone"): ["12", "0571-12", "1381234567"],  # neither a mobile nor a landline with its area code
    ("signing", "signed_date"): ["2099-12-31"],  # a signing or a start lies in the past, never after today
    ("construction", "start_date"): ["2099-12-31"],
}
VALID_WEB = {
    "intent.schema.json": {"has_intent": "true", "opinion": "有意向"},
    "feasibility.schema.json": {"decision": "pass", "opinion": "同意"},
    "approval_form.schema.json": {"needs_land": "true", "land_mu": "40", "one_case_support": "false", "summary": "概况",
                                  "opinion": "请审议"},
    "meeting_decision.schema.json": {"decision": "pass", "opinion": "同意"},
    "negotiation.schema.json": {"decision": "continue", "opinion": "洽谈完成", "inspection_date": "2026-05-01"},
    "joint_inspection.schema.json": {"decision": "pass", "opinion": "同意"},
    "approval_step.schema.json": {"decision": "approve", "opinion": "同意"},
    "signing.schema.json": {"signed_date": "2026-05-01", "contract_amount": "1000", "opinion": "签约"},
    "landing.schema.json": {"company_registered": "true", "registered_date": "2026-05-01", "liaison_leader": "王志刚", "opinion": "落地"},
    "construction.schema.json": {"start_date": "2026-06-01", "funds_in_place": "500", "opinion": "开工"},
    "coordination_review.schema.json": {"decision": "return", "opinion": "请补充"},
    "coordination_revise.schema.json": {"problem": "林地指标缺口", "material": "测算表", "opinion": "已补充"},
    "coordination_approval.schema.json": {"decision": "approve", "opinion": "同意交办"},
    "coordination_issue.schema.json": {"items": "统筹林地指标", "opinion": "请按期办结"},
    "coordination_report.schema.json": {"report": "已统筹", "evidence": "函〔2026〕8号"},
    "coordination_verify.schema.json": {"decision": "close", "opinion": "核验办结"},
}
LEAD = {
    "name": "冷链物流中心", "investor": "浙江鲜达冷链有限公司", "source_channel": "business", "category": "industrial",
    "is_manufacturing": "1", "total_investment": "32000", "fixed_asset_investment": "25000", "foreign_capital": "100",
    "out_of_province_capital": "200", "needs_land": "1", "land_mu": "40", "one_case_support": "", "one_case_amount": "",
    "fund_request": "500", "contact_name": "张经理", "contact_phone": "13800000000",
}
LEAD_KINDS = {
    "name": ("text", True, 200), "investor": ("text", False, 200), "contact_name": ("text", False, 80),
    "contact_phone": ("text", False, 40), "source_channel": ("choice", False, 0), "category": ("choice", True, 0),
    "landing_unit_id": ("id", True, 0), "landing_platform_id": ("id", False, 0), "deputy_id": ("id", True, 0),
    "is_manufacturing": ("boolean", False, 0), "needs_land": ("boolean", False, 0), "one_case_support": ("boolean", False, 0),
    "total_investment": ("number", True, 0), "fixed_asset_investment": ("number", False, 0), "foreign_capital": ("number", False, 0),
    "out_of_province_capital": ("number", False, 0), "one_case_amount": ("number", False, 0), "fund_request": ("number", False, 0),
    "land_mu": ("number", False, 0),
}


@dataclass
class World:
    """One prepared database per backend, a web client per official (signed in once) and what went wrong so far."""

    h: SupervisionHelper
    app: Flask
    clients: dict[str, tuple[FlaskClient, str]] = field(default_factory=dict)
    fuzzed: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def client(self, username: str) -> tuple[FlaskClient, str]:
        """A client signed in as `username` and its CSRF token."""
        if username not in self.clients:
            client = self.app.test_client()
            Auth(client).login(username)
            self.clients[username] = (client, csrf_token(client, "/"))
        return self.clients[username]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    database = prepared_database(request.param, Path(tmp_path_factory.mktemp(request.param)), deploy_all)
    yield World(SupervisionHelper(database), make_app(database))
    database.dispose()


def stored(h: SupervisionHelper) -> tuple[int, ...]:
    """How many projects, instances, tasks and events there are."""
    with h.db.session() as s:
        return tuple(s.scalars(select(func.count()).select_from(model)).one() or 0 for model in (Project, Instance, Task, Event))


def kind_values(kind: str, required: bool, limit: int) -> list[str]:
    """The bad values of a field of this kind: control characters everywhere, then what this kind refuses."""
    values = list(CONTROL) + (REQUIRED if required else [])
    if kind == "text":
        return values + LINE_BREAKS + ([LONG[: limit + 1]] if limit else [])
    if kind == "long_text":
        return values + ([LONG[: limit + 1]] if limit else [])
    return values + NOT_SCALAR + {"number": NUMBERS, "boolean": BOOLEANS, "date": DATES, "choice": CHOICES, "id": IDS}.get(kind, [])


def form_kind(prop: dict[str, Any]) -> str:
    """How the bad values of a form field are chosen: by its type, format, choices and widget."""
    if prop.get("type") in ("number", "integer"):
        return "number"
    if prop.get("type") in ("boolean", "array"):
        return "boolean" if prop["type"] == "boolean" else "array"
    if prop.get("format") == "date":
        return "date"
    if "oneOf" in prop:
        return "choice"
    return "long_text" if prop.get("x-widget") == "textarea" else "text"


def posts(values_of: dict[str, list[str]]) -> Iterator[dict[str, str]]:
    """Bad posts in as few requests as the longest list: the i-th puts each field's i-th bad value in that field
    (fields are checked independently, so each still gets its own message)."""
    for index in range(max(len(values) for values in values_of.values())):
        yield {name: values[index] for name, values in values_of.items() if index < len(values)}


def form_values(form: str, schema: dict[str, Any]) -> dict[str, list[str]]:
    """Field → the bad values of its kind, for every field of a form."""
    required = schema.get("required", [])
    return {name: kind_values(form_kind(prop), name in required, prop.get("maxLength", 0))
            + EXTRA.get((form.removesuffix(".schema.json"), name), []) for name, prop in schema["properties"].items()}


def check_refused(failures: list[str], where: str, bad: dict[str, str], response: Any) -> None:
    """A 4xx naming each bad field (a 422 shows the message under every one); anything else is recorded as a failure."""
    page = response.get_data(as_text=True)
    unnamed = {name: value for name, value in bad.items() if f'id="f-{name}-error"' not in page}
    if not 400 <= response.status_code < 500:
        failures.append(f"{where} {bad!r:.200}: HTTP {response.status_code}")
    elif response.status_code == 422 and unnamed:
        failures.append(f"{where} {unnamed!r:.200}: 422 without a message under the field")


def fuzz_task(world: World, task: Task, username: str, complete: bool = True) -> None:
    """Post every bad value into every field of the task's form, then try JSON task data: the task stays ready and
    nothing is stored. Then (`complete`) the valid baseline completes it through the page."""
    h = world.h
    client, token = world.client(username)
    schema = form_schema(h, task)
    before = stored(h)
    for bad in posts(form_values(task.form, schema)):
        response = client.post(f"/tasks/{task.id}", data={**VALID_WEB[task.form], **bad, "csrf_token": token})
        check_refused(world.failures, task.form, bad, response)
    for value in JSON_BAD:
        try:
            with h.db.session() as s:
                data = dict.fromkeys(schema["properties"], value)
                runtime.complete_task(s, task.id, s.merge(h.user(username)), data, at_meeting=True)
            world.failures.append(f"{task.form} JSON {value!r:.40}: accepted")
        except InvalidInput as exc:
            if set(exc.errors) != set(schema["properties"]):
                world.failures.append(f"{task.form} JSON {value!r:.40}: refused without naming every field {exc.errors}")
    with h.db.session() as s:
        again = s.get(Task, task.id)
        if (again.status, again.data, stored(h)) != ("ready", None, before):
            world.failures.append(f"{task.form}: something was stored ({again.status}, {again.data})")
    world.fuzzed.add(task.form)
    if complete:
        done = client.post(f"/tasks/{task.id}", data={**VALID_WEB[task.form], "csrf_token": token})
        if done.status_code != 303:
            world.failures.append(f"{task.form}: the valid baseline answered HTTP {done.status_code}")


def form_schema(h: SupervisionHelper, task: Task) -> dict[str, Any]:
    """The JSON Schema of the task's form."""
    with h.db.session() as s:
        return runtime.form_schema(s, task)


def walk_lifecycle(world: World) -> None:
    """A major project from its lead to construction start, fuzzing the first task of each form."""
    h = world.h
    pid = h.register(by="anwen", name="坏输入测试项目", is_major=True)
    while (ready := h.ready(pid)):
        task = ready[0]
        username = h.actors_for(pid)[0]
        if task.form in world.fuzzed:
            h.complete(pid, username, forms.coerce(form_schema(h, task), VALID_WEB[task.form]), task.bpmn_id)
        else:
            fuzz_task(world, task, username)
    assert h.project(pid).status == "started"


def walk_coordination(world: World) -> None:
    """A coordination case from submission to its close, fuzzing every form (the list also on its own page)."""
    h = world.h
    pid = h.register(by="anwen", name="坏输入协调项目")
    problem = {"title": "用地受阻", "problem": "林地指标不足", "material": "说明"}
    with h.db.session() as s:
        instance = coordination.submit(s, pid, s.merge(h.user("anwen")), problem).instance_id
    steps = [("review_submission", "bangongshi"), ("revise_submission", "anwen"), ("review_submission", "bangongshi"),
             ("leader_approval", "xianzhang"), ("issue_list", "dukao"), ("report_item", "ziranziyuan"), ("verify_close", "bangongshi")]
    for bpmn_id, username in steps:
        task = h.task(instance, bpmn_id)
        if bpmn_id == "issue_list":  # its lines are written on their own page
            fuzz_task(world, task, username, complete=False)
            fuzz_issue_page(world, task)
        elif task.form in world.fuzzed:  # the office forwards what it first sent back
            h.act(task, username, {"decision": "forward", "opinion": "报审"})
        else:
            fuzz_task(world, task, username)


def fuzz_issue_page(world: World, task: Task) -> None:
    """The 交办单 page reads its lines itself: every bad value in every column of the first line."""
    h = world.h
    client, token = world.client("dukao")
    line = {"title_1": "统筹林地指标", "responsible_unit_id_1": str(h.unit("zrzy")), "deadline_1": "2099-03-20", "opinion": "请办理"}
    kinds = {"title_1": ("text", True, 200), "responsible_unit_id_1": ("id", True, 0), "deadline_1": ("date", True, 0),
             "opinion": ("long_text", False, 2000)}
    before = stored(h)
    for bad in posts({name: kind_values(*kind) for name, kind in kinds.items()}):
        response = client.post(f"/supervision/tasks/{task.id}/issue", data={**line, **bad, "csrf_token": token})
        if not 400 <= response.status_code < 500:
            world.failures.append(f"交办单 {bad!r:.200}: HTTP {response.status_code}")
    if stored(h) != before:
        world.failures.append("交办单: something was stored")
    issued = client.post(f"/supervision/tasks/{task.id}/issue", data={**line, "csrf_token": token})
    if issued.status_code != 303:
        world.failures.append(f"交办单: the valid baseline answered HTTP {issued.status_code}")


def test_every_task_form_refuses_bad_values_and_stores_nothing(world: World) -> None:
    walk_lifecycle(world)
    walk_coordination(world)
    with world.h.db.session() as s:
        used = {meta.form for process in (lifecycle.LIFECYCLE, coordination.COORDINATION)
                for meta in definitions.load(s, definitions.latest(s, process).id).user_tasks.values()}
    assert world.fuzzed == used
    assert world.failures == [], "\n".join(world.failures[:40])


def test_registration_refuses_bad_values_and_stores_nothing(world: World) -> None:
    h = world.h
    client, token = world.client("anwen")
    lead = {**LEAD, "landing_unit_id": str(h.unit("anwen")), "deputy_id": str(h.user("fx_gongye").id), "csrf_token": token}
    before = stored(h)
    failures: list[str] = []
    values_of = {name: kind_values(*kind) + EXTRA.get(("registration", name), []) for name, kind in LEAD_KINDS.items()}
    values_of["deputy_id"].append(str(h.user("anwen").id))  # not a deputy
    for bad in posts(values_of):
        response = client.post("/projects/new", data={**lead, **bad})
        check_refused(failures, "登记", bad, response)
        if response.status_code != 422:
            failures.append(f"登记 {bad!r:.200}: HTTP {response.status_code}, not 422")
    assert stored(h) == before
    assert failures == [], "\n".join(failures[:40])
    assert client.post("/projects/new", data=lead).status_code == 303  # the baseline itself is a valid lead


def test_registration_by_json_refuses_non_finite_numbers_and_control_characters(world: World) -> None:
    h = world.h
    before = stored(h)
    for name, value in [("total_investment", float("nan")), ("total_investment", 1e308), ("foreign_capital", 10**400),
                        ("land_mu", float("inf")), ("name", "名称\x00"), ("name", "\ud800"), ("investor", ["a"]),
                        ("category", ["industrial"]), ("deputy_id", True), ("landing_unit_id", 10**12)]:
        with pytest.raises(InvalidInput) as refused:
            h.register(by="anwen", **{"needs_land": True, "land_mu": 40, name: value})
        assert name in refused.value.errors and name not in refused.value.errors[name]
    assert stored(h) == before


QUERY_PAGES = ["/", "/done", "/projects", "/enterprises", "/warnings", "/notifications", "/dashboard", "/dashboard/projects",
               "/elements/fund", "/elements/land", "/supervision/targets", "/assessment", "/definitions/project_lifecycle/diff"]
QUERY_ARGS = ("q", "page", "unit", "deputy", "tag", "year", "quarter", "ids", "from", "to", "stage", "light", "sort")


def test_query_arguments_never_fail_a_page(world: World) -> None:
    client, _ = world.client("bangongshi")
    failures = []
    for value in ["\x00", "名\x00", "9" * 400, "-1", "１", "1_0", "NaN", "2026-13-01", "1,2,x"]:
        for page in QUERY_PAGES:
            response = client.get(page, query_string={name: value for name in QUERY_ARGS})
            if response.status_code >= 500:
                failures.append(f"{page} ?…={value!r:.30}: HTTP {response.status_code}")
    assert failures == []
