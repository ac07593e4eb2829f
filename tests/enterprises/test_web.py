"""招引企业库 pages: sign-in, role and unit refusals, CSRF, inline errors, escaping, export equals the page, import and lead flows."""
from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from werkzeug.test import TestResponse

from tests.enterprises.test_excel import workbook
from tests.webui.conftest import csrf_token
from tests.enterprises.conftest import Web


def _text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def test_every_page_needs_sign_in(web: Web) -> None:
    client, _auth, h = web
    entry_id = h.add()
    for path in ("/enterprises", "/enterprises/new", f"/enterprises/{entry_id}", f"/enterprises/{entry_id}/edit",
                 f"/enterprises/{entry_id}/lead", "/enterprises/import", "/enterprises/tags", "/enterprises/export.xlsx"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_every_official_reads_units_write_their_own_and_refusals_are_403(web: Web) -> None:
    client, auth, h = web
    entry_id = h.add(by="jingshang", name="经商局的企业")
    auth.login("jinpan")
    listing = _text(client.get("/enterprises"))
    assert "经商局的企业" in listing and "招引企业库" in listing and "可编辑" not in listing
    page = _text(client.get(f"/enterprises/{entry_id}"))
    assert "您可查阅" in page and "转为项目线索</a>" not in page and "/edit" not in page
    token = csrf_token(client, "/enterprises/new")
    assert client.get(f"/enterprises/{entry_id}/edit").status_code == 403
    assert client.post(f"/enterprises/{entry_id}/edit", data={"csrf_token": token, **h.entry_data()}).status_code == 403
    assert client.get(f"/enterprises/{entry_id}/lead").status_code == 403
    assert client.post("/enterprises/new", data={"csrf_token": token, **h.entry_data(name="别家", source_unit_id=h.unit("jsj"))}).status_code == 403
    assert client.post("/enterprises/tags", data={"csrf_token": token, "name": "数字经济", "group_name": "3"}).status_code == 403
    assert client.post(f"/enterprises/tags/{h.tag('新材料')}", data={"csrf_token": token, "name": "x", "group_name": "3"}).status_code == 403
    auth.switch("xianzhang")
    assert client.get("/enterprises").status_code == 200 and client.get("/enterprises?tag=²&unit=12a").status_code == 200
    assert client.get("/enterprises/new").status_code == 403 and client.get("/enterprises/import").status_code == 403
    assert client.get("/enterprises/999").status_code == 404


def test_the_form_shows_each_error_by_its_field_and_a_missing_token_is_400(web: Web) -> None:
    client, auth, h = web
    auth.login("jingshang")
    before = h.stored()
    token = csrf_token(client, "/enterprises/new")
    bad = client.post("/enterprises/new", data={"csrf_token": token, **h.entry_data(name="", planned_investment="abc", list_kind="")})
    page = _text(bad)
    assert bad.status_code == 422 and "企业名称不能为空" in page and "计划投资(万元)必须是0到999999999999.99之间的数字" in page
    assert "名单类别无效" in page and "本次没有保存任何内容" in page
    assert client.post("/enterprises/new", data=h.entry_data()).status_code == 400
    assert h.stored() == before
    ok = client.post("/enterprises/new", data={"csrf_token": token, **h.entry_data(name="<script>alert(1)</script>公司")})
    assert ok.status_code == 303
    detail = _text(client.get(ok.headers["Location"]))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;公司" in detail and "<script>alert(1)" not in detail
    assert "录入招引企业" in detail and "县经商局" in detail
    entry_id = int(ok.headers["Location"].rsplit("/", 1)[1])
    edit_url = f"/enterprises/{entry_id}/edit"
    assert 'value="&lt;script&gt;' in _text(client.get(edit_url))
    saved = client.post(edit_url, data={"csrf_token": token, **h.entry_data(name="改名公司", status="following")})
    assert saved.status_code == 303
    assert "企业名称：&lt;script&gt;alert(1)&lt;/script&gt;公司 → 改名公司" in _text(client.get(f"/enterprises/{entry_id}"))


def test_export_holds_exactly_the_rows_the_filtered_page_shows(web: Web) -> None:
    client, auth, h = web
    for index in range(25):
        h.add(by="jingshang", name=f"装备企业{index:02d}")
    h.add(by="jingshang", name="材料企业", tag_id=h.tag("新材料"))
    auth.login("anwen")
    query = f"tag={h.tag('装备制造')}&unit={h.unit('jsj')}"
    shown = []
    for number in (1, 2):
        page = _text(client.get(f"/enterprises?{query}&page={number}"))
        shown += re.findall(r'data-entry="\d+">\s*<td data-label="企业名称"><a [^>]+>([^<]+)</a>', page)
    assert len(shown) == 25 and "材料企业" not in shown
    sheet = load_workbook(io.BytesIO(client.get(f"/enterprises/export.xlsx?{query}").data)).active
    assert [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)] == shown


