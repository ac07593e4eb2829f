"""The least a served task cycle can cost on this machine: a bare WSGI app that bench/load.py's officials drive like the product.

It answers the same requests (the sign-in form and its POST, a task's form, the completion, the
inbox) with only the work no implementation can skip, under the same gunicorn (2 workers ×
4 threads): a signed session cookie and a CSRF token on every form; the password check at
sign-in; the task's row for its form; for a completion the claim of the task row, the workflow
restored from its stored state, run one step and stored again with the next ready task and one
event, in one transaction; for the inbox a count and the first 20 ready rows of the official's
unit and roles. Pages are escaped HTML. There is no framework, ORM, template engine, permission
model, form schema, audit chain or metrics. bench/load.py serves it as the server `floor` and
prints the product's figures against it.

Run by bench/load.py: `gunicorn bench.load_floor:application` from the project root, with DATABASE_URL set.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import os
import re
import secrets
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs
from uuid import UUID

import psycopg
from psycopg.types.json import Json
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.engine import make_url
from werkzeug.security import check_password_hash

from engine import wiring
from engine.platform.db import Database
from engine.platform.org import UNIT_SCOPES
from engine.workflow import definitions, state

Start = Callable[[str, list[tuple[str, str]]], Any]
SECRET = secrets.token_bytes(32)
TASK_PATH = re.compile(r"^/tasks/(\d+)$")
PAGE = '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{title}</title><body>{body}</body></html>'
local = threading.local()
specs: dict[int, definitions.LoadedDefinition] = {}
specs_lock = threading.Lock()


def connection() -> psycopg.Connection[Any]:
    """This thread's own connection to the product's database."""
    if not hasattr(local, "connection"):
        url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql")
        local.connection = psycopg.connect(url.render_as_string(hide_password=False))
    return local.connection


def loaded(definition_id: int) -> definitions.LoadedDefinition:
    """The parsed definition, loaded once per process as the product's cache does."""
    with specs_lock:
        if definition_id not in specs:
            wiring.install()
            db = Database(os.environ["DATABASE_URL"])
            with db.session() as s:
                specs[definition_id] = definitions.load(s, definition_id)
            db.dispose()
        return specs[definition_id]


def sign(value: str) -> str:
    """`value` with its HMAC, as a session cookie or a CSRF token carries it."""
    return f"{value}.{hmac.new(SECRET, value.encode(), hashlib.sha256).hexdigest()}"


def verified(signed: str) -> str | None:
    """The value of a signed string whose HMAC matches, else None."""
    value, _, mac = signed.rpartition(".")
    return value if value and hmac.compare_digest(sign(value), f"{value}.{mac}") else None


