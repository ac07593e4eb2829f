"""Early-warning settings the office changes in the browser: progress thresholds, monthly days, notification channels."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Optional
from urllib.parse import urlparse

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.platform import inputs, permissions, settings_rows
from engine.platform.errors import InvalidInput
from engine.platform.messages import N_, Message, label
from engine.platform.models import Base, Event, User, utcnow


class WarningSetting(Base):
    """One changed setting; keys absent from the table keep their default."""

    __tablename__ = "warning_setting"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))


@dataclass(frozen=True)
class SettingSpec:
    """A setting's key, Chinese label, type, default and bounds."""

    key: str
    label: str
    kind: str
    default: Any
    minimum: int = 0
    maximum: int = 0


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("progress_yellow_days", N_("项目进展超过多少天未更新亮黄灯"), "int", 30, 1, 365),
    SettingSpec("progress_red_days", N_("项目进展超过多少天未更新亮红灯"), "int", 45, 2, 730),
    SettingSpec("meeting_day", N_("每月几日提醒召集研判小组会议"), "int", 20, 1, 28),
    SettingSpec("report_day", N_("每月几日召开月度汇报会"), "int", 25, 1, 28),
    SettingSpec("report_reminder_days", N_("汇报会前几天提醒各单位更新进展"), "int", 3, 0, 27),
    SettingSpec("board_refresh_seconds", N_("预警看板自动刷新间隔（秒）"), "int", 30, 1, 60),
    SettingSpec("email_enabled", N_("启用邮件通知"), "bool", False),
    SettingSpec("smtp_host", N_("SMTP 服务器地址"), "str", "", 0, 200),
    SettingSpec("smtp_port", N_("SMTP 端口"), "int", 25, 1, 65535),
    SettingSpec("smtp_starttls", N_("SMTP 使用 STARTTLS 加密"), "bool", False),
    SettingSpec("smtp_username", N_("SMTP 用户名（密码取自环境变量 ZHIKONG_SMTP_PASSWORD）"), "str", "", 0, 200),
    SettingSpec("smtp_sender", N_("发件人邮箱"), "str", "", 0, 200),
    SettingSpec("webhook_enabled", N_("启用工作通知推送（浙政钉等）"), "bool", False),
    SettingSpec("webhook_url", N_("工作通知接口地址（令牌取自环境变量 ZHIKONG_WEBHOOK_TOKEN）"), "str", "", 0, 500),
    SettingSpec("max_attempts", N_("通知发送失败最多尝试次数"), "int", 8, 1, 20),
    SettingSpec("retry_base_seconds", N_("首次重试等待秒数（此后每次加倍）"), "int", 60, 1, 3600),
)
SPEC_BY_KEY = {spec.key: spec for spec in SPECS}


def defaults() -> dict[str, Any]:
    """Every setting at its default value."""
    return {spec.key: spec.default for spec in SPECS}


def get_all(session: Session) -> dict[str, Any]:
    """Current settings: defaults overlaid with the stored values."""
    return settings_rows.read(session, WarningSetting, defaults())


def _coerce(spec: SettingSpec, raw: Any, errors: dict[str, str]) -> Any:
    """Convert one submitted value to its type, recording a message naming the setting if it is bad."""
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "on", "yes", "是"):
            return True
        if text in ("", "0", "false", "off", "no", "否"):
            return False
        errors[spec.key] = Message(N_("%(title)s：应为“是”或“否”"), title=label(spec.label))
        return None
    if spec.kind == "int":
        rule = inputs.Number(Decimal(spec.minimum), Decimal(spec.maximum), 0)
        return inputs.integer(raw, spec.key, spec.label, rule, errors, required=True)
    return inputs.text(raw, spec.key, spec.label, spec.maximum, errors)


def _check_together(values: dict[str, Any], errors: dict[str, str]) -> None:
    """Rules that involve several settings (thresholds in order, enabled channels configured)."""
    if values["progress_red_days"] <= values["progress_yellow_days"]:
        errors["progress_red_days"] = Message(N_("项目进展红灯天数必须大于黄灯天数"))
    if values["email_enabled"]:
        if not values["smtp_host"]:
            errors["smtp_host"] = Message(N_("启用邮件通知时必须填写 SMTP 服务器地址"))
        if "@" not in values["smtp_sender"]:
            errors["smtp_sender"] = Message(N_("启用邮件通知时必须填写有效的发件人邮箱"))
    if values["webhook_enabled"]:
        url = urlparse(values["webhook_url"])
        if url.scheme not in ("http", "https") or not url.netloc:
            errors["webhook_url"] = Message(N_("启用工作通知推送时必须填写以 http:// 或 https:// 开头的接口地址"))


def update(session: Session, submitted: dict[str, Any], actor: User) -> dict[str, Any]:
    """Validate and store changed settings (office or administrator only); nothing is stored on any error."""
    permissions.require(actor, "warning_settings.edit", N_("只有领导小组办公室或系统管理员可以修改预警设置"))
    current = get_all(session)
    values, errors = settings_rows.submitted_values(current, submitted, SPEC_BY_KEY, _coerce)
    if not errors:
        _check_together(values, errors)
    if errors:
        raise InvalidInput(errors)
    changed = settings_rows.store(session, WarningSetting, current, values, actor.id)
    if changed:
        summary = "修改预警设置：" + "，".join(SPEC_BY_KEY[key].label.split("（")[0] for key in changed)
        session.add(Event(kind="settings", at=utcnow(), actor_id=actor.id, summary=summary[:300], payload={"changed": changed}))
    return values
