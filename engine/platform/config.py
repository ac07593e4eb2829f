"""Settings read from the environment, with defaults that make `make run` work."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


class SettingInvalid(ValueError):
    """An environment variable holds a value its setting cannot take."""


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    """A whole number from the environment (ASCII digits), at least `minimum`, else `default` when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        raise SettingInvalid(f"环境变量 {name} 应为不小于 {minimum} 的整数，当前为“{raw}”")
    return int(raw)


def _env_bool(name: str, default: bool) -> bool:
    """A yes/no switch from the environment (1/0, true/false, yes/no, on/off), else `default` when unset."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingInvalid(f"环境变量 {name} 应为 1 或 0（true/false），当前为“{raw}”")


@dataclass(frozen=True)
class Settings:
    """Runtime settings; one DATABASE_URL selects SQLite or PostgreSQL.

    proxy_count: reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted
    (0 = none, the client's own headers are ignored); secure_cookies: send the session cookie
    over HTTPS only; max_content_length: the largest request body accepted, in bytes;
    outbox_lease_seconds: how long an outbox claim holds without its sender renewing it.
    """

    database_url: str
    bpmn_dir: Path
    timezone: str = "Asia/Shanghai"
    proxy_count: int = 0
    secure_cookies: bool = False
    max_content_length: int = 16 * MB
    outbox_lease_seconds: int = 30

    @classmethod
    def from_env(cls) -> "Settings":
        """Build settings from ZHIKONG_* / DATABASE_URL environment variables."""
        default_db = f"sqlite:///{PROJECT_ROOT / 'instance' / 'zhikong.db'}"
        return cls(
            database_url=os.environ.get("DATABASE_URL", default_db),
            bpmn_dir=Path(os.environ.get("ZHIKONG_BPMN_DIR", PROJECT_ROOT / "bpmn")),
            proxy_count=_env_int("ZHIKONG_PROXY_COUNT", cls.proxy_count),
            secure_cookies=_env_bool("ZHIKONG_SECURE_COOKIES", cls.secure_cookies),
            max_content_length=_env_int("ZHIKONG_MAX_UPLOAD_MB", cls.max_content_length // MB, minimum=1) * MB,
            outbox_lease_seconds=_env_int("ZHIKONG_OUTBOX_LEASE_SECONDS", cls.outbox_lease_seconds, minimum=1),
        )
