"""Attachments over HTTP: every accepted kind checked by content, stored once by hash, listed, downloaded safely;
impostors refused with nothing stored; another town gets 403; only the uploader or an administrator removes, audited."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.platform import audit
from engine.platform.attachments import Attachment, FileStore
from engine.platform.models import Event
from tests import documents
from tests.conftest import Helper, web_parts
from tests.webui.conftest import Auth, csrf_token

Web = tuple[FlaskClient, Auth, Helper]


@pytest.fixture
def web(db: object) -> Web:
    """A client on every backend: (client, Auth, Helper)."""
    from engine.platform.db import Database

    assert isinstance(db, Database)
    return web_parts(db, Helper)


@pytest.fixture
def webs(sqlite_db: object) -> Web:
    """A client on SQLite only."""
    from engine.platform.db import Database

    assert isinstance(sqlite_db, Database)
    return web_parts(sqlite_db, Helper)


def store_of(client: FlaskClient) -> FileStore:
    return FileStore(Path(client.application.config["ATTACHMENTS_DIR"]))


def upload(client: FlaskClient, url: str, name: str, content: bytes, page: str) -> TestResponse:
    """Post one file as the page's upload form does (with the page's CSRF token)."""
    token = csrf_token(client, page)
    return client.post(url, data={"csrf_token": token, "file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def rows(h: Helper) -> list[Attachment]:
    with h.db.session() as s:
        return list(s.scalars(select(Attachment).order_by(Attachment.id)))


def events(h: Helper, kind: str) -> list[Event]:
    with h.db.session() as s:
        return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_every_accepted_kind_is_stored_once_by_hash_listed_and_downloaded_under_its_chinese_name(web: Web) -> None:
    client, auth, h = web
    pid = h.register(name="中药材精深加工园")
    auth.login("anwen")
    page = f"/projects/{pid}"
    for name, content in documents.ACCEPTED.items():
        answer = upload(client, f"/projects/{pid}/attachments", name, content, page)
        assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    assert upload(client, f"/projects/{pid}/attachments", "审批材料（副本）.pdf", documents.pdf(), page).status_code == 303
    stored = rows(h)
    assert [r.kind for r in stored] == ["pdf", "png", "jpg", "docx", "xlsx", "ofd", "doc", "xls", "pdf"]
    store = store_of(client)
    assert stored[0].sha256 == stored[-1].sha256 == hashlib.sha256(documents.pdf()).hexdigest()
    assert sorted(store.digests()) == sorted({r.sha256 for r in stored})  # the copy is stored once
    assert store.path(stored[0].sha256).read_bytes() == documents.pdf()

    listed = client.get(page).get_data(as_text=True)
    printed = client.get(f"/projects/{pid}/approval-form").get_data(as_text=True)
    for name in documents.ACCEPTED:
        assert name in listed and name in printed

    got = client.get(f"/attachments/{stored[0].id}")
    assert got.status_code == 200 and got.data == documents.pdf()
    assert got.mimetype == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''%E5%AE%A1%E6%89%B9%E6%9D%90%E6%96%99.pdf" in disposition
    assert all(ord(c) < 128 for c in disposition)
    docx = client.get(f"/attachments/{stored[3].id}")
    assert docx.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert [e.summary for e in events(h, "attachment")][0] == "钱芳上传附件“审批材料.pdf”"


TOO_LARGE = 8192


@pytest.mark.parametrize("name, content, message", [
    ("安装程序.pdf", documents.exe(), "附件“安装程序.pdf”的内容不是 PDF 文件"),
    ("投资协议.docx", documents.exe(), "附件“投资协议.docx”的内容不是 Word（.docx） 文件"),
    ("投资协议.docx", documents.zip_of_anything(), "的内容不是 Word（.docx） 文件"),
    ("投资协议.docx", documents.docx(documents.WORD_MACRO_MAIN), "的内容不是 Word（.docx） 文件"),
    ("照片.jpg", documents.png(), "附件“照片.jpg”的内容不是 JPG 图片 文件"),
    ("情况说明.doc", documents.ole("Workbook"), "的内容不是 Word（.doc） 文件"),
    ("setup.exe", documents.exe(), "附件“setup.exe”的类型不允许上传：只能上传 PDF、OFD、Word"),
    ("说明", documents.pdf(), "附件“说明”的类型不允许上传"),
    ("空白.pdf", b"", "附件“空白.pdf”是空文件"),
    ("大文件.pdf", documents.pdf() + b"0" * TOO_LARGE, "附件“大文件.pdf”超过大小上限"),
    ("", b"", "请选择要上传的附件"),
])
def test_a_file_that_is_not_what_its_name_says_is_refused_with_the_field_named_and_nothing_stored(
    webs: Web, name: str, content: bytes, message: str
) -> None:
    client, auth, h = webs
    client.application.config["ATTACHMENT_MAX_BYTES"] = TOO_LARGE
    pid = h.register()
    auth.login("anwen")
    answer = upload(client, f"/projects/{pid}/attachments", name, content, f"/projects/{pid}")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert message in text and "附件未上传，没有保存任何内容" in text
    assert rows(h) == [] and events(h, "attachment") == []
    assert list(store_of(client).digests()) == []


def test_an_official_of_another_town_gets_403_and_changes_nothing(web: Web) -> None:
    client, auth, h = web
    pid = h.register()
    auth.login("anwen")
    upload(client, f"/projects/{pid}/attachments", "审批材料.pdf", documents.pdf(), f"/projects/{pid}")
    (row,) = rows(h)
    auth.switch("xinwo")
    assert client.get(f"/attachments/{row.id}").status_code == 403
    assert client.get(f"/projects/{pid}").status_code == 403
    token = csrf_token(client, "/")
    refused = client.post(f"/projects/{pid}/attachments", data={"csrf_token": token, "file": (io.BytesIO(documents.png()), "图.png")},
                          content_type="multipart/form-data")
    assert refused.status_code == 403
    assert client.post(f"/attachments/{row.id}/remove", data={"csrf_token": token}).status_code == 403
    assert [r.id for r in rows(h)] == [row.id] and len(list(store_of(client).digests())) == 1
    auth.switch("jingshang")  # a county department follows every project: it reads the file
    assert client.get(f"/attachments/{row.id}").status_code == 200
    assert client.get("/attachments/999999").status_code == 404


def test_only_the_uploader_or_an_administrator_removes_and_each_removal_is_audited(web: Web) -> None:
    client, auth, h = web
    pid = h.register()
    auth.login("anwen")
    page = f"/projects/{pid}"
    for name, content in (("审批材料.pdf", documents.pdf()), ("审批材料（副本）.pdf", documents.pdf()), ("现场照片.png", documents.png())):
        upload(client, f"/projects/{pid}/attachments", name, content, page)
    first, copy, photo = rows(h)
    store = store_of(client)
    assert "remove-attachment" in client.get(page).get_data(as_text=True)

    auth.switch("bangongshi")  # the office sees the project and its files, but removes only its own
    assert "remove-attachment" not in client.get(page).get_data(as_text=True)
    token = csrf_token(client, page)
    assert client.post(f"/attachments/{first.id}/remove", data={"csrf_token": token}).status_code == 403
    assert len(rows(h)) == 3 and events(h, "attachment_removed") == []

    auth.switch("anwen")
    token = csrf_token(client, page)
    gone = client.post(f"/attachments/{first.id}/remove", data={"csrf_token": token, "next": page})
    assert gone.status_code == 303 and gone.headers["Location"].endswith(f"{page}#attachments")
    assert store.has(first.sha256)  # its copy still uses the file
    auth.switch("admin")
    token = csrf_token(client, page)
    for row in (copy, photo):
        assert client.post(f"/attachments/{row.id}/remove", data={"csrf_token": token}).status_code == 303
    assert rows(h) == [] and list(store.digests()) == []  # no attachment uses them any more
    removed = events(h, "attachment_removed")
    assert [(e.actor_id, e.payload["filename"]) for e in removed] == [
        (h.user("anwen").id, "审批材料.pdf"), (h.user("admin").id, "审批材料（副本）.pdf"), (h.user("admin").id, "现场照片.png")]
    assert removed[1].summary == "系统管理员删除附件“审批材料（副本）.pdf”（钱芳上传）"
    assert all(e.project_id == pid and e.payload["sha256"] for e in removed)
    with h.db.session() as s:
        assert audit.verify(s).ok


def test_a_task_takes_files_from_whoever_holds_it_and_the_project_page_names_the_task(webs: Web) -> None:
    client, auth, h = webs
    pid = h.register()
    task = h.only_ready(pid)
    auth.login("anwen")
    page = f"/tasks/{task.id}"
    assert upload(client, f"/tasks/{task.id}/attachments", "洽谈纪要.docx", documents.docx(), page).status_code == 303
    assert "洽谈纪要.docx" in client.get(page).get_data(as_text=True)
    project_page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert "洽谈纪要.docx" in project_page and f"任务：{task.name}" in project_page
    (row,) = rows(h)
    assert row.task_id == task.id and row.project_id == pid
    auth.switch("xinwo")
    token = csrf_token(client, "/")
    answer = client.post(f"/tasks/{task.id}/attachments", data={"csrf_token": token, "file": (io.BytesIO(documents.pdf()), "a.pdf")},
                         content_type="multipart/form-data")
    assert answer.status_code == 403
    with h.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 1
