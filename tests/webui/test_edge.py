"""The web edge: security headers, cookie flags, the request-body limit, trusted proxies and sign-in throttling under real parallel requests."""
from __future__ import annotations

import http.client
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from engine.platform import audit, login_throttle
from engine.platform.db import Database
from engine.demo import DEMO_PASSWORD
from engine.platform.models import Event, User
from tests.conftest import make_app
from tests.webui.conftest import Auth, csrf_token
from webui import create_app

FIFTY_MB = 50 * 1024 * 1024


class Server:
    """The app served by werkzeug's threaded server on 127.0.0.1 (a free port), in a background thread."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def request(self, method: str, path: str, body: bytes = b"", headers: Optional[dict[str, str]] = None) -> tuple[int, dict[str, str], str]:
        """One HTTP request on its own connection: (status, headers, body text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode("utf-8")
        finally:
            connection.close()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


# ---------------------------------------------------------------- cookies and settings


def test_session_cookie_is_secure_when_configured(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = make_app(sqlite_db).test_client().get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    monkeypatch.setenv("ZHIKONG_SECURE_COOKIES", "1")
    app = make_app(sqlite_db)
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    secure = app.test_client().get("/login").headers["Set-Cookie"]
    assert "Secure" in secure and "HttpOnly" in secure and "SameSite=Lax" in secure


def test_settings_refuse_values_they_cannot_take(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.platform.config import SettingInvalid, Settings

    for name, value in (("ZHIKONG_PROXY_COUNT", "-1"), ("ZHIKONG_SECURE_COOKIES", "maybe"), ("ZHIKONG_MAX_UPLOAD_MB", "0")):
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingInvalid, match=name):
            Settings.load()
        monkeypatch.delenv(name)
    monkeypatch.setenv("ZHIKONG_MAX_UPLOAD_MB", "32")
    monkeypatch.setenv("ZHIKONG_PROXY_COUNT", "2")
    settings = Settings.load()
    assert settings.max_content_length == 32 * 1024 * 1024 and settings.proxy_count == 2


# ---------------------------------------------------------------- request-body limit


class LazyBody:
    """A seekable request body of `size` bytes made on demand, recording how many bytes were read."""

    def __init__(self, size: int) -> None:
        self.size, self.position, self.read_bytes = size, 0, 0

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: 0, 1: self.position, 2: self.size}[whence] + offset
        return self.position

    def read(self, n: int = -1) -> bytes:
        remaining = self.size - self.position
        n = remaining if n is None or n < 0 else min(n, remaining)
        self.position += n
        self.read_bytes += n
        return b"a" * n

    def readline(self, n: int = -1) -> bytes:
        return self.read(n if n and n > 0 else 65536)


def test_a_50_mb_login_post_gets_413_in_chinese_without_being_read(client: FlaskClient) -> None:
    body = LazyBody(FIFTY_MB)
    response = client.post("/login", input_stream=body, content_type="application/x-www-form-urlencoded")
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and "提交的内容过大" in page and "16 MB" in page
    assert body.read_bytes == 0


def test_the_live_server_answers_413_before_the_body_arrives(sqlite_db: Database) -> None:
    server = Server(make_app(sqlite_db))
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            head = (
                "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {FIFTY_MB}\r\n\r\n"
            )
            sock.sendall(head.encode() + b"a" * 65536)  # the rest of the 50 MB never comes
            reply = http.client.HTTPResponse(sock)
            reply.begin()  # the answer comes while 50 MB minus 64 KB are still unsent
            page = reply.read().decode("utf-8")
        assert reply.status == 413 and "提交的内容过大" in page
    finally:
        server.stop()


class CheckCounter:
    """Counts real password checks by wrapping engine.platform.login_throttle.password_matches (the check itself still runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        original = login_throttle.password_matches

        def counted(stored_hash: str, password: str) -> bool:
            with self._lock:
                self.calls += 1
            return original(stored_hash, password)

        monkeypatch.setattr(login_throttle, "password_matches", counted)


@pytest.fixture
def server(db: Database) -> Iterator[Server]:
    """A live server over the prepared database of each backend, trusting one proxy (X-Forwarded-For)."""
    running = Server(create_app({"SECRET_KEY": "edge-tests", "ZHIKONG_DB": db, "DATABASE_URL": db.url, "PROXY_COUNT": 1}))
    yield running
    running.stop()


def _form_session(server: Server) -> tuple[str, str]:
    """(session cookie, CSRF token) from one GET of the sign-in page."""
    status, headers, page = server.request("GET", "/login")
    assert status == 200
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return cookie, token.group(1)


def _login_post(server: Server, cookie: str, token: str, username: str, password: str, address: str) -> int:
    """POST the sign-in form as a client at `address` (seen through the trusted proxy); returns the status."""
    body = f"username={username}&password={password}&csrf_token={token}".encode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": address}
    return server.request("POST", "/login", body, headers)[0]


def _client_at(app: Flask, address: str) -> FlaskClient:
    """A test client whose requests come from `address` (REMOTE_ADDR)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _lock_events(db: Database) -> list[Event]:
    with db.session() as s:
        return list(s.scalars(select(Event).where(Event.kind == login_throttle.EVENT_KIND).order_by(Event.id)))


# ---------------------------------------------------------------- throttling


def test_100_parallel_wrong_passwords_reach_the_password_check_at_most_10_times(
    server: Server, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = CheckCounter(monkeypatch)
    cookie, token = _form_session(server)
    start = threading.Barrier(100)

    def guess(n: int) -> int:
        start.wait()
        return _login_post(server, cookie, token, "anwen", f"wrong{n}", "198.51.100.7")

    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = Counter(pool.map(guess, range(100)))
    assert checks.calls == 10
    assert statuses == Counter({401: 10, 429: 90})

    assert _login_post(server, cookie, token, "anwen", DEMO_PASSWORD, "198.51.100.7") == 429
    assert _login_post(server, cookie, token, "anwen", DEMO_PASSWORD, "198.51.100.8") == 302
    events = _lock_events(db)
    assert len(events) == 1 and events[0].payload["scope"] == "pair"
    assert events[0].payload["client_addr"] == "198.51.100.7" and events[0].payload["failures"] == 10
    with db.session() as s:
        anwen = s.scalars(select(User).where(User.username == "anwen")).one()
        assert events[0].payload["user_id"] == anwen.id and "anwen" in events[0].summary
        assert audit.verify(s).ok


def test_known_and_unknown_usernames_get_the_same_answers(client: FlaskClient, auth: Auth, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = CheckCounter(monkeypatch)

    def answers(username: str) -> list[tuple[int, list[str]]]:
        replies = [auth.login(username, "wrong") for _ in range(12)]
        return [(r.status_code, re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', r.get_data(as_text=True))) for r in replies]

    known, unknown = answers("anwen"), answers("nobody-at-all")
    assert known == unknown
    assert [status for status, _ in known] == [401] * 10 + [429] * 2
    assert known[0][1] == ["用户名或密码错误"] and "锁定" in known[-1][1][0]
    assert checks.calls == 20  # an unknown username costs one hash check too
    events = _lock_events(sqlite_db)
    assert [e.payload["scope"] for e in events] == ["pair", "pair"]
    assert events[1].payload["user_id"] is None and "nobody-at-all" not in events[1].summary
    assert auth.login("anwen").status_code == 429


def test_a_disabled_account_answers_like_a_wrong_password(client: FlaskClient, auth: Auth, sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        s.scalars(select(User).where(User.username == "anwen")).one().active = False
    response = auth.login("anwen")
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)


def test_a_lock_at_one_address_leaves_the_official_free_at_another(sqlite_db: Database) -> None:
    app = make_app(sqlite_db)
    stranger = Auth(_client_at(app, "203.0.113.66"))
    for _ in range(10):
        assert stranger.login("anwen", "guess").status_code == 401
    assert stranger.login("anwen").status_code == 429
    at_her_desk = Auth(_client_at(app, "10.20.1.15"))
    assert at_her_desk.login("anwen").status_code == 302


def test_a_right_password_clears_the_pair_count(client: FlaskClient, auth: Auth) -> None:
    for _ in range(9):
        assert auth.login("anwen", "typo").status_code == 401
    assert auth.login("anwen").status_code == 302
    auth.logout()
    for _ in range(9):
        assert auth.login("anwen", "typo").status_code == 401
    assert auth.login("anwen").status_code == 302


def test_one_address_spraying_many_usernames_is_locked_for_every_username(sqlite_db: Database) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ZHIKONG_DB": sqlite_db, "DATABASE_URL": sqlite_db.url, "LOGIN_MAX_ADDRESS_FAILURES": 5})
    sprayer = Auth(_client_at(app, "192.0.2.44"))
    for name in ("anwen", "fx_gongye", "yanpan", "xianzhang", "admin"):
        assert sprayer.login(name, "123456").status_code == 401
    assert sprayer.login("bangongshi").status_code == 429
    assert Auth(_client_at(app, "192.0.2.45")).login("bangongshi").status_code == 302
    events = _lock_events(sqlite_db)
    assert [e.payload["scope"] for e in events] == ["address"] and events[0].payload["client_addr"] == "192.0.2.44"


# ---------------------------------------------------------------- proxies


def test_forwarded_addresses_count_only_behind_a_configured_proxy(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    def lock_from(proxy_count: Optional[str], env_addr: str) -> str:
        if proxy_count is None:
            monkeypatch.delenv("ZHIKONG_PROXY_COUNT", raising=False)
        else:
            monkeypatch.setenv("ZHIKONG_PROXY_COUNT", proxy_count)
        client = _client_at(make_app(sqlite_db), env_addr)
        token = csrf_token(client, "/login")
        for _ in range(10):
            client.post("/login", data={"username": "yanpan", "password": "x", "csrf_token": token}, headers={"X-Forwarded-For": "203.0.113.5"})
        address: str = _lock_events(sqlite_db)[-1].payload["client_addr"]
        return address

    assert lock_from(None, "10.0.0.1") == "10.0.0.1"  # default: the client's own header is ignored
    assert lock_from("1", "10.0.0.2") == "203.0.113.5"


# ---------------------------------------------------------------- security headers


def test_every_response_carries_the_security_headers(client: FlaskClient, auth: Auth) -> None:
    auth.login("bangongshi")
    too_large = client.post("/login", input_stream=LazyBody(FIFTY_MB), content_type="application/x-www-form-urlencoded")
    pages = ("/login", "/", "/static/app.css", "/no-such-page", "/definitions/project_lifecycle/modeler")
    for path, response in [(p, client.get(p)) for p in pages] + [("413", too_large)]:
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, path
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src and script_src.group(1) == "'self'", csp  # no inline scripts, no eval
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_no_page_template_carries_inline_script(client: FlaskClient, auth: Auth) -> None:
    auth.login("bangongshi")
    for path in ("/login", "/", "/definitions", "/definitions/project_lifecycle/modeler"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))[^>]*>", page), path
        assert not re.search(r"\son[a-z]+=", page), path
