"""The web edge: cookie flags, settings and the request-body limit."""
from __future__ import annotations

import http.client
import socket
import threading
from typing import Optional

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from engine.db import Database
from tests.conftest import make_app

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
    from engine.config import SettingInvalid, Settings

    for name, value in (("ZHIKONG_PROXY_COUNT", "-1"), ("ZHIKONG_SECURE_COOKIES", "maybe"), ("ZHIKONG_MAX_UPLOAD_MB", "0")):
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingInvalid, match=name):
            Settings.from_env()
        monkeypatch.delenv(name)
    monkeypatch.setenv("ZHIKONG_MAX_UPLOAD_MB", "32")
    monkeypatch.setenv("ZHIKONG_PROXY_COUNT", "2")
    settings = Settings.from_env()
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
    response = client.post("/login", input_stream=body, content_type="application/x-www-form-urlencoded")  # type: ignore[arg-type]
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
