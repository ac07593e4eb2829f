"""Two-step Excel imports: upload, a preview with an error per row, then a confirmation that stores all rows or none."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from flask import abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from engine.platform.errors import InvalidInput
from engine.platform.models import User
from engine.platform.xlsx import ImportPreview

from .auth import official
from .services import db

MAX_UPLOAD = 5 * 1024 * 1024


@dataclass(frozen=True)
class ImportFlow:
    """What differs between imports: where files wait, how rows are checked and stored, the page and the way back."""

    folder: str
    preview: Callable[[Session, bytes, User], ImportPreview]
    commit: Callable[[Session, bytes, User], list[int]]
    page: Callable[[Optional[ImportPreview], str, dict[str, str], int], ResponseReturnValue]
    done: Callable[[list[int]], ResponseReturnValue]
    endpoint: str


def _waiting(folder: str) -> Path:
    """Where a previewed upload waits for its confirmation (under instance/, never served)."""
    path = Path(current_app.instance_path) / "imports" / folder
    path.mkdir(parents=True, exist_ok=True)
    return path


def handle(flow: ImportFlow) -> ResponseReturnValue:
    """A POST of the import page: confirm a previewed file by its token, or preview a new upload."""
    token = request.form.get("token", "")
    if token:
        if not token.isalnum():
            abort(400)
        waiting = _waiting(flow.folder) / f"{token}.xlsx"
        claimed = waiting.with_name(f"{token}.{secrets.token_hex(8)}.importing")
        try:
            waiting.rename(claimed)  # atomic: of two confirmations of one file, only one goes on
        except FileNotFoundError:
            flash("导入文件已导入或已过期，请重新上传", "error")
            return redirect(url_for(flow.endpoint), 303)
        content = claimed.read_bytes()
        try:
            with db().session() as s:
                ids = flow.commit(s, content, official(s))
        except InvalidInput as exc:
            with db().session() as s:
                preview = flow.preview(s, content, official(s))
            return flow.page(preview, "", exc.errors, 422)
        finally:
            claimed.unlink(missing_ok=True)
        return flow.done(ids)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return flow.page(None, "", {"上传文件": "请选择要导入的 .xlsx 文件"}, 422)
    content = upload.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        return flow.page(None, "", {"上传文件": "文件不能超过5MB"}, 413)
    with db().session() as s:
        preview = flow.preview(s, content, official(s))
    if not preview.ok:
        return flow.page(preview, "", {}, 422)
    token = secrets.token_hex(16)
    (_waiting(flow.folder) / f"{token}.xlsx").write_bytes(content)
    return flow.page(preview, token, {}, 200)
