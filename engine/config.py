"""Settings read from the environment, with defaults that make `make run` work."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Runtime settings; one DATABASE_URL selects SQLite or PostgreSQL."""

    database_url: str
    bpmn_dir: Path
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_env(cls) -> "Settings":
        """Build settings from ZHIKONG_* / DATABASE_URL environment variables."""
        default_db = f"sqlite:///{PROJECT_ROOT / 'instance' / 'zhikong.db'}"
        return cls(
            database_url=os.environ.get("DATABASE_URL", default_db),
            bpmn_dir=Path(os.environ.get("ZHIKONG_BPMN_DIR", PROJECT_ROOT / "bpmn")),
        )
