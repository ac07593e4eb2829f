"""`zhikong` command: init-db, demo, deploy, serve, scheduler, register, tasks, complete, users, backup, restore."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.projects import lifecycle
from engine.workflow import definitions, recheck, runtime
from engine import wiring
from alembic.runtime.migration import MigrationContext

from engine.platform import schema
from engine.platform.attachments import FileStore
from engine.platform.config import SettingInvalid, Settings
from engine.platform.db import Database
from engine.platform.errors import EngineError, InvalidInput
from engine.platform.models import Task
from engine.platform.org import user_by_name


def _db() -> Database:
    return Database(Settings.load().database_url)


def _require_schema() -> None:
    """Refuse, in words, to work on a database that `zhikong init-db` has not created or brought up to date."""
    db = _db()
    try:
        with db.engine.connect() as connection:
            if not MigrationContext.configure(connection).get_current_heads():
                raise EngineError("数据库尚未初始化，请先运行 zhikong init-db")
            problem = schema.behind(connection)
    finally:
        db.dispose()
    if problem:
        raise EngineError(problem)


def _store() -> FileStore:
    """The attachments' file store the settings name."""
    return FileStore(Settings.load().attachments_dir)


def cmd_audit_verify(_: argparse.Namespace) -> None:
    """Check the event log's hash chain; exit 1 naming the first altered or deleted entry."""
    from engine.platform import audit

    with _db().session() as s:
        verdict = audit.verify(s)
    if not verdict.ok:
        raise EngineError(f"审计链异常：{verdict.problem}（此前 {verdict.checked} 条完好）")
    print(f"审计链完整：共 {verdict.checked} 条事件；链头哈希 {verdict.head}（留存此值，日后可证明此前的日志未被整体改写）")


def cmd_backup(args: argparse.Namespace) -> None:
    """Write a consistent copy of the database to a file while the system keeps serving."""
    from engine.platform import backup

    report = backup.backup(_db(), Path(args.path), _store())
    print(f"备份完成：{report.path}（{report.size / 1024 / 1024:.1f} MB，用时 {report.seconds:.1f} 秒）；"
          f"附件文件新复制 {report.files} 个到 {backup.files_beside(report.path)}")


def cmd_restore(args: argparse.Namespace) -> None:
    """Restore a backup into an empty database (any database with --force), upgrade it, verify the audit chain, count rows."""
    from engine.platform import backup

    report = backup.restore(_db(), Path(args.path), force=args.force, store=_store())
    for table, count in report.counts.items():
        print(f"  {table:<32} {count}")
    if not report.verdict.ok:
        raise EngineError(f"已恢复，但审计链异常：{report.verdict.problem}（此前 {report.verdict.checked} 条完好）")
    if not report.files.ok:
        raise EngineError(f"已恢复数据库，但附件文件不完整：{report.files.problem}")
    print(f"附件文件：{report.files.restored} 个已放回并逐一核对 SHA-256")
    print(f"恢复完成（用时 {report.seconds:.1f} 秒）；审计链完整：共 {report.verdict.checked} 条事件，链头哈希 {report.verdict.head}")


def cmd_orphans(_: argparse.Namespace) -> None:
    """Judge every ready task once (after an upgrade or an import) and list the orphaned ones."""
    from engine.workflow import orphans

    with _db().session() as s:
        count = orphans.recheck_all(s)
    print(f"无人可办的待办任务：{count} 个")


def cmd_init_db(_: argparse.Namespace) -> None:
    """Create or upgrade the schema in place (data is kept), then re-check every stored definition version."""
    db = _db()
    schema.upgrade(db)
    print(f"数据库已就绪：{db.url}")
    with db.session() as s:
        refused = recheck.recheck_stored(s)
    for item in refused:
        print(f"流程定义 {item.process_id} 第{item.version}版未通过当前安全检查，本次挂起其运行中的实例 {item.suspended} 个：{item.reason}")
    if not refused:
        print("已存流程定义全部通过当前安全检查")


