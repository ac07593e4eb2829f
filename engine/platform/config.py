"""Settings read in one place: the environment over an optional instance/zhikong.toml over defaults that make `make run` work."""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = PROJECT_ROOT / "instance" / "zhikong.toml"
MB = 1024 * 1024
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})
MAX_DEFAULT_WORKERS = 8

# The sandbox's and the engine's ceilings (engine/workflow/sandbox/limits.py reads them from Settings.sandbox).
SANDBOX_NAMES = tuple(f"ZHIKONG_{name}" for name in (
    "EXPRESSION_SECONDS", "SCRIPT_SECONDS", "MAX_STRING", "MAX_ITEMS", "MAX_INT_DIGITS", "MAX_NODES", "MAX_DEPTH",
    "MAX_ITERATIONS", "MAX_ALLOCATED_BYTES", "MAX_SOURCE", "MAX_AST_DEPTH", "MAX_ENGINE_STEPS", "MAX_PATH_DEPTH",
    "ADVANCE_SECONDS", "MAX_NEW_TASKS", "MAX_CARDINALITY", "MAX_LOOP_ITERATIONS", "MAX_TASK_DATA_BYTES", "MAX_STATE_BYTES",
))
# Every name the settings file may hold; a name outside this list is a typo and is refused.
NAMES = SANDBOX_NAMES + (
    "DATABASE_URL", "ZHIKONG_BPMN_DIR", "ZHIKONG_HOST", "ZHIKONG_PORT", "ZHIKONG_WORKERS", "ZHIKONG_THREADS",
    "ZHIKONG_TIMEOUT", "ZHIKONG_ACCESS_LOG", "ZHIKONG_PROXY_COUNT", "ZHIKONG_SECURE_COOKIES", "ZHIKONG_MAX_UPLOAD_MB",
    "ZHIKONG_SECRET_KEY", "ZHIKONG_METRICS_TOKEN", "ZHIKONG_HEARTBEAT_MAX_AGE", "ZHIKONG_OUTBOX_LEASE_SECONDS",
    "ZHIKONG_STUCK_OVERDUE_DAYS", "ZHIKONG_STUCK_IDLE_DAYS", "ZHIKONG_SMTP_PASSWORD", "ZHIKONG_WEBHOOK_TOKEN",
    "ZHIKONG_ATTACHMENTS_DIR", "ZHIKONG_ATTACHMENT_MAX_MB", "ZHIKONG_TIMEZONE",
)


class SettingInvalid(ValueError):
    """A setting holds a value it cannot take, or the settings file cannot be read; the message names it in Chinese."""


def default_workers(cores: Optional[int] = None) -> int:
    """2 × cores + 1 worker processes (gunicorn's rule of thumb), at most MAX_DEFAULT_WORKERS."""
    return min(2 * (cores or os.cpu_count() or 1) + 1, MAX_DEFAULT_WORKERS)


def read_file(path: Path) -> dict[str, str]:
    """The settings file's NAME = value lines as text, checked for unknown names; {} when there is no file."""
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingInvalid(f"设置文件 {path} 无法读取：{exc}") from exc
    values: dict[str, str] = {}
    for name, value in table.items():
        if name not in NAMES:
            raise SettingInvalid(f"设置文件 {path} 中的 {name} 不是已知设置（可用的设置见 README 的设置表）")
        if isinstance(value, bool):
            values[name] = "1" if value else "0"
        elif isinstance(value, (int, str)):
            values[name] = str(value)
        else:
            raise SettingInvalid(f"设置文件 {path} 中的 {name} 应为文字、整数或 true/false")
    return values


