"""Warning board, settings, progress notes and notification centre through the real Flask app (CSRF on)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.supervision import lights, progress
from engine.platform import warning_settings
from engine.platform import notifications
from engine.platform.models import Project, Task, User, utcnow
from tests.conftest import Helper
from tests.webui.conftest import Auth, csrf_token



@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


def age_tasks(h: Helper, project_id: int, days: int) -> None:
    """Move a project's ready tasks `days` into the past, as if that time had gone by."""
    with h.db.session() as s:
        for task in s.scalars(select(Task).where(Task.project_id == project_id, Task.status == "ready")):
            assert task.due_at is not None
            task.created_at -= timedelta(days=days)
            task.due_at -= timedelta(days=days)


def test_every_page_needs_sign_in(client: FlaskClient, hs: Helper) -> None:
    pid = hs.register()
    for path in ("/warnings", "/warnings/live", "/warnings/settings", "/notifications", "/notifications/unread.json",
                 f"/projects/{pid}/progress"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_the_board_shows_lights_per_unit_and_links_to_the_projects(client: FlaskClient, auth: Auth, hs: Helper) -> None:
    red = hs.register(name="红灯项目")
    yellow = hs.register(name="黄灯项目", by="xinwo")
    hs.register(name="正常项目", by="xinwo")
    age_tasks(hs, red, 61)
    age_tasks(hs, yellow, 31)
    auth.login("bangongshi")
    page = client.get("/warnings").get_data(as_text=True)
    assert re.search(r'id="total-red"[^>]*>.*?<b>1</b>', page, re.S)
    assert re.search(r'id="total-yellow"[^>]*>.*?<b>1</b>', page, re.S)
    assert re.search(r'id="total-green"[^>]*>.*?<b>1</b>', page, re.S)
    assert f'href="/projects?unit={hs.unit("anwen")}&amp;light=red"' in page
    assert f'href="/projects/{red}"' in page and "确认投资意向" in page
    assert 'data-refresh-url="/warnings/live"' in page and 'data-refresh-seconds="30"' in page
    fragment = client.get("/warnings/live").get_data(as_text=True)
    assert "<html" not in fragment and "红灯项目" in fragment


def test_a_town_official_sees_only_projects_of_their_unit(client: FlaskClient, auth: Auth, hs: Helper) -> None:
    age_tasks(hs, hs.register(name="安文的项目"), 61)
    age_tasks(hs, hs.register(name="新渥的项目", by="xinwo"), 61)
    auth.login("xinwo")
    page = client.get("/warnings").get_data(as_text=True)
    assert "新渥的项目" in page and "安文的项目" not in page


def test_the_red_list_sorts_by_days_overdue_both_ways(client: FlaskClient, auth: Auth, hs: Helper) -> None:
    for name, days in (("逾期70天", 100), ("逾期40天", 70), ("逾期90天", 120)):
        age_tasks(hs, hs.register(name=name), days)
    auth.login("bangongshi")

    def red_names(sort: str) -> list[str]:
        page = client.get(f"/warnings?sort={sort}").get_data(as_text=True)
        table = page[page.index('id="red-list"'):page.index('id="yellow-list"')]
        return re.findall(r'href="/projects/\d+">([^<]+)</a>', table)

    assert red_names("days") == ["逾期90天", "逾期70天", "逾期40天"]
    assert red_names("-days") == ["逾期40天", "逾期70天", "逾期90天"]


def test_only_the_office_edits_settings_and_bad_values_store_nothing(client: FlaskClient, auth: Auth, hs: Helper) -> None:
    auth.login("anwen")
    assert client.get("/warnings/settings").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    auth.login("bangongshi")
    page = client.get("/warnings/settings").get_data(as_text=True)
    for spec in warning_settings.SPECS:
        assert f'name="{spec.key}"' in page, spec.key
    token = csrf_token(client, "/warnings/settings")
    bad = client.post("/warnings/settings", data={"csrf_token": token, "progress_yellow_days": "50", "progress_red_days": "45"})
    assert bad.status_code == 422 and "项目进展红灯天数必须大于黄灯天数" in bad.get_data(as_text=True)
    assert client.post("/warnings/settings", data={"progress_yellow_days": "20"}).status_code == 400  # no CSRF token
    with hs.db.session() as s:
        assert warning_settings.get_all(s) == warning_settings.defaults()
    good = client.post("/warnings/settings", data={"csrf_token": token, "progress_yellow_days": "20", "progress_red_days": "40",
                                                  "board_refresh_seconds": "10", "meeting_day": "15"})
    assert good.status_code == 303
    with hs.db.session() as s:
        values = warning_settings.get_all(s)
    assert (values["progress_yellow_days"], values["board_refresh_seconds"], values["email_enabled"]) == (20, 10, False)
    assert 'data-refresh-seconds="10"' in client.get("/warnings").get_data(as_text=True)


def test_progress_notes_from_the_landing_unit_with_messages_for_bad_input(client: FlaskClient, auth: Auth, hs: Helper) -> None:
    pid = hs.register()
    auth.login("xinwo")
    assert client.get(f"/projects/{pid}/progress").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    auth.login("anwen")
    token = csrf_token(client, f"/projects/{pid}/progress")
    empty = client.post(f"/projects/{pid}/progress", data={"csrf_token": token, "content": "  ", "problems": "用地指标未落实"})
    assert empty.status_code == 422
    text = empty.get_data(as_text=True)
    assert "进展情况不能为空" in text and "用地指标未落实" in text  # input kept
    assert client.post(f"/projects/{pid}/progress", data={"content": "无令牌"}).status_code == 400
    with hs.db.session() as s:
        assert progress.notes_of(s, pid) == []
    done = client.post(f"/projects/{pid}/progress", data={"csrf_token": token, "content": "完成项目选址<script>x</script>"})
    assert done.status_code == 303
    page = client.get(f"/projects/{pid}/progress").get_data(as_text=True)
    assert "完成项目选址&lt;script&gt;" in page and "<script>x</script>" not in page
    assert client.post("/projects/99999/progress", data={"csrf_token": token, "content": "x"}).status_code == 404


def test_a_deputy_reads_progress_but_may_not_post(client: FlaskClient, auth: Auth, hs: Helper) -> None:
    pid = hs.register()
    auth.login("fx_gongye")
    page = client.get(f"/projects/{pid}/progress").get_data(as_text=True)
    assert 'id="progress-form"' not in page
    token = csrf_token(client, "/notifications")
    assert client.post(f"/projects/{pid}/progress", data={"csrf_token": token, "content": "越权"}).status_code == 403


def test_the_bell_counts_unread_and_opening_a_notification_marks_it_read(client: FlaskClient, auth: Auth, hs: Helper) -> None:
    pid = hs.register(name="逾期项目")
    age_tasks(hs, pid, 31)
    with hs.db.session() as s:
        assert lights.scan(s, utcnow()) == 1
        other = notifications.notify(s, {hs.user("xinwo").id}, "test", "别人的通知")[0].id
    auth.login("anwen")
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'id="bell-count"[^>]*>1</span>', page)
    assert client.get("/notifications/unread.json").get_json() == {"unread": 1}
    listing = client.get("/notifications").get_data(as_text=True)
    mine = int(re.search(r'data-id="(\d+)"', listing).group(1))
    assert "【黄灯】逾期项目" in listing
    token = csrf_token(client, "/notifications")
    assert client.post(f"/notifications/{other}/open", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/notifications/{other}/read", data={"csrf_token": token}).status_code == 404
    opened = client.post(f"/notifications/{mine}/open", data={"csrf_token": token})
    assert opened.status_code == 303 and re.fullmatch(r"/tasks/\d+", opened.headers["Location"])
    assert client.get("/notifications/unread.json").get_json() == {"unread": 0}
    assert re.search(r'id="bell-count"[^>]*hidden>0</span>', client.get("/").get_data(as_text=True))
    with hs.db.session() as s:
        assert notifications.unread_count(s, hs.user("xinwo").id) == 1


def test_officials_set_their_delivery_addresses_with_checks(client: FlaskClient, auth: Auth, hs: Helper) -> None:
    auth.login("anwen")
    token = csrf_token(client, "/notifications")
    bad = client.post("/notifications/address", data={"csrf_token": token, "email": "不是邮箱", "messenger_id": "zzd-1"})
    assert bad.status_code == 422 and "电子邮箱格式不正确" in bad.get_data(as_text=True)
    ok = client.post("/notifications/address", data={"csrf_token": token, "email": "anwen@panan.gov.cn", "messenger_id": "zzd-1"})
    assert ok.status_code == 303
    with hs.db.session() as s:
        address = s.get(notifications.NotifyAddress, hs.user("anwen").id)
        assert (address.email, address.messenger_id) == ("anwen@panan.gov.cn", "zzd-1")


@pytest.mark.parametrize("link", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_opening_a_notification_never_leaves_the_site(client: FlaskClient, auth: Auth, hs: Helper, link: str) -> None:
    with hs.db.session() as s:
        nid = notifications.notify(s, {hs.user("anwen").id}, "test", "外部链接", link=link)[0].id
    auth.login("anwen")
    opened = client.post(f"/notifications/{nid}/open", data={"csrf_token": csrf_token(client, "/notifications")})
    assert opened.status_code == 303 and opened.headers["Location"] == "/notifications"


def test_the_board_lists_one_page_of_each_light_and_pages_through_the_rest(client: FlaskClient, auth: Auth, hs: Helper) -> None:
    count = lights.BOARD_PAGE + 7
    long_ago = utcnow() - timedelta(days=400)
    with hs.db.session() as s:
        deputy = s.scalars(select(User.id).where(User.username == "fx_gongye")).one()
        s.add_all([
            Project(name=f"久未更新{n:03d}", category="services", attracting_unit_id=hs.unit("anwen"), landing_unit_id=hs.unit("anwen"),
                    deputy_id=deputy, total_investment=1000, stage="intent", status="active",
                    registered_at=long_ago + timedelta(days=n), last_progress_at=long_ago + timedelta(days=n))
            for n in range(count)
        ])
    auth.login("bangongshi")
    first = client.get("/warnings").get_data(as_text=True)
    second = client.get("/warnings?page=2").get_data(as_text=True)

    def listed(page: str) -> list[str]:
        return re.findall(r'<tr data-project="\d+">', page.split('id="red-list"')[1].split("</table>")[0])

    assert len(listed(first)) == lights.BOARD_PAGE and len(listed(second)) == 7
    assert f'id="red-count">{count}<' in first and 'rel="next"' in first and 'rel="prev"' in second
    assert "久未更新000" in first and "久未更新000" not in second  # the longest overdue first
