"""Attachments: files checked by their content, kept once per SHA-256 outside the database, with a metadata row each.

An attachment belongs to a project, and may be attached more narrowly to one of its tasks or
to one of its 交办单 (coordination cases); access follows the project (the domain packages
check it). A file is accepted only when its name ends in an allowed extension and its content
is that kind of file: the signature of a PDF, JPEG or PNG; an OLE2 compound file holding a
Word document or an Excel workbook for .doc and .xls; a ZIP container whose parts declare a
Word document or an Excel workbook (macro-free) for .docx and .xlsx, or an OFD document
(GB/T 33190, its OFD.xml entry) for .ofd. The content, not the browser's claim, gives the
type a download is served with.

Files are named by their hash in a two-level folder tree under the attachments directory
(settings), written beside their place and renamed into it, so a reader never sees half a
file and the same document uploaded twice is stored once. A removal deletes the row, logs
it, and deletes the file after the commit unless another attachment still uses it.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Optional

import olefile
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.platform import audit, permissions
from engine.platform.db import after_commit
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.messages import N_, Message, label
from engine.platform.models import Base, User, utcnow

FIELD = "file"
NAME_MAX = 200
SHOWN = 200
"""At most this many attachments are listed on one page (newest first); the count says how many there are."""
CHUNK = 1024 * 1024
DIGEST = re.compile(r"[0-9a-f]{64}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Kind:
    """An accepted kind of file: its name for people, the type it is served with, and the extensions it may carry."""

    label: str
    mimetype: str
    extensions: tuple[str, ...]


KINDS: dict[str, Kind] = {
    "pdf": Kind("PDF", "application/pdf", (".pdf",)),
    "ofd": Kind("OFD", "application/ofd", (".ofd",)),
    "doc": Kind(N_("Word（.doc）"), "application/msword", (".doc",)),
    "docx": Kind(N_("Word（.docx）"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    "xls": Kind(N_("Excel（.xls）"), "application/vnd.ms-excel", (".xls",)),
    "xlsx": Kind(N_("Excel（.xlsx）"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    "jpg": Kind(N_("JPG 图片"), "image/jpeg", (".jpg", ".jpeg")),
    "png": Kind(N_("PNG 图片"), "image/png", (".png",)),
}
BY_EXTENSION = {extension: key for key, kind in KINDS.items() for extension in kind.extensions}
ALLOWED_TEXT = N_("PDF、OFD、Word（.doc、.docx）、Excel（.xls、.xlsx）、JPG、PNG")
OOXML_MAIN = {
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
}
CONTENT_TYPES_MAX = 1024 * 1024


class Attachment(Base):
    """One attached file: where it hangs (project, and maybe a task or a 交办单), its name, type, size and hash, who added it."""

    __tablename__ = "attachment"
    __table_args__ = (
        Index("ix_attachment_project", "project_id", "id"),  # a project page's newest attachments and their count
        Index("ix_attachment_task", "task_id", "id"),
        Index("ix_attachment_case", "case_id", "id"),
        Index("ix_attachment_sha256", "sha256"),  # is a file still used, after a removal; what a restore must bring back
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("task.id"))
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("coordination_case.id"))
    filename: Mapped[str] = mapped_column(String(NAME_MAX))
    kind: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    uploader: Mapped[User] = relationship(lazy="joined")

    @property
    def mimetype(self) -> str:
        """The type the file is served with, from its checked content."""
        return KINDS[self.kind].mimetype

    @property
    def kind_label(self) -> str:
        """The kind's name for people (PDF, Word（.docx）…)."""
        return KINDS[self.kind].label