class Source:
    """Where each setting comes from: the environment first, then the settings file; names the place in errors."""

    def __init__(self, environ: Mapping[str, str], file_values: Mapping[str, str], path: Path) -> None:
        self.environ, self.file_values, self.path = environ, file_values, path

    def get(self, name: str) -> Optional[str]:
        """The raw text of `name`, or None when neither the environment nor the file sets it."""
        return self.environ.get(name, self.file_values.get(name))

    def where(self, name: str) -> str:
        """“环境变量 NAME” or “设置文件 PATH 中的 NAME”, for messages."""
        return f"环境变量 {name}" if name in self.environ else f"设置文件 {self.path} 中的 {name}"

    def text(self, name: str, default: str) -> str:
        """A text setting with surrounding blanks removed, else `default` when unset."""
        raw = self.get(name)
        return default if raw is None else raw.strip()

    def integer(self, name: str, default: int, minimum: int = 0, maximum: Optional[int] = None) -> int:
        """A whole number (ASCII digits) between `minimum` and `maximum`, else `default` when unset or empty."""
        raw = (self.get(name) or "").strip()
        if not raw:
            return default
        within = raw.isascii() and raw.isdigit() and minimum <= int(raw) and (maximum is None or int(raw) <= maximum)
        if not within:
            bounds = f"{minimum} 到 {maximum} 之间" if maximum is not None else f"不小于 {minimum} "
            raise SettingInvalid(f"{self.where(name)} 应为{bounds}的整数，当前为“{raw}”")
        return int(raw)

    def number(self, name: str) -> Optional[float]:
        """A positive number (ASCII digits, one decimal point allowed), or None when unset or empty."""
        raw = (self.get(name) or "").strip()
        if not raw:
            return None
        whole, _, fraction = raw.partition(".")
        digits = whole + fraction
        if not (digits.isascii() and digits.isdigit() and float(raw) > 0):
            raise SettingInvalid(f"{self.where(name)} 应为正数，当前为“{raw}”")
        return float(raw)

    def zone(self, name: str, default: str) -> str:
        """An IANA time-zone name known to this machine (Asia/Shanghai), else `default` when unset or empty."""
        raw = (self.get(name) or "").strip()
        if not raw:
            return default
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingInvalid(f"{self.where(name)} 不是已知的时区名称（如 Asia/Shanghai），当前为“{raw}”") from None
        return raw

    def switch(self, name: str, default: bool) -> bool:
        """A yes/no switch (1/0, true/false, yes/no, on/off), else `default` when unset."""
        raw = self.get(name)
        if raw is None:
            return default
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise SettingInvalid(f"{self.where(name)} 应为 1 或 0（true/false），当前为“{raw}”")