def test_import_through_the_page_previews_then_stores_all(web: Web) -> None:
    client, auth, h = web
    auth.login("rencaiban")
    token = csrf_token(client, "/enterprises/import")
    assert client.post("/enterprises/import", data={"csrf_token": token}).status_code == 422
    bad = workbook([[1, "人才团队甲", "新材料", "", "人才信息", "", "", "", ""], [2, "人才团队乙", "不存在", "", "人才信息", "", "", "", ""]])
    response = client.post("/enterprises/import", data={"csrf_token": token, "file": (io.BytesIO(bad), "talent.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "产业标签“不存在”不存在或已停用" in _text(response) and "确认导入" not in _text(response)
    good = workbook([[1, "人才团队甲", "新材料", "", "人才信息", "", "", "", ""], [2, "人才团队乙", "电子信息", "", "人才信息", "", "", "", ""]])
    response = client.post("/enterprises/import", data={"csrf_token": token, "file": (io.BytesIO(good), "talent.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and "确认导入2行" in _text(response)
    upload = re.search(r'name="token" value="([0-9a-f]+)"', _text(response)).group(1)
    stored = client.post("/enterprises/import", data={"csrf_token": token, "token": upload})
    assert stored.status_code == 303
    assert "人才团队乙" in _text(client.get("/enterprises?kind=talent"))
    assert client.post("/enterprises/import", data={"csrf_token": token, "token": "../x"}).status_code == 400


def test_turning_an_entry_into_a_lead_through_the_page(web: Web) -> None:
    client, auth, h = web
    entry_id = h.add(by="jingshang", name="浙江精密装备有限公司", planned_investment="80000")
    auth.login("jingshang")
    url = f"/enterprises/{entry_id}/lead"
    form = _text(client.get(url))
    assert 'name="investor" value="浙江精密装备有限公司"' in form and 'value="80000.00"' in form and "县经商局" in form
    assert re.search(r'<select id="f-category" name="category">.*?<option value="\w+" selected>', form, re.S)  # from the tag
    token = csrf_token(client, url)
    before = h.stored()
    bad = client.post(url, data={"csrf_token": token, **h.lead_data(deputy_id="")})
    assert bad.status_code == 422 and "分管县领导为必填项" in _text(bad) and h.stored() == before
    assert client.post(url, data=h.lead_data()).status_code == 400
    ok = client.post(url, data={"csrf_token": token, **h.lead_data()})
    assert ok.status_code == 303 and "/projects/" in ok.headers["Location"]
    project_page = _text(client.get(ok.headers["Location"]))
    assert "由招引企业库“浙江精密装备有限公司”" in project_page and "招引企业库：浙江精密装备有限公司</a>" in project_page
    detail = _text(client.get(f"/enterprises/{entry_id}"))
    assert "已转线索" in detail and "精密装备生产基地" in detail and "转为项目线索</a>" not in detail
    again = client.post(url, data={"csrf_token": token, **h.lead_data()})
    assert again.status_code == 409 and "不能重复转化" in _text(again)


def test_the_office_keeps_the_tags(web: Web) -> None:
    client, auth, h = web
    h.add(by="jingshang")
    auth.login("bangongshi")
    token = csrf_token(client, "/enterprises/tags")
    added = client.post("/enterprises/tags", data={"csrf_token": token, "name": "数字经济", "group_name": "3 重点产业", "sort_order": "45"})
    assert added.status_code == 303 and "数字经济" in _text(client.get("/enterprises/tags"))
    duplicate = client.post("/enterprises/tags", data={"csrf_token": token, "name": "数字经济", "group_name": ""})
    assert duplicate.status_code == 422 and "产业标签名称“数字经济”已存在" in _text(duplicate)
    in_use = client.post(f"/enterprises/tags/{h.tag('装备制造')}/delete", data={"csrf_token": token})
    assert in_use.status_code == 422 and "不能删除，只能停用" in _text(in_use)
    off = client.post(f"/enterprises/tags/{h.tag('装备制造')}", data={"csrf_token": token, "name": "装备制造", "group_name": "3 重点产业",
                                                                      "sort_order": "20", "active": "0"})
    assert off.status_code == 303
    assert "装备制造（已停用）" not in _text(client.get("/enterprises/new"))
    assert client.post(f"/enterprises/tags/{h.tag('数字经济')}/delete", data={"csrf_token": token}).status_code == 303
    assert client.post(f"/enterprises/tags/{h.tag('新材料')}/delete", data={}).status_code == 400
    page = _text(client.get("/enterprises/tags"))
    assert '<option value="industrial" selected>工业</option>' in page  # 新材料's projects are industrial
