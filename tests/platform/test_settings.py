"""The one settings object: the environment over instance/zhikong.toml over defaults, and start-up errors that name the setting in Chinese."""
from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from engine.platform import clock
from engine.platform.config import MAX_DEFAULT_WORKERS, SANDBOX_NAMES, SettingInvalid, Settings, default_workers
from webui import i18n
from zhikong import cli


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "zhikong.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = Settings.load({}, tmp_path / "absent.toml")
    assert (settings.host, settings.port, settings.threads, settings.access_log) == ("127.0.0.1", 5000, 4, "-")
    assert settings.workers == default_workers() and settings.database_url.startswith("sqlite:///")
    assert default_workers(2) == 5 and default_workers(64) == MAX_DEFAULT_WORKERS


def test_the_environment_wins_over_the_file_and_the_file_over_defaults(tmp_path: Path) -> None:
    path = _file(tmp_path, 'ZHIKONG_WORKERS = 3\nZHIKONG_PORT = "8000"\nZHIKONG_SECURE_COOKIES = true\n'
                           'DATABASE_URL = "postgresql+psycopg://zhikong:pw@db/zhikong"\nZHIKONG_METRICS_TOKEN = "tok"\n')
    from_file = Settings.load({}, path)
    assert (from_file.workers, from_file.port, from_file.secure_cookies, from_file.metrics_token) == (3, 8000, True, "tok")
    both = Settings.load({"ZHIKONG_WORKERS": "7", "ZHIKONG_SECURE_COOKIES": "0"}, path)
    assert (both.workers, both.port, both.secure_cookies) == (7, 8000, False)
    shown = repr(both)
    assert "pw" not in shown and "tok" not in shown and "workers=7" in shown


def test_errors_name_the_setting_and_where_it_came_from(tmp_path: Path) -> None:
    path = _file(tmp_path, "ZHIKONG_THREADS = 0\n")
    with pytest.raises(SettingInvalid, match=r"设置文件 .*zhikong.toml 中的 ZHIKONG_THREADS 应为不小于 1 的整数，当前为“0”"):
        Settings.load({}, path)
    with pytest.raises(SettingInvalid, match=r"环境变量 ZHIKONG_PORT 应为1 到 65535 之间的整数，当前为“70000”"):
        Settings.load({"ZHIKONG_PORT": "70000"}, tmp_path / "absent.toml")
    with pytest.raises(SettingInvalid, match="ZHIKONG_WORKER 不是已知设置"):
        Settings.load({}, _file(tmp_path, "ZHIKONG_WORKER = 3\n"))
    with pytest.raises(SettingInvalid, match="无法读取"):
        Settings.load({}, _file(tmp_path, "ZHIKONG_WORKERS = \n"))
    with pytest.raises(SettingInvalid, match="环境变量 DATABASE_URL 不是有效的数据库地址") as refused:
        Settings.load({"DATABASE_URL": "postgres ql://u:secretpw@h/db"}, tmp_path / "absent.toml")
    assert "secretpw" not in str(refused.value)


def test_serve_refuses_to_start_naming_the_bad_setting(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ZHIKONG_WORKERS", "四")
    assert cli.main(["serve"]) == 2
    assert "设置有误：环境变量 ZHIKONG_WORKERS 应为不小于 1 的整数，当前为“四”" in capsys.readouterr().err


def test_the_ceilings_stuck_days_and_notification_secrets_come_from_the_same_place(tmp_path: Path) -> None:
    from engine.workflow import console
    from engine.workflow.sandbox.limits import Limits

    assert {f"ZHIKONG_{item.name.upper()}" for item in fields(Limits)} == set(SANDBOX_NAMES)
    path = _file(tmp_path, 'ZHIKONG_MAX_CARDINALITY = 50\nZHIKONG_SCRIPT_SECONDS = "0.5"\nZHIKONG_STUCK_IDLE_DAYS = 10\n'
                           'ZHIKONG_SMTP_PASSWORD = "mail-secret"\nZHIKONG_WEBHOOK_TOKEN = "hook-secret"\n')
    settings = Settings.load({"ZHIKONG_MAX_CARDINALITY": "70"}, path)
    limits = Limits.from_settings(settings)
    assert (limits.max_cardinality, limits.script_seconds, limits.max_items) == (70, 0.5, Limits.max_items)
    assert console.AdminSettings.from_settings(settings) == console.AdminSettings(overdue_days=7, idle_days=10)
    assert (settings.smtp_password, settings.webhook_token) == ("mail-secret", "hook-secret")
    assert "secret" not in repr(settings)
    with pytest.raises(SettingInvalid, match="环境变量 ZHIKONG_SCRIPT_SECONDS 应为正数，当前为“-1”"):
        Settings.load({"ZHIKONG_SCRIPT_SECONDS": "-1"}, path)
    with pytest.raises(SettingInvalid, match="ZHIKONG_MAX_ITEMS 应为整数"):
        Limits.from_settings(Settings.load({"ZHIKONG_MAX_ITEMS": "2.5"}, path))


def test_the_attachment_limit_and_folder_come_from_the_settings_and_stay_below_the_request_limit(tmp_path: Path) -> None:
    settings = Settings.load({"ZHIKONG_ATTACHMENTS_DIR": str(tmp_path / "files"), "ZHIKONG_ATTACHMENT_MAX_MB": "4"}, tmp_path / "none.toml")
    assert settings.attachments_dir == tmp_path / "files" and settings.attachment_max_bytes == 4 * 1024 * 1024
    assert Settings.load({"ZHIKONG_MAX_UPLOAD_MB": "6"}, tmp_path / "none.toml").attachment_max_bytes == 5 * 1024 * 1024
    with pytest.raises(SettingInvalid, match="ZHIKONG_ATTACHMENT_MAX_MB（16）应小于 ZHIKONG_MAX_UPLOAD_MB（16）"):
        Settings.load({"ZHIKONG_ATTACHMENT_MAX_MB": "16"}, tmp_path / "none.toml")


def test_the_county_clock_is_a_setting_and_every_shown_time_follows_it(tmp_path: Path) -> None:
    assert Settings.load({}, tmp_path / "absent.toml").timezone == "Asia/Shanghai"
    assert Settings.load({"ZHIKONG_TIMEZONE": "Asia/Urumqi"}, tmp_path / "absent.toml").timezone == "Asia/Urumqi"
    with pytest.raises(SettingInvalid, match=r"环境变量 ZHIKONG_TIMEZONE 不是已知的时区名称（如 Asia/Shanghai），当前为“Mars/Base”"):
        Settings.load({"ZHIKONG_TIMEZONE": "Mars/Base"}, tmp_path / "absent.toml")
    stored = datetime(2026, 1, 1, 20, 30)  # naive UTC, as SQLite hands it back
    try:
        clock.use_zone("Asia/Urumqi")  # UTC+6
        assert i18n.local_datetime(stored) == "2026-01-02 02:30" and clock.local_date(stored) == date(2026, 1, 2)
        assert clock.day_starts(date(2026, 1, 2)) == datetime(2026, 1, 1, 18, 0, tzinfo=timezone.utc)
    finally:
        clock.use_zone(Settings.timezone)
    assert i18n.local_datetime(stored) == "2026-01-02 04:30" and clock.local_today(stored.replace(tzinfo=timezone.utc)) == date(2026, 1, 2)