def cmd_deploy(args: argparse.Namespace) -> None:
    """Deploy a bundle directory; unchanged content keeps the current version."""
    db = _db()
    files = definitions.read_bundle(Path(args.path))
    with db.session() as s:
        row, created = definitions.deploy(s, files, args.process, note=args.note)
        print(f"{'已部署' if created else '内容未变化，沿用'} {row.process_id} 第{row.version}版（{row.content_hash[:12]}）")


def cmd_demo(_: argparse.Namespace) -> None:
    """Load the demo county: officials, then (into a database without projects) its past replayed through the engine."""
    from engine import demo  # only these commands read the demo county, a third of the command's start-up

    loaded = demo.load(_db(), _store())
    if loaded.deployed:
        print(f"已从 bpmn/ 部署演示所需流程：{'、'.join(loaded.deployed)}")
    projects = (f"新建 {loaded.projects} 个，近期办理、预警、交办单、考核已按日期回放至今；{loaded.finalised}考核排名已定稿"
                if loaded.projects else "已存在")
    print(f"演示单位与人员：{'已创建' if loaded.org else '已存在'}；演示项目：{projects}")
    print_logins()


def print_logins() -> None:
    """Print the demo accounts so a person can sign in."""
    from engine import demo

    print(f"演示账号（密码均为 {demo.DEMO_PASSWORD}）：")
    for username, name, title, _unit, roles in demo.USERS:
        left = "（演示中已停用：其待办无人可办）" if username == demo.DEPARTED else ""
        print(f"  {username:<12} {name}（{title}） 角色：{', '.join(roles)}{left}")