def page(start: Start, status: str, title: str, body: str, headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    """An HTML response."""
    start(status, [("Content-Type", "text/html; charset=utf-8"), *headers])
    return [PAGE.format(title=html.escape(title), body=body).encode()]


def redirect(start: Start, status: str, location: str, headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    """A redirect with no body."""
    start(status, [("Location", location), ("Content-Length", "0"), *headers])
    return []


def form_page(action: str, token: str, fields: str) -> str:
    """A form posting to `action` with its CSRF token."""
    return f'<form method="post" action="{html.escape(action)}"><input type="hidden" name="csrf_token" value="{token}">{fields}</form>'


def official(environ: dict[str, Any]) -> tuple[int, int, list[str]] | None:
    """(user id, unit id, roles) from the signed session cookie, or None."""
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "floor" and (payload := verified(value)):
            uid, unit, roles = payload.split(":")
            return int(uid), int(unit), roles.split(",")
    return None


def sign_in(environ: dict[str, Any], start: Start) -> list[bytes]:
    """GET: the sign-in form; POST: check the password and set the session cookie."""
    if environ["REQUEST_METHOD"] == "GET":
        fields = '<input name="username"><input name="password" type="password">'
        return page(start, "200 OK", "登录", form_page("/login", sign("login"), fields))
    form = posted(environ)
    if verified(form.get("csrf_token", "")) != "login":
        return page(start, "400 Bad Request", "登录", "表单已过期")
    with connection().cursor() as cur:
        row = cur.execute("SELECT id, unit_id, password_hash FROM app_user WHERE username = %s AND active", (form.get("username"),)).fetchone()
        roles = [r for (r,) in cur.execute("SELECT role FROM user_role WHERE user_id = %s", (row[0],))] if row else []
    connection().rollback()
    if row is None or not check_password_hash(row[2], form.get("password", "")):
        return page(start, "401 Unauthorized", "登录", "用户名或密码错误")
    session = sign(f"{row[0]}:{row[1]}:{','.join(roles)}")
    cookie = f"floor={session}; HttpOnly; Path=/"
    return redirect(start, "302 Found", "/", [("Set-Cookie", cookie)])


def posted(environ: dict[str, Any]) -> dict[str, str]:
    """The url-encoded form of a POST."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
    return {k: v[0] for k, v in parse_qs(body).items()}


def task_form(start: Start, user: tuple[int, int, list[str]], task_id: int) -> list[bytes]:
    """The task's form: its row and its project's name."""
    with connection().cursor() as cur:
        row = cur.execute("SELECT t.name, p.name FROM task t JOIN project p ON p.id = t.project_id WHERE t.id = %s AND t.status = 'ready'",
                          (task_id,)).fetchone()
    connection().rollback()
    if row is None:
        return page(start, "404 Not Found", "任务", "任务不存在")
    fields = '<input name="has_intent" value="true"><textarea name="opinion"></textarea><button>提交</button>'
    body = f"<h1>{html.escape(row[0])}</h1><p>{html.escape(row[1])}</p>" + form_page(f"/tasks/{task_id}", sign(str(user[0])), fields)
    return page(start, "200 OK", row[0], body)


def complete(start: Start, user: tuple[int, int, list[str]], task_id: int, form: dict[str, str]) -> list[bytes]:
    """Claim the task, restore and run the workflow, store its state, the next ready tasks and an event; one commit."""
    if verified(form.get("csrf_token", "")) != str(user[0]):
        return page(start, "400 Bad Request", "任务", "表单已过期")
    data = {"has_intent": form.get("has_intent") == "true", "opinion": form.get("opinion", "")}
    now = datetime.now(timezone.utc)
    conn = connection()
    with conn.cursor() as cur:
        claimed = cur.execute(
            "UPDATE task SET status = 'completed', completed_by = %s, completed_at = %s, data = %s WHERE id = %s AND status = 'ready'"
            " AND unit_id = %s AND role = ANY(%s) RETURNING instance_id, project_id, spiff_task_id, bpmn_id",
            (user[0], now, Json(data), task_id, user[1], user[2])).fetchone()
        if claimed is None:
            conn.rollback()
            return page(start, "409 Conflict", "任务", "任务已办理")
        instance_id, project_id, spiff_task_id, bpmn_id = claimed
        text, revision, definition_id, unit_id = cur.execute(
            "SELECT i.state, i.revision, i.definition_id, p.landing_unit_id FROM instance i JOIN project p ON p.id = i.project_id"
            " WHERE i.id = %s", (instance_id,)).fetchone()
        spec = loaded(definition_id)
        workflow = state.restore(text, spec.spec, spec.subprocess_specs)
        task = workflow.get_task_from_id(UUID(spiff_task_id))
        task.set_data(**data)
        task.run()
        workflow.do_engine_steps()
        for ready in workflow.get_tasks(state=TaskState.READY, manual=True):
            meta = spec.user_tasks[ready.task_spec.bpmn_id]
            cur.execute("INSERT INTO task (instance_id, project_id, spiff_task_id, bpmn_id, name, lane, role, scope, unit_id, stage, form,"
                        " created_at, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'ready')",
                        (instance_id, project_id, str(ready.id), meta.bpmn_id, meta.name, meta.lane, meta.role, meta.scope,
                         unit_id if meta.scope in UNIT_SCOPES else None, meta.stage, meta.form, now))
        cur.execute("UPDATE instance SET state = %s, revision = revision + 1, updated_at = %s WHERE id = %s AND revision = %s",
                    (state.dump(workflow), now, instance_id, revision))
        cur.execute("INSERT INTO event (at, kind, project_id, instance_id, actor_id, bpmn_id, summary, payload)"
                    " VALUES (%s, 'complete', %s, %s, %s, %s, %s, %s)", (now, project_id, instance_id, user[0], bpmn_id, "办理", Json(data)))
    conn.commit()
    return redirect(start, "303 See Other", "/")


def inbox(start: Start, user: tuple[int, int, list[str]]) -> list[bytes]:
    """The count and the first 20 ready tasks of the official's unit and roles, soonest due first."""
    scope = "t.status = 'ready' AND t.assignee_id IS NULL AND t.unit_id = %s AND t.role = ANY(%s)"
    with connection().cursor() as cur:
        (total,) = cur.execute(f"SELECT count(*) FROM task t WHERE {scope}", (user[1], user[2])).fetchone()
        rows = cur.execute(f"SELECT t.id, t.name, t.due_at, p.name FROM task t JOIN project p ON p.id = t.project_id WHERE {scope}"
                           " ORDER BY t.due_at NULLS LAST, t.id DESC LIMIT 20", (user[1], user[2])).fetchall()
    connection().rollback()
    items = "".join(f'<li><a href="/tasks/{tid}">{html.escape(name)}</a> {html.escape(project)} {due or ""}</li>'
                    for tid, name, due, project in rows)
    return page(start, "200 OK", "我的待办", f"<h1>我的待办（{total}）</h1><ul>{items}</ul>")


def application(environ: dict[str, Any], start: Start) -> list[bytes]:
    """Route one request."""
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if path == "/healthz":
        start("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path == "/login":
        return sign_in(environ, start)
    user = official(environ)
    if user is None:
        return redirect(start, "302 Found", "/login")
    if path == "/":
        return inbox(start, user)
    if match := TASK_PATH.match(path):
        task_id = int(match.group(1))
        return complete(start, user, task_id, posted(environ)) if method == "POST" else task_form(start, user, task_id)
    return page(start, "404 Not Found", "未找到", "页面不存在")
