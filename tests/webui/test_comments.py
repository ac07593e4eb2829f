"""会商意见 over HTTP: everyone who sees the project reads them, output is escaped, an @mention notifies the named official
(in the app and through the outbox), bad input is refused in Chinese with nothing stored, another town gets 403, each is audited."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.platform import notifications, warning_settings
from engine.platform.db import Database
from engine.platform.models import Event
from engine.platform.notifications import Notification, OutboxMessage
from engine.projects.comments import ProjectComment
from tests.conftest import Helper, web_parts
from tests.webui.conftest import Auth, csrf_token

Web = tuple[FlaskClient, Auth, Helper]


@pytest.fixture
def web(db: Database) -> Web:
    return web_parts(db, Helper)


@pytest.fixture
def webs(sqlite_db: Database) -> Web:
    return web_parts(sqlite_db, Helper)


def post(client: FlaskClient, project_id: int, body: str) -> tuple[int, str]:
    token = csrf_token(client, f"/projects/{project_id}")
    answer = client.post(f"/projects/{project_id}/comments", data={"csrf_token": token, "body": body})
    return answer.status_code, answer.get_data(as_text=True)


def count(h: Helper, model: type) -> int:
    with h.db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_a_comment_with_a_mention_is_read_by_the_project_s_viewers_and_notifies_the_named_official(web: Web) -> None:
    client, auth, h = web
    pid = h.register(name="中药材精深加工园")
    with h.db.session() as s:
        warning_settings.update(s, {"email_enabled": True, "smtp_host": "127.0.0.1", "smtp_port": 2525, "smtp_sender": "yujing@panan.gov.cn"},
                                s.merge(h.user("bangongshi")))
        notifications.save_address(s, h.user("fx_gongye").id, "wangzg@panan.gov.cn", "")
    auth.login("anwen")
    status, _page = post(client, pid, "@王志刚 请协调林地指标，<script>alert(1)</script> 联系 zhang@example.com")
    assert status == 303
    with h.db.session() as s:
        (comment,) = s.scalars(select(ProjectComment)).all()
        assert comment.mentions == [{"id": h.user("fx_gongye").id, "name": "王志刚"}]
        (note,) = s.scalars(select(Notification).where(Notification.kind == "mention")).all()
        assert note.user_id == h.user("fx_gongye").id and note.project_id == pid
        assert note.title == "钱芳在“中药材精深加工园”的会商意见中提到了您" and note.link == f"/projects/{pid}#comment-{comment.id}"
        (mail,) = s.scalars(select(OutboxMessage)).all()
        assert (mail.channel, mail.recipient, mail.subject) == ("email", "wangzg@panan.gov.cn", note.title)
        (event,) = s.scalars(select(Event).where(Event.kind == "comment")).all()
        assert event.actor_id == h.user("anwen").id and event.payload == {"comment_id": comment.id, "mentions": [h.user("fx_gongye").id]}
    auth.switch("jingshang")  # a county department reads it, escaped, the mention marked
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert '<span class="mention">@王志刚</span>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    auth.switch("xinwo")
    assert client.get(f"/projects/{pid}").status_code == 403
    token = csrf_token(client, "/")
    assert client.post(f"/projects/{pid}/comments", data={"csrf_token": token, "body": "看看"}).status_code == 403
    assert count(h, ProjectComment) == 1


def test_posting_redirects_to_the_comment_and_a_form_without_its_token_is_refused(webs: Web) -> None:
    client, auth, h = webs
    pid = h.register()
    auth.login("anwen")
    token = csrf_token(client, f"/projects/{pid}")
    answer = client.post(f"/projects/{pid}/comments", data={"csrf_token": token, "body": "已与投资方再次对接"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/projects/{pid}#comment-1")
    assert client.post(f"/projects/{pid}/comments", data={"body": "无令牌"}).status_code == 400
    assert count(h, ProjectComment) == 1


@pytest.mark.parametrize("body, message", [
    ("   ", "会商意见不能为空"),
    ("长" * 2001, "会商意见不能超过2000个字"),
    ("请@张无名 阅看", "会商意见中的“@张无名”找不到对应的人员：请在 @ 后写对方的姓名或登录名"),
    ("请@黄磊 阅看", "“@黄磊”（新渥街道）无权查看该项目，无法提醒其阅看：请删去这一提及"),
    ("含控制字符\x00", "会商意见不能包含控制字符（U+0000）"),
])
def test_bad_comments_are_refused_in_chinese_with_the_text_kept_and_nothing_stored(web: Web, body: str, message: str) -> None:
    client, auth, h = web
    pid = h.register()
    auth.login("anwen")
    status, page = post(client, pid, body)
    assert status == 422 and message in page
    assert 'id="comment-body-error"' in page
    assert count(h, ProjectComment) == 0 and count(h, Notification) == 0
    with h.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "comment")) == 0


def test_a_login_name_mentions_too_and_nobody_is_notified_of_their_own_mention(webs: Web) -> None:
    client, auth, h = webs
    pid = h.register()
    auth.login("bangongshi")
    assert post(client, pid, "@anwen请补充材料，@陈晓明 已知悉")[0] == 303
    with h.db.session() as s:
        notes = s.scalars(select(Notification).where(Notification.kind == "mention")).all()
        assert [n.user_id for n in notes] == [h.user("anwen").id]