def cmd_users(_: argparse.Namespace) -> None:
    """List the demo logins."""
    print_logins()


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve the web UI under gunicorn (Werkzeug's development server with --dev), with the scheduler unless --no-scheduler."""
    settings = Settings.load()
    settings = replace(settings, host=args.host or settings.host, port=args.port or settings.port)
    if args.dev:
        _serve_dev(settings, not args.no_scheduler)
        return
    from zhikong import server

    print(f"招引智控已启动：http://{settings.host}:{settings.port}（{settings.workers} 个进程 × {settings.threads} 个线程）")
    server.serve(settings, not args.no_scheduler)


def _serve_dev(settings: Settings, with_scheduler: bool) -> None:
    """Werkzeug's development server in one process, the scheduler in a thread beside it."""
    from webui import create_app

    app = create_app()
    if with_scheduler:
        from engine import scheduler

        scheduler.start_background(app.extensions["zhikong_db"])
        print("后台调度器已启动：定时器、办理时限与进展预警、月度提醒、通知发送")
    print(f"招引智控（开发服务器，勿用于生产）已启动：http://{settings.host}:{settings.port}")
    app.run(host=settings.host, port=settings.port, debug=False, use_reloader=False)


def cmd_scheduler(args: argparse.Namespace) -> None:
    """Run the background jobs in this process (or each once with --once), e.g. beside several web nodes."""
    import logging

    from engine import scheduler
    from engine.platform import heap

    db = _db()
    if args.once:
        results = scheduler.run_once(db)
        for name, result in results.items():
            print(f"{name}: {'失败：' if isinstance(result, Exception) else ''}{result}")
        if any(isinstance(result, Exception) for result in results.values()):
            raise SystemExit(1)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print("调度器已启动（Ctrl-C 停止）")
    heap.settle()
    scheduler.run_forever(db)


def cmd_register(args: argparse.Namespace) -> None:
    """Register a project lead from a JSON file as a named user."""
    data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    db = _db()
    with db.session() as s:
        actor = user_by_name(s, args.as_user)
        outcome = lifecycle.register(s, data, actor)
    print(json.dumps(_outcome_json(outcome), ensure_ascii=False, indent=2))


def cmd_tasks(args: argparse.Namespace) -> None:
    """List a project's tasks (ready and done) from the task table."""
    db = _db()
    with db.session() as s:
        rows = s.scalars(select(Task).where(Task.project_id == args.project).order_by(Task.id)).all()
        for t in rows:
            print(f"{t.id}\t{t.status}\t{t.bpmn_id}\t{t.name}\t{t.lane}\tdue={t.due_at:%Y-%m-%d}" if t.due_at else f"{t.id}\t{t.status}\t{t.bpmn_id}\t{t.name}\t{t.lane}")


def cmd_complete(args: argparse.Namespace) -> None:
    """Complete a task as a named user with JSON data."""
    data = json.loads(args.data)
    db = _db()
    with db.session() as s:
        actor = user_by_name(s, args.as_user)
        outcome = runtime.complete_task(s, args.task, actor, data)
    print(json.dumps(_outcome_json(outcome), ensure_ascii=False, indent=2))


def _outcome_json(outcome: runtime.Outcome) -> dict[str, Any]:
    return {
        "project_id": outcome.project_id,
        "instance_id": outcome.instance_id,
        "status": outcome.status,
        "ready_tasks": [{"id": t.id, "bpmn_id": t.bpmn_id, "name": t.name, "lane": t.lane} for t in outcome.ready],
        "error": outcome.error,
    }


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per action."""
    parser = argparse.ArgumentParser(prog="zhikong", description="项目招引智控系统")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init-db", help="创建或升级数据库").set_defaults(func=cmd_init_db)
    sub.add_parser("demo", help="载入演示单位、人员和项目").set_defaults(func=cmd_demo)
    sub.add_parser("users", help="列出演示账号").set_defaults(func=cmd_users)
    p = sub.add_parser("deploy", help="部署流程定义目录")
    p.add_argument("path")
    p.add_argument("--process", default=lifecycle.LIFECYCLE)
    p.add_argument("--note", default="")
    p.set_defaults(func=cmd_deploy)
    p = sub.add_parser("serve", help="启动网页服务")
    p.add_argument("--host", help="监听地址（默认取设置 ZHIKONG_HOST）")
    p.add_argument("--port", type=int, help="端口（默认取设置 ZHIKONG_PORT）")
    p.add_argument("--dev", action="store_true", help="使用 Werkzeug 开发服务器（单进程，仅供开发）")
    p.add_argument("--no-scheduler", action="store_true", help="不在本进程运行后台调度器（另行运行 zhikong scheduler）")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("scheduler", help="运行后台调度器（定时器、预警、通知）")
    p.add_argument("--once", action="store_true", help="每项任务运行一次后退出")
    p.set_defaults(func=cmd_scheduler)
    p = sub.add_parser("register", help="从 JSON 文件登记项目线索")
    p.add_argument("file")
    p.add_argument("--as", dest="as_user", required=True)
    p.set_defaults(func=cmd_register)
    p = sub.add_parser("tasks", help="列出项目的任务")
    p.add_argument("project", type=int)
    p.set_defaults(func=cmd_tasks)
    p = sub.add_parser("complete", help="以指定用户办理任务")
    p.add_argument("task", type=int)
    p.add_argument("--as", dest="as_user", required=True)
    p.add_argument("--data", default="{}")
    p.set_defaults(func=cmd_complete)
    audit_parser = sub.add_parser("audit", help="审计日志").add_subparsers(dest="audit_command", required=True)
    audit_parser.add_parser("verify", help="校验事件日志的哈希链").set_defaults(func=cmd_audit_verify)
    sub.add_parser("orphans", help="检查所有待办任务是否无人可办").set_defaults(func=cmd_orphans)
    p = sub.add_parser("backup", help="在运行中备份数据库到文件")
    p.add_argument("path")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="从备份文件恢复到空数据库，并校验审计链")
    p.add_argument("path")
    p.add_argument("--force", action="store_true", help="目标数据库已有数据时仍覆盖")
    p.set_defaults(func=cmd_restore)
    return parser


# what runs on a database at any schema version: creating it, copying it, putting a copy back, and serving (/readyz says why it is not ready)
WITHOUT_SCHEMA = (cmd_init_db, cmd_backup, cmd_restore, cmd_serve)


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command; engine errors print their message and exit non-zero."""
    args = build_parser().parse_args(argv)
    wiring.install()
    try:
        if args.func not in WITHOUT_SCHEMA:
            _require_schema()
        args.func(args)
    except InvalidInput as exc:
        for field, message in exc.errors.items():
            print(f"错误 {field}: {message}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 1
    except SettingInvalid as exc:
        print(f"设置有误：{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