@dataclass(frozen=True)
class Settings:
    """Runtime settings; one DATABASE_URL selects SQLite or PostgreSQL. Secrets stay out of repr, hence out of logs.

    host, port, workers, threads, timeout (seconds a worker may spend on one request) and access_log
    ("-" for standard output) drive `zhikong serve`; proxy_count: reverse proxies in front of the app
    whose X-Forwarded-For/-Proto are trusted (0 = none); secure_cookies: send the session cookie over
    HTTPS only; max_content_length: the largest request body accepted, in bytes; secret_key: the
    session-signing key ("" = the one kept under instance/); metrics_token: the bearer token /metrics
    requires ("" = none); heartbeat_max_age: seconds after which a silent scheduler makes /readyz fail;
    outbox_lease_seconds: how long an outbox claim holds without its sender renewing it;
    stuck_overdue_days, stuck_idle_days: when the admin console calls an instance stuck;
    smtp_password, webhook_token: the notification channels' secrets; sandbox: the ceilings set, by
    name (ZHIKONG_MAX_CARDINALITY …), the others keeping their defaults; attachments_dir: where
    attachments are kept, one file per content hash, outside the database; attachment_max_bytes: the
    largest attachment accepted (below max_content_length, so the app's own message names it);
    timezone: the county's clock, in which every page, notice and deadline shows and counts time.
    """

    database_url: str = field(repr=False)
    bpmn_dir: Path
    timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = field(default_factory=default_workers)
    threads: int = 4
    timeout: int = 120
    access_log: str = "-"
    proxy_count: int = 0
    secure_cookies: bool = False
    max_content_length: int = 16 * MB
    outbox_lease_seconds: int = 30
    stuck_overdue_days: int = 7
    stuck_idle_days: int = 30
    smtp_password: str = field(default="", repr=False)
    webhook_token: str = field(default="", repr=False)
    sandbox: Mapping[str, float] = field(default_factory=dict)
    secret_key: str = field(default="", repr=False)
    metrics_token: str = field(default="", repr=False)
    heartbeat_max_age: int = 180
    attachments_dir: Path = PROJECT_ROOT / "instance" / "attachments"
    attachment_max_bytes: int = 10 * MB

    @classmethod
    def load(cls, environ: Optional[Mapping[str, str]] = None, path: Path = SETTINGS_FILE) -> "Settings":
        """Build settings from the environment (default os.environ), then the settings file at `path`, then the defaults."""
        source = Source(os.environ if environ is None else environ, read_file(path), path)
        default_db = f"sqlite:///{PROJECT_ROOT / 'instance' / 'zhikong.db'}"
        database_url = source.text("DATABASE_URL", default_db)
        try:
            make_url(database_url)
        except ArgumentError as exc:  # the value is not repeated: it may hold a password
            raise SettingInvalid(f"{source.where('DATABASE_URL')} 不是有效的数据库地址（例如 postgresql+psycopg://用户@主机/库名）") from exc
        max_upload_mb = source.integer("ZHIKONG_MAX_UPLOAD_MB", cls.max_content_length // MB, minimum=1)
        default_attachment_mb = max(1, min(cls.attachment_max_bytes // MB, max_upload_mb - 1))
        attachment_mb = source.integer("ZHIKONG_ATTACHMENT_MAX_MB", default_attachment_mb, minimum=1)
        if attachment_mb >= max_upload_mb and source.get("ZHIKONG_ATTACHMENT_MAX_MB") is not None:
            raise SettingInvalid(f"{source.where('ZHIKONG_ATTACHMENT_MAX_MB')}（{attachment_mb}）应小于 ZHIKONG_MAX_UPLOAD_MB（{max_upload_mb}）："
                                 "上传附件的请求还带有表单内容，请求上限须比附件上限大")
        return cls(
            database_url=database_url,
            bpmn_dir=Path(source.text("ZHIKONG_BPMN_DIR", str(PROJECT_ROOT / "bpmn"))),
            timezone=source.zone("ZHIKONG_TIMEZONE", cls.timezone),
            host=source.text("ZHIKONG_HOST", cls.host),
            port=source.integer("ZHIKONG_PORT", cls.port, minimum=1, maximum=65535),
            workers=source.integer("ZHIKONG_WORKERS", default_workers(), minimum=1),
            threads=source.integer("ZHIKONG_THREADS", cls.threads, minimum=1),
            timeout=source.integer("ZHIKONG_TIMEOUT", cls.timeout, minimum=1),
            access_log=source.text("ZHIKONG_ACCESS_LOG", cls.access_log),
            proxy_count=source.integer("ZHIKONG_PROXY_COUNT", cls.proxy_count),
            secure_cookies=source.switch("ZHIKONG_SECURE_COOKIES", cls.secure_cookies),
            max_content_length=max_upload_mb * MB,
            secret_key=source.text("ZHIKONG_SECRET_KEY", ""),
            metrics_token=source.text("ZHIKONG_METRICS_TOKEN", ""),
            heartbeat_max_age=source.integer("ZHIKONG_HEARTBEAT_MAX_AGE", cls.heartbeat_max_age, minimum=1),
            outbox_lease_seconds=source.integer("ZHIKONG_OUTBOX_LEASE_SECONDS", cls.outbox_lease_seconds, minimum=1),
            stuck_overdue_days=source.integer("ZHIKONG_STUCK_OVERDUE_DAYS", cls.stuck_overdue_days),
            stuck_idle_days=source.integer("ZHIKONG_STUCK_IDLE_DAYS", cls.stuck_idle_days),
            smtp_password=source.text("ZHIKONG_SMTP_PASSWORD", ""),
            webhook_token=source.text("ZHIKONG_WEBHOOK_TOKEN", ""),
            attachments_dir=Path(source.text("ZHIKONG_ATTACHMENTS_DIR", str(cls.attachments_dir))),
            attachment_max_bytes=attachment_mb * MB,
            sandbox={name: value for name in SANDBOX_NAMES if (value := source.number(name)) is not None},
        )