class FileStore:
    """Files named by their SHA-256 under one directory (ab/cd/abcd…), written whole or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        """Where the file with this hash lives; anything but 64 hex digits is refused (no path from outside)."""
        if not DIGEST.fullmatch(digest):
            raise ValueError(f"不是 SHA-256 值：{digest!r}")
        return self.root / digest[:2] / digest[2:4] / digest

    def has(self, digest: str) -> bool:
        """Whether the file is stored."""
        return self.path(digest).is_file()

    def put(self, content: bytes) -> str:
        """Store `content` (once: an identical file is already there) and return its hash."""
        digest = hashlib.sha256(content).hexdigest()
        target = self.path(digest)
        if not (target.is_file() and target.stat().st_size == len(content)):
            write_whole(target, [content])
        return digest

    def discard(self, digest: str) -> None:
        """Delete the file if it is there."""
        self.path(digest).unlink(missing_ok=True)

    def digests(self) -> Iterator[str]:
        """The hash of every stored file."""
        if self.root.is_dir():
            for path in self.root.glob("??/??/*"):
                if DIGEST.fullmatch(path.name) and path.is_file():
                    yield path.name


def write_whole(target: Path, chunks: Iterator[bytes] | list[bytes]) -> None:
    """Write chunks to a file beside `target`, flush it to disk and rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(6)}.partial")
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _zip_kind(content: bytes) -> Optional[str]:
    """docx, xlsx or ofd when the ZIP container holds that kind of document, else None."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "OFD.xml" in names:
                return "ofd"
            info = archive.getinfo("[Content_Types].xml") if "[Content_Types].xml" in names else None
            if info is None or info.file_size > CONTENT_TYPES_MAX:
                return None
            declared = archive.read(info)
    except Exception:  # noqa: BLE001 - whatever a malformed container raises, it is not an accepted document
        return None
    return next((kind for marker, kind in OOXML_MAIN.items() if marker in declared), None)


def _ole_kind(content: bytes) -> Optional[str]:
    """doc or xls when the OLE2 compound file holds a Word document or an Excel workbook, else None."""
    try:
        with olefile.OleFileIO(content) as ole:
            if ole.exists("WordDocument"):
                return "doc"
            if ole.exists("Workbook") or ole.exists("Book"):
                return "xls"
    except Exception:  # noqa: BLE001 - whatever a malformed compound file raises, it is not an accepted document
        return None
    return None


def sniff(content: bytes) -> Optional[str]:
    """The accepted kind the content is, read from the content alone; None for anything else."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content.startswith(b"PK\x03\x04"):
        return _zip_kind(content)
    if content.startswith(olefile.MAGIC):
        return _ole_kind(content)
    return None


def clean_name(filename: str) -> str:
    """The file's own name as the browser sent it: no folders, no control characters, at most NAME_MAX characters, extension kept."""
    name = CONTROL.sub("", PurePosixPath(filename.replace("\\", "/")).name).strip()
    if len(name) > NAME_MAX:
        stem, suffix = os.path.splitext(name)
        name = stem[: NAME_MAX - len(suffix)] + suffix
    return name


