"""Backup and restore of the whole database: a consistent copy taken while the system serves, restored only into an empty one.

SQLite is copied through its online backup API (`sqlite3.Connection.backup`): the copy is one
read transaction, so writers carry on (WAL) and the file holds exactly the commits made before
it began. PostgreSQL is copied by `pg_dump --format=custom`, which reads one snapshot, and put
back by `pg_restore`. A backup is written beside its destination and renamed into place only
once complete. Attachments' files, kept outside the database, are copied into a folder beside
it (`PATH.files`, laid out as the store is): once before the database copy and once after, so
every file a row of the copy names is there, whatever was uploaded meanwhile.

A restore refuses a database holding data (any table with rows, or a schema version) unless
forced, and a backup taken by a newer version always. Forced, it replaces everything: SQLite's
file is overwritten page by page; on PostgreSQL the tables the backup lacks are dropped and
`pg_restore --clean --if-exists` replaces the rest in one transaction. It then brings the
schema up to this version's head (a backup from an older version is upgraded), walks the
audit chain and counts every table's rows. Last, it puts back the file of every attachment the
restored database names, from the folder beside the backup, checking each file's SHA-256 against
its name: a file missing or altered is reported by name and the restore counts as failed.
"""
from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import subprocess
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import make_url

from engine.platform import attachments, audit, schema
from engine.platform.attachments import FileStore
from engine.platform.db import Database
from engine.platform.errors import EngineError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class BackupReport:
    """Where a backup went, how large it is, how many attachment files went beside it and how long it took."""

    path: Path
    size: int
    seconds: float
    files: int = 0


@dataclass(frozen=True)
class FilesVerdict:
    """What a restore found of the attachments' files: how many were put back, which were missing or altered."""

    restored: int = 0
    missing: tuple[str, ...] = ()
    altered: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every file the database names came back with its hash."""
        return not (self.missing or self.altered)

    @property
    def problem(self) -> str:
        """The missing and altered files, named, for a message ("" when none)."""
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} 个附件文件在备份中缺失（{'、'.join(self.missing[:5])}{' 等' if len(self.missing) > 5 else ''}）")
        if self.altered:
            parts.append(f"{len(self.altered)} 个附件文件与其 SHA-256 不符（{'、'.join(self.altered[:5])}{' 等' if len(self.altered) > 5 else ''}）")
        return "；".join(parts)


@dataclass(frozen=True)
class RestoreReport:
    """What a restore found: the audit chain's verdict, the rows per table and the attachments' files."""

    verdict: audit.Verdict
    counts: dict[str, int]
    seconds: float
    files: FilesVerdict = FilesVerdict()


def files_beside(path: Path) -> Path:
    """The folder beside a backup file that holds the attachments' files."""
    return path.with_name(f"{path.name}.files")


def copy_files(store: FileStore, folder: Path) -> int:
    """Copy into `folder` every stored file it lacks (same layout, each written whole); returns how many were copied."""
    copied, mirror = 0, FileStore(folder)
    for digest in store.digests():
        target = mirror.path(digest)
        if target.is_file():
            continue
        partial = _partial_of(target)
        try:
            shutil.copyfile(store.path(digest), partial)
        except FileNotFoundError:  # removed (its last attachment deleted) since the folder was listed
            continue
        os.replace(partial, target)
        copied += 1
    return copied


def _partial_of(target: Path) -> Path:
    """Where a copy is written before it is renamed into `target` (its folder made)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.partial")


def restore_files(db: Database, folder: Path, store: FileStore) -> FilesVerdict:
    """Put back every file the restored database's attachments name, each only once its SHA-256 matches."""
    with db.session() as session:
        wanted = sorted(attachments.referenced(session))
    mirror, missing, altered, restored = FileStore(folder), [], [], 0
    for digest in wanted:
        source = mirror.path(digest)
        if not source.is_file():
            missing.append(digest)
            continue
        target = store.path(digest)
        partial = _partial_of(target)
        shutil.copyfile(source, partial)
        if attachments.file_digest(partial) != digest:
            partial.unlink()
            altered.append(digest)
            continue
        os.replace(partial, target)
        restored += 1
    return FilesVerdict(restored, tuple(missing), tuple(altered))


def _tool(name: str) -> str:
    """The path of a PostgreSQL client program, or a refusal naming it and its package."""
    found = shutil.which(name)
    if found is None:
        raise EngineError(
            f"未找到 PostgreSQL 客户端程序 {name}：请安装与数据库服务器同版本的 PostgreSQL 客户端"
            f"（Debian/Ubuntu 软件包 postgresql-client），并确保 {name} 在 PATH 中"
        )
    return found


