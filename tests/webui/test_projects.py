"""项目台账, lead registration, the project page, the diagram data and the printable approval form."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.platform.models import Project
from tests.conftest import Helper, approval_form, drive_to_tier
from tests.webui.conftest import Auth, csrf_token


def _text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _count(hw: Helper) -> int:
    with hw.db.session() as s:
        return s.scalars(select(func.count(Project.id))).one() or 0


def _lead(hw: Helper, **changes: str) -> dict[str, str]:
    data = {
        "name": "高山蔬菜冷链物流中心",
        "investor": "浙江鲜达冷链有限公司",
        "source_channel": "business",
        "category": "industrial",
        "landing_unit_id": str(hw.unit("anwen")),
        "deputy_id": str(hw.user("fx_gongye").id),
        "total_investment": "32000",
        "fixed_asset_investment": "25000",
        "needs_land": "1",
        "land_mu": "40",
        "fund_request": "",
        "contact_name": "张经理",
        "contact_phone": "13800000000",
    }
    data.update(changes)
    return data


def test_register_a_lead_starts_the_lifecycle(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    auth.login("anwen")
    form = _text(client.get("/projects/new"))
    assert "登记项目线索" in form and "总投资" in form and "王志刚（分管工业副县长）" in form
    assert 'name="is_major"' not in form
    token = csrf_token(client, "/projects/new")
    response = client.post("/projects/new", data={**_lead(hw), "csrf_token": token, "is_major": "1", "attracting_unit_id": str(hw.unit("xinwo"))})
    assert response.status_code == 303
    with hw.db.session() as s:
        project = s.scalars(select(Project)).one()
        assert (project.name, project.is_major, project.attracting_unit_id, float(project.land_mu)) == (
            "高山蔬菜冷链物流中心", False, hw.unit("anwen"), 40.0)
    assert response.headers["Location"] == f"/projects/{project.id}"
    page = _text(client.get(response.headers["Location"]))
    assert "已登记项目线索" in page and "确认投资意向" in page and "钱芳（安文街道招商办）" in page and "3.2亿元" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "项目名称不能为空"),
        ({"total_investment": "三亿"}, "total_investment", "总投资必须是0到999999999999.99之间的数字（万元），收到“三亿”"),
        ({"total_investment": "-5"}, "total_investment", "总投资必须是0到999999999999.99之间的数字（万元），收到“-5”"),
        ({"needs_land": "", "land_mu": "12"}, "land_mu", "用地面积仅在“是否供地”为“是”时填写"),
        ({"fund_request": "12000"}, "fund_request", "申请产业基金不能超过10000万元"),
        ({"category": "mining"}, "category", "产业类别无效"),
        ({"deputy_id": ""}, "deputy_id", "分管县领导为必填项"),
    ],
)
def test_bad_lead_shows_the_message_inline_keeps_input_and_stores_nothing(
    client: FlaskClient, auth: Auth, hw: Helper, changes: dict[str, str], field: str, message: str
) -> None:
    auth.login("anwen")
    token = csrf_token(client, "/projects/new")
    response = client.post("/projects/new", data={**_lead(hw, **changes), "csrf_token": token})
    page = _text(response)
    assert response.status_code == 422
    assert f'id="f-{field}-error">{message}' in page
    assert 'value="浙江鲜达冷链有限公司"' in page and 'value="13800000000"' in page
    assert _count(hw) == 0


def test_only_registering_roles_see_the_form(client: FlaskClient, auth: Auth) -> None:
    auth.login("xianzhang")
    assert client.get("/projects/new").status_code == 403
    assert "登记项目线索" not in _text(client.get("/projects"))


def test_ledger_filters_counts_and_town_scope(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    hw.register(by="anwen", name="七亿智能装备", is_manufacturing=True, total_investment=80000)
    hw.register(by="anwen", name="康养小镇", category="health", total_investment=20000)
    other = hw.register(by="xinwo", name="新渥三亿工业", total_investment=30000)
    auth.login("bangongshi")
    page = _text(client.get("/projects"))
    assert 'id="ledger-total">3<' in page and 'data-stage="intent">意向<b>3</b>' in page
    assert "8亿元" in page and "2亿元" in page
    m7 = _text(client.get("/projects?m7=1"))
    assert "七亿智能装备" in m7 and "新渥三亿工业" not in m7 and "康养小镇" not in m7
    i3 = _text(client.get("/projects?i3=1"))
    assert "七亿智能装备" in i3 and "新渥三亿工业" in i3 and "康养小镇" not in i3
    assert "康养小镇" in _text(client.get("/projects?category=health")) and "七亿智能装备" not in _text(client.get("/projects?category=health"))
    assert 'id="ledger-total">1<' in _text(client.get(f"/projects?unit={hw.unit('xinwo')}"))
    assert 'id="ledger-total">0<' in _text(client.get("/projects?stage=signing"))
    assert 'data-light="green"' in page
    auth.switch("anwen")
    mine = _text(client.get("/projects"))
    assert 'id="ledger-total">2<' in mine and "新渥三亿工业" not in mine
    assert client.get(f"/projects/{other}").status_code == 403
    assert client.get(f"/projects/{other}/diagram.json").status_code == 403
    assert client.get(f"/projects/{other}/approval-form").status_code == 403
    assert client.get("/projects/99999").status_code == 404


def test_project_page_timeline_holders_and_diagram_data(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="全流程项目")
    drive_to_tier(hw, pid, "anwen", approval_form(True, 40))
    auth.login("anwen")
    page = _text(client.get(f"/projects/{pid}"))
    assert "分管副县长审核" in page and "王志刚（分管工业副县长）" in page
    assert "T2" in page and page.count('<li class="ev-complete">') == 7 and "联审同意" in page
    assert "登记项目线索，启动项目全生命周期流程" in page
    data = client.get(f"/projects/{pid}/diagram.json").get_json()
    assert data["current"] == ["t2_deputy_review"] and "f_tier_T2" in data["flows"] and "decide_tier" in data["completed"]
    assert data["xml"].startswith("<?xml")


def test_printable_approval_form_has_every_signers_opinion(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="审批表打印项目", total_investment=45000)
    drive_to_tier(hw, pid, "anwen", {**approval_form(True, 40), "summary": "新建标准厂房4万平方米"})
    auth.login("bangongshi")
    page = _text(client.get(f"/projects/{pid}/approval-form"))
    assert "磐安县招商引资项目落地审批表" in page and "4.5亿元" in page and "40亩" in page
    assert "新建标准厂房4万平方米" in page and page.count('class="signature"') == 7
    for opinion in ("有意向", "论证通过", "同意", "洽谈完成", "联审同意"):
        assert opinion in page
    assert "周丽（研判小组会议秘书）" in page and "吴建国（领导小组会议秘书）" in page


def test_office_flags_a_project_major(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="待认定项目")
    auth.login("anwen")
    token = csrf_token(client, f"/projects/{pid}")
    assert client.post(f"/projects/{pid}/major", data={"major": "1", "csrf_token": token}).status_code == 403
    assert not hw.project(pid).is_major
    auth.switch("bangongshi")
    token = csrf_token(client, f"/projects/{pid}")
    assert client.post(f"/projects/{pid}/major", data={"major": "1", "csrf_token": token}).status_code == 303
    assert hw.project(pid).is_major and "取消重大项目认定" in _text(client.get(f"/projects/{pid}"))


def test_the_project_record_is_corrected_through_its_edit_page(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", contact_phone="0579-84661111")
    auth.login("jinpan")
    assert client.get(f"/projects/{pid}/edit").status_code == 403
    auth.switch("anwen")
    assert 'id="edit-project"' in _text(client.get(f"/projects/{pid}"))
    page = _text(client.get(f"/projects/{pid}/edit"))
    assert 'name="contact_phone" value="0579-84661111"' in page and 'name="deputy_id"' not in page
    form = {"csrf_token": csrf_token(client, f"/projects/{pid}/edit"), "name": "测试项目", "investor": "测试投资方",
            "category": "industrial", "source_channel": "other", "total_investment": "50000", "contact_phone": "0579-84661234"}
    assert client.post(f"/projects/{pid}/edit", data={**form, "csrf_token": ""}).status_code == 400
    bad = client.post(f"/projects/{pid}/edit", data={**form, "total_investment": "五亿"})
    assert bad.status_code == 422 and "总投资必须是0到999999999999.99之间的数字（万元），收到“五亿”" in _text(bad)
    assert hw.project(pid).contact_phone == "0579-84661111"
    short = client.post(f"/projects/{pid}/edit", data={**form, "contact_phone": "12"})
    assert short.status_code == 422 and "联系电话格式不正确" in _text(short) and hw.project(pid).contact_phone == "0579-84661111"
    done = client.post(f"/projects/{pid}/edit", data=form, follow_redirects=True)
    assert "已保存1项修改" in _text(done) and "联系电话 0579-84661111→0579-84661234" in _text(done)
    assert hw.project(pid).contact_phone == "0579-84661234"
    auth.switch("bangongshi")
    office = {**form, "csrf_token": csrf_token(client, f"/projects/{pid}/edit"), "landing_unit_id": str(hw.unit("anwen")),
              "deputy_id": str(hw.user("fx_wenlv").id)}
    unexplained = client.post(f"/projects/{pid}/edit", data=office)
    assert unexplained.status_code == 422 and "须填写修改原因" in _text(unexplained)
    assert hw.project(pid).deputy_id == hw.user("fx_gongye").id
    moved = client.post(f"/projects/{pid}/edit", data={**office, "reason": "分工调整"}, follow_redirects=True)
    assert moved.status_code == 200 and hw.project(pid).deputy_id == hw.user("fx_wenlv").id
