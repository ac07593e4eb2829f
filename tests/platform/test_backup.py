"""Backup while completions are being written, restore into a fresh database: the chain verifies and every acknowledged completion is there."""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, select, text

from engine.platform import backup, schema
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.errors import EngineError
from engine.platform.attachments import Attachment, FileStore, Upload
from engine.platform.models import Task
from engine.projects import files
from tests import documents
from tests.commands import Ran, zhikong
from tests.conftest import FEASIBLE, INTENT, PG_URL, Helper, forget_process_caches, reset_postgres, server

OLD_DUMP = PROJECT_ROOT / "tests" / "fixtures" / "zhikong_0001.sql"


def _target_url(backend: str, tmp_path: Path, name: str) -> str:
    """Where a restore goes: a new SQLite file, or an empty PostgreSQL database of this worker's."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    assert PG_URL is not None
    url = make_url(PG_URL)
    return url.set(database=f"{url.database}_{name}").render_as_string(hide_password=False)


@pytest.fixture
def target(db: Database, tmp_path: Path) -> Iterator[Database]:
    """An empty database on the same backend as `db`, dropped afterwards."""
    backend = "sqlite" if db.is_sqlite else "postgresql"
    url = _target_url(backend, tmp_path, "restored")
    if backend == "postgresql":
        reset_postgres(url)
    database = Database(url)
    yield database
    database.dispose()
    if backend == "postgresql":
        with server(url) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


class Writer(threading.Thread):
    """Registers projects and completes their first two steps in a loop, noting each completion once its commit returned."""

    def __init__(self, h: Helper) -> None:
        super().__init__(daemon=True)
        self.h = h
        self.stop = threading.Event()
        self.acknowledged: list[tuple[int, float]] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                project_id = self.h.register(name=f"备份期间登记的项目{len(self.acknowledged)}")
                for username, data in (("anwen", INTENT), ("fx_gongye", FEASIBLE)):
                    task_id = self.h.only_ready(project_id).id
                    self.h.complete(project_id, username, data)
                    self.acknowledged.append((task_id, time.monotonic()))
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which fails on it
            self.failure = exc

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.acknowledged) < count and self.failure is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.failure is None and len(self.acknowledged) >= count


def test_a_backup_taken_during_completions_restores_every_completion_acknowledged_before_it(
    h: Helper, target: Database, tmp_path: Path
) -> None:
    writer = Writer(h)
    writer.start()
    try:
        writer.wait_for(6)
        began = time.monotonic()
        report = backup.backup(h.db, tmp_path / "zhikong.backup")
        ended = time.monotonic()
        writer.wait_for(len(writer.acknowledged) + 4)  # the writers were never stopped
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.failure is None
    before = [task_id for task_id, at in writer.acknowledged if at < began]
    assert len(before) >= 6 and any(at > ended for _task, at in writer.acknowledged)
    assert report.size > 0
    forget_process_caches()
    restored = backup.restore(target, report.path)
    assert restored.verdict.ok, restored.verdict.problem
    assert restored.counts["event"] == restored.verdict.checked > 0
    with target.session() as s:
        done = set(s.scalars(select(Task.id).where(Task.status == "completed", Task.id.in_(before))))
    assert done == set(before)
    with pytest.raises(EngineError, match="不是空的.*--force"):
        backup.restore(target, report.path)
    with target.engine.begin() as conn:
        conn.execute(text("CREATE TABLE left_by_a_newer_version (id INTEGER PRIMARY KEY)"))
    assert backup.restore(target, report.path, force=True).counts == restored.counts


def versions(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.scalars(text("SELECT version_num FROM alembic_version")))


def test_a_backup_from_an_older_version_is_upgraded_on_restore(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:
        conn.executescript(OLD_DUMP.read_text(encoding="utf-8"))
    conn.close()
    report = backup.backup(Database(f"sqlite:///{old}"), tmp_path / "old.backup")
    target = Database(f"sqlite:///{tmp_path / 'new.db'}")
    restored = backup.restore(target, report.path)
    assert restored.verdict.ok and restored.counts["project"] > 0
    current = Database(f"sqlite:///{tmp_path / 'current.db'}")
    schema.upgrade(current)
    assert versions(target) == versions(current)
    target.dispose()
    current.dispose()


def test_a_backup_from_a_newer_version_is_refused_before_anything_is_restored(db: Database, target: Database, tmp_path: Path) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999')"))
    report = backup.backup(db, tmp_path / "newer.backup")
    with pytest.raises(EngineError, match="更新的程序版本.*9999"):
        backup.restore(target, report.path)
    assert backup.occupied(target) == []


def test_a_restore_refuses_a_file_that_is_not_a_backup_of_its_kind(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("不是备份", encoding="utf-8")
    with pytest.raises(EngineError, match="不是SQLite 数据库文件"):
        backup.restore(Database(f"sqlite:///{tmp_path / 'x.db'}"), bogus)
    with pytest.raises(EngineError, match="不存在"):
        backup.restore(Database(f"sqlite:///{tmp_path / 'x.db'}"), tmp_path / "missing.backup")


@pytest.mark.skipif(not PG_URL, reason="needs ZHIKONG_TEST_PG")
def test_a_postgresql_backup_without_pg_dump_names_the_program_and_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert PG_URL is not None
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineError, match="pg_dump.*postgresql-client"):
        backup.backup(Database(PG_URL), tmp_path / "x.dump")


def test_the_commands_back_up_and_restore_with_counts_and_the_chain_head(sqlite_db: Database, tmp_path: Path) -> None:
    copy = f"sqlite:///{tmp_path / 'b.db'}"
    made = zhikong({"DATABASE_URL": sqlite_db.url}, "backup", str(tmp_path / "a.backup"))
    assert made.returncode == 0 and "备份完成" in made.stdout, made.stderr
    restored = zhikong({"DATABASE_URL": copy}, "restore", str(tmp_path / "a.backup"))
    assert restored.returncode == 0 and "审计链完整" in restored.stdout and "definition" in restored.stdout, restored.stderr


def attach_files(h: Helper, store: FileStore) -> list[Attachment]:
    """Three attachments of one project (two sharing a file), as the web stores them."""
    project_id = h.register()
    with h.db.session() as s:
        actor = s.merge(h.user("anwen"))
        for name, content in (("审批材料.pdf", documents.pdf()), ("审批材料（副本）.pdf", documents.pdf()), ("现场照片.png", documents.png())):
            files.attach(s, store, Upload(name, content), actor, project_id=project_id, max_bytes=1024 * 1024)
    with h.db.session() as s:
        return list(s.scalars(select(Attachment).order_by(Attachment.id)))


def test_a_backup_carries_the_attachments_files_and_a_restore_puts_them_back_checking_each_hash(
    h: Helper, target: Database, tmp_path: Path
) -> None:
    store = FileStore(tmp_path / "attachments")
    attached = attach_files(h, store)
    report = backup.backup(h.db, tmp_path / "zhikong.backup", store)
    beside = backup.files_beside(report.path)
    assert report.files == 2 and sorted(FileStore(beside).digests()) == sorted(store.digests())
    assert backup.backup(h.db, tmp_path / "zhikong.backup", store).files == 0  # the folder already holds them

    forget_process_caches()
    restored_store = FileStore(tmp_path / "restored-attachments")
    restored = backup.restore(target, report.path, store=restored_store)
    assert restored.verdict.ok and restored.files.ok and restored.files.restored == 2
    assert restored.counts["attachment"] == 3
    for row in attached:
        assert restored_store.path(row.sha256).read_bytes() == store.path(row.sha256).read_bytes()

    photo = FileStore(beside).path(attached[2].sha256)
    photo.write_bytes(photo.read_bytes() + b"altered")
    FileStore(beside).discard(attached[0].sha256)
    again = FileStore(tmp_path / "again")
    forget_process_caches()
    checked = backup.restore(target, report.path, force=True, store=again)
    assert checked.files.missing == (attached[0].sha256,) and checked.files.altered == (attached[2].sha256,)
    assert not checked.files.ok and "1 个附件文件在备份中缺失" in checked.files.problem and "与其 SHA-256 不符" in checked.files.problem
    assert list(again.digests()) == []  # an altered file is never put in place


def test_the_restore_command_fails_naming_an_altered_attachment_file(sqlite_db: Database, tmp_path: Path) -> None:
    store = FileStore(tmp_path / "attachments")
    (row, _copy, _photo) = attach_files(Helper(sqlite_db), store)

    def run(url: str, folder: Path, *args: str) -> Ran:
        return zhikong({"DATABASE_URL": url, "ZHIKONG_ATTACHMENTS_DIR": str(folder)}, *args)

    made = run(sqlite_db.url, store.root, "backup", str(tmp_path / "a.backup"))
    assert made.returncode == 0 and "附件文件新复制 2 个" in made.stdout, made.stderr
    restored = run(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b-files", "restore", str(tmp_path / "a.backup"))
    assert restored.returncode == 0 and "附件文件：2 个已放回并逐一核对 SHA-256" in restored.stdout, restored.stderr
    FileStore(tmp_path / "a.backup.files").path(row.sha256).write_bytes(b"%PDF-tampered")
    broken = run(f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "c-files", "restore", str(tmp_path / "a.backup"))
    assert broken.returncode == 1 and "附件文件与其 SHA-256 不符" in broken.stderr and row.sha256 in broken.stderr, broken.stderr