def _libpq(db: Database) -> tuple[str, dict[str, str]]:
    """The database's libpq connection string without its password, and an environment carrying the password."""
    url = make_url(db.url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    """Run a PostgreSQL client program; a failure is refused with its own message."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - fixed program, no shell
    if done.returncode != 0:
        raise EngineError(f"{what}失败（{Path(command[0]).name} 退出码 {done.returncode}）：{done.stderr.strip()[-2000:]}")


def _sqlite_file(db: Database) -> sqlite3.Connection:
    """A plain connection to the SQLite database file (the backup API works between two such connections)."""
    database = make_url(db.url).database
    if not database or database == ":memory:":
        raise EngineError("内存中的 SQLite 数据库无法备份或恢复：DATABASE_URL 应指向一个数据库文件")
    return sqlite3.connect(database, timeout=30)


def backup(db: Database, path: Path, store: FileStore | None = None) -> BackupReport:
    """Write a consistent copy of the database to `path` while it keeps serving, and the attachments' files beside it."""
    started = time.monotonic()
    path = path.resolve()
    if path.is_dir():
        raise EngineError(f"备份文件路径 {path} 是一个目录：请给出文件名")
    path.parent.mkdir(parents=True, exist_ok=True)
    files = copy_files(store, files_beside(path)) if store is not None else 0
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if db.is_sqlite:
            with closing(_sqlite_file(db)) as source, closing(sqlite3.connect(partial)) as target:
                source.backup(target)
        else:
            dsn, env = _libpq(db)
            _run([_tool("pg_dump"), "--format=custom", f"--file={partial}", f"--dbname={dsn}"], env, "数据库备份")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    if store is not None:
        files += copy_files(store, files_beside(path))  # what was uploaded while the database was copied
    return BackupReport(path, path.stat().st_size, time.monotonic() - started, files)


def occupied(db: Database) -> list[str]:
    """The tables that hold something (a schema version counts): empty means the database may be restored into."""
    names = inspect(db.engine).get_table_names()
    with db.engine.connect() as connection:
        return [name for name in sorted(names)
                if name == "alembic_version" or connection.scalar(select(func.count()).select_from(table(name))) or 0]


def counts(db: Database) -> dict[str, int]:
    """Rows in every table, by name."""
    names = inspect(db.engine).get_table_names()
    with db.engine.connect() as connection:
        return {name: connection.scalar(select(func.count()).select_from(table(name))) or 0 for name in sorted(names)}


def _check_archive(db: Database, path: Path) -> None:
    """Refuse a file that is not a backup this database's kind can take, before anything is touched."""
    if not path.is_file():
        raise EngineError(f"备份文件 {path} 不存在")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    expected, kind = (SQLITE_MAGIC, "SQLite 数据库文件") if db.is_sqlite else (PG_DUMP_MAGIC, "pg_dump 自定义格式备份")
    if not head.startswith(expected):
        raise EngineError(f"备份文件 {path} 不是{kind}：SQLite 的备份只能恢复到 SQLite，PostgreSQL 的备份只能恢复到 PostgreSQL")


def _backup_versions(db: Database, path: Path) -> set[str]:
    """The schema versions a backup was taken at, read from the file without restoring it."""
    if db.is_sqlite:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as source:
            if source.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone() is None:
                return set()
            return {row[0] for row in source.execute("SELECT version_num FROM alembic_version")}
    _dsn, env = _libpq(db)
    command = [_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)]
    listed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - fixed program, no shell
    if listed.returncode != 0:
        raise EngineError(f"读取备份文件失败（pg_restore 退出码 {listed.returncode}）：{listed.stderr.strip()[-2000:]}")
    lines = listed.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("COPY ") and "alembic_version" in line), None)
    if start is None:
        return set()
    return set(itertools.takewhile(lambda line: line != "\\.", lines[start + 1:]))


def _archive_tables(path: Path, env: dict[str, str]) -> set[str]:
    """The tables a pg_dump archive holds, from its table of contents (`pg_restore --list`)."""
    listed = subprocess.run([_tool("pg_restore"), "--list", str(path)], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if listed.returncode != 0:
        raise EngineError(f"读取备份文件失败（pg_restore 退出码 {listed.returncode}）：{listed.stderr.strip()[-2000:]}")
    entries = (line.split() for line in listed.stdout.splitlines() if not line.startswith(";"))
    return {parts[5] for parts in entries if len(parts) > 5 and parts[3] == "TABLE" and parts[4] != "DATA"}


def _drop_tables_missing_from(db: Database, path: Path, env: dict[str, str]) -> None:
    """Drop the target's tables the archive lacks (a newer version's), which `pg_restore --clean` would leave behind."""
    stray = set(inspect(db.engine).get_table_names()) - _archive_tables(path, env)
    with db.engine.begin() as connection:
        for name in sorted(stray):
            connection.execute(text(f"DROP TABLE IF EXISTS {db.engine.dialect.identifier_preparer.quote(name)} CASCADE"))


def restore(db: Database, path: Path, force: bool = False, store: FileStore | None = None) -> RestoreReport:
    """Put a backup into this database (refusing one that holds data unless `force`), upgrade it to head, verify it;
    with a store, put the attachments' files back into it and check each one's hash."""
    started = time.monotonic()
    path = path.resolve()
    _check_archive(db, path)
    newer = _backup_versions(db, path) - schema.known_revisions()
    if newer:
        raise EngineError(f"备份来自更新的程序版本（数据库结构版本 {'、'.join(sorted(newer))} 本程序不认识）：请先把本程序升级到不低于备份时的版本再恢复")
    taken = occupied(db)
    if taken and not force:
        shown = "、".join(taken[:5]) + (" 等" if len(taken) > 5 else "")
        raise EngineError(f"目标数据库不是空的（{len(taken)} 张表已有数据：{shown}）：恢复只写入空数据库；确需覆盖现有数据时加 --force")
    if db.is_sqlite:
        db.dispose()
        with closing(sqlite3.connect(path)) as source, closing(_sqlite_file(db)) as target:
            if source.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise EngineError(f"备份文件 {path} 已损坏（SQLite 完整性检查未通过）")
            source.backup(target)
    else:
        dsn, env = _libpq(db)
        restore_tool = _tool("pg_restore")
        if force:
            _drop_tables_missing_from(db, path, env)
        db.dispose()
        command = [restore_tool, "--no-owner", "--exit-on-error", "--single-transaction", f"--dbname={dsn}"]
        _run(command + (["--clean", "--if-exists"] if force else []) + [str(path)], env, "数据库恢复")
    schema.upgrade(db)
    with db.session() as session:
        verdict = audit.verify(session)
    files = restore_files(db, files_beside(path), store) if store is not None else FilesVerdict()
    return RestoreReport(verdict, counts(db), time.monotonic() - started, files)