def check(filename: str, content: bytes, max_bytes: int) -> tuple[str, str]:
    """(clean name, kind) of an upload, or InvalidInput naming the field 附件 with what is wrong; nothing is stored."""
    name = clean_name(filename or "")
    if not name:
        raise InvalidInput({FIELD: Message(N_("请选择要上传的附件"))})
    if len(content) > max_bytes:
        raise InvalidInput({FIELD: Message(N_("附件“%(name)s”超过大小上限 %(limit)s MB，未保存"), name=name,
                                           limit=f"{max_bytes / 1024 / 1024:g}")})
    if not content:
        raise InvalidInput({FIELD: Message(N_("附件“%(name)s”是空文件，未保存"), name=name)})
    expected = BY_EXTENSION.get(os.path.splitext(name)[1].lower())
    if expected is None:
        raise InvalidInput({FIELD: Message(N_("附件“%(name)s”的类型不允许上传：只能上传 %(allowed)s 文件"), name=name,
                                           allowed=label(ALLOWED_TEXT))})
    found = sniff(content)
    if found != expected:
        raise InvalidInput({FIELD: Message(N_("附件“%(name)s”的内容不是 %(kind)s 文件（文件内容与扩展名不符），未保存：只能上传 %(allowed)s 文件"),
                                           name=name, kind=label(KINDS[expected].label), allowed=label(ALLOWED_TEXT))})
    return name, found


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the browser gave and its bytes."""

    filename: str
    content: bytes


def add(session: Session, store: FileStore, upload: Upload, actor: User, *, project_id: int, max_bytes: int,
        task_id: Optional[int] = None, case_id: Optional[int] = None, where: str = "") -> Attachment:
    """Check and store an upload, add its row and log it (the caller has checked that `actor` may attach here)."""
    name, kind = check(upload.filename, upload.content, max_bytes)
    digest = store.put(upload.content)
    row = Attachment(project_id=project_id, task_id=task_id, case_id=case_id, filename=name, kind=kind, size=len(upload.content),
                     sha256=digest, uploaded_by=actor.id, uploaded_at=utcnow())
    session.add(row)
    session.flush()
    audit.append(session, audit.Entry(
        kind="attachment", at=row.uploaded_at, project_id=project_id, actor_id=actor.id,
        summary=f"{actor.display_name}上传附件“{name}”{where}"[:300],
        payload={"attachment_id": row.id, "filename": name, "sha256": digest, "size": row.size, "task_id": task_id, "case_id": case_id},
    ))
    def still_there() -> None:
        if not store.has(digest):  # a removal's clean-up of the same file raced this upload: put it back
            store.put(upload.content)

    after_commit(session, still_there)
    return row


def get(session: Session, attachment_id: int) -> Attachment:
    """The attachment row, or NotFound."""
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(N_("附件 %(id)s 不存在"), id=attachment_id)
    return row


def may_remove(user: User, row: Attachment) -> bool:
    """Only the official who uploaded it, or an administrator, may remove an attachment."""
    return (user.active and row.uploaded_by == user.id) or permissions.allowed(user, "attachment.remove_any")


def remove(session: Session, store: FileStore, row: Attachment, actor: User) -> None:
    """Delete an attachment (uploader or administrator only) and log who removed what; its file goes once nothing uses it."""
    if not may_remove(actor, row):
        raise NotAllowed(N_("只有上传人或系统管理员可以删除附件"))
    now = utcnow()
    audit.append(session, audit.Entry(
        kind="attachment_removed", at=now, project_id=row.project_id, actor_id=actor.id,
        summary=f"{actor.display_name}删除附件“{row.filename}”（{row.uploader.display_name}上传）"[:300],
        payload={"attachment_id": row.id, "filename": row.filename, "sha256": row.sha256, "size": row.size,
                 "uploaded_by": row.uploaded_by, "uploaded_at": row.uploaded_at.isoformat(), "task_id": row.task_id, "case_id": row.case_id},
    ))
    digest = row.sha256
    session.delete(row)
    session.flush()

    def discard_if_unused() -> None:
        if session.scalar(select(Attachment.id).where(Attachment.sha256 == digest).limit(1)) is None:
            store.discard(digest)

    after_commit(session, discard_if_unused)


@dataclass(frozen=True)
class Listing:
    """A page's attachments (newest first, at most SHOWN) and how many there are in all."""

    rows: list[Attachment]
    total: int


def listing(session: Session, *, project_id: Optional[int] = None, task_id: Optional[int] = None, case_id: Optional[int] = None,
            limit: int = SHOWN) -> Listing:
    """The newest attachments of a project, a task or a case, with their uploaders, and the count: two indexed reads."""
    column, value = next((c, v) for c, v in ((Attachment.task_id, task_id), (Attachment.case_id, case_id), (Attachment.project_id, project_id))
                         if v is not None)
    rows = list(session.scalars(select(Attachment).where(column == value).order_by(Attachment.id.desc()).limit(limit)))
    total = len(rows) if len(rows) < limit else session.scalar(select(func.count()).select_from(Attachment).where(column == value)) or 0
    return Listing(rows, total)


def referenced(session: Session) -> set[str]:
    """The hash of every file an attachment row uses."""
    return set(session.scalars(select(Attachment.sha256).distinct()))
