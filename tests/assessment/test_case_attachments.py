"""Attachments of a 交办单: the raising and responsible units add them, the case page lists them, access follows the project."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.platform.attachments import Attachment, FileStore, Upload
from engine.platform.errors import NotAllowed
from engine.supervision import coordination
from tests import documents
from tests.assessment.conftest import SupervisionHelper, Web
from tests.assessment.test_coordination import submit
from tests.webui.conftest import csrf_token


def test_the_raising_unit_attaches_to_its_case_and_another_town_may_not(sh: SupervisionHelper, tmp_path: Path) -> None:
    store = FileStore(tmp_path / "attachments")
    pid = sh.register()
    case = submit(sh, pid)
    with sh.db.session() as s:
        row = coordination.attach(s, store, Upload("林地指标测算.xlsx", documents.xlsx()), case.id, s.merge(sh.user("anwen")), 1024 * 1024)
        assert (row.case_id, row.project_id) == (case.id, pid)
    with pytest.raises(NotAllowed, match="报送单位、责任单位"):
        with sh.db.session() as s:
            coordination.attach(s, store, Upload("x.pdf", documents.pdf()), case.id, s.merge(sh.user("xinwo")), 1024 * 1024)
    with sh.db.session() as s:
        assert [a.filename for a in s.scalars(select(Attachment))] == ["林地指标测算.xlsx"]


def test_the_case_page_lists_its_files_and_takes_uploads(web: Web) -> None:
    client, auth, sh = web
    pid = sh.register()
    case = submit(sh, pid)
    auth.login("anwen")
    page = f"/supervision/cases/{case.id}"
    token = csrf_token(client, page)
    answer = client.post(f"{page}/attachments", data={"csrf_token": token, "file": (io.BytesIO(documents.pdf()), "情况说明.pdf")},
                         content_type="multipart/form-data")
    assert answer.status_code == 303
    assert "情况说明.pdf" in client.get(page).get_data(as_text=True)
    project_page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert "情况说明.pdf" in project_page and "交办单：用地报批受阻" in project_page
    refused = client.post(f"{page}/attachments", data={"csrf_token": token, "file": (io.BytesIO(documents.exe()), "情况说明.pdf")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and "附件“情况说明.pdf”的内容不是 PDF 文件" in refused.get_data(as_text=True)
    auth.switch("xinwo")
    assert client.get(page).status_code == 403
    with sh.db.session() as s:
        (row_id,) = s.scalars(select(Attachment.id)).all()
    assert client.get(f"/attachments/{row_id}").status_code == 403
