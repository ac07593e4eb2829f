"""Notification centre and outbox: in-app messages per official, e-mail and work-messenger delivery with retries.

Delivery protocol (once per message, even across scheduler restarts and beside other
schedulers): a dispatcher claims a small batch of due rows with one UPDATE (pending → sending,
under its own claim token) whose rows are chosen `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
several dispatchers take different batches; it commits before sending and marks each row sent
or failed only under that token. While it sends, a thread renews the claim's lease
(`claimed_at`); a row left in `sending` by a dispatcher that died is claimed again once its
lease has gone unrenewed, seconds later. A dispatcher told to stop finishes the send under way
and hands the rest of its batch back as pending. Every delivery carries the row's stable id
(webhook `bizMsgId`, e-mail `Message-ID`) so the receiving side can drop the one repeat that a
crash between sending and marking can cause.
"""
from __future__ import annotations

import json
import logging
import smtplib
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Optional, Protocol

from sqlalchemy import ColumnElement, DateTime, ForeignKey, Index, Integer, String, Text, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.platform import permissions, warning_settings
from engine.platform.config import Settings
from engine.platform.db import Database, matched_rows
from engine.platform.errors import InvalidInput, NotFound
from engine.platform.messages import N_, Message
from engine.platform.models import Base, Task, User, UserRole, utcnow

SEND_TIMEOUT_SECONDS = 10
CLAIM_LEASE = timedelta(seconds=Settings.outbox_lease_seconds)
"""How long a claim holds unrenewed; its sender renews it every third of that (the scheduler uses ZHIKONG_OUTBOX_LEASE_SECONDS)."""
CLAIM_BATCH = 25
"""Rows a dispatcher claims at once: small, so that several schedulers split the work."""
MAX_BACKOFF = timedelta(hours=6)
log = logging.getLogger("zhikong.outbox")


class Notification(Base):
    """One in-app message to one official (the header bell counts the unread ones)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    project_id: Mapped[Optional[int]] = mapped_column(ForeignKey("project.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """A message waiting to go out through one external channel to one address."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[Optional[int]] = mapped_column(ForeignKey("notification.id"))
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claim_token: Mapped[Optional[str]] = mapped_column(String(32))
    claimed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NotifyAddress(Base):
    """Where an official receives external notifications: e-mail and work-messenger id."""

    __tablename__ = "notify_address"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    messenger_id: Mapped[str] = mapped_column(String(100), default="")


class AlertLog(Base):
    """Keys of warnings already sent (a task turning red, a monthly reminder), so each goes out once."""

    __tablename__ = "alert_log"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeliveryError(Exception):
    """A channel could not deliver; the message is retried with backoff."""


@dataclass(frozen=True)
class Delivery:
    """What a channel sends: the outbox id (stable across retries), address, subject and text."""

    message_id: str
    recipient: str
    subject: str
    body: str


class Channel(Protocol):
    """An external delivery channel; `address_field` names the NotifyAddress column it sends to."""

    address_field: str
    enabled_setting: str

    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None:
        """Deliver or raise DeliveryError."""


class EmailChannel:
    """E-mail over SMTP (optionally STARTTLS and login), one message per recipient."""

    address_field = "email"
    enabled_setting = "email_enabled"

    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None:
        """Send one e-mail; any SMTP or network failure becomes a DeliveryError."""
        message = EmailMessage()
        message["From"] = settings["smtp_sender"]
        message["To"] = delivery.recipient
        message["Subject"] = delivery.subject
        message["Message-ID"] = f"<{delivery.message_id}@zhikong>"
        message.set_content(delivery.body)
        try:
            with smtplib.SMTP(settings["smtp_host"], int(settings["smtp_port"]), timeout=SEND_TIMEOUT_SECONDS) as smtp:
                if settings["smtp_starttls"]:
                    smtp.starttls()
                if settings["smtp_username"]:
                    smtp.login(settings["smtp_username"], Settings.load().smtp_password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"邮件发送失败：{exc}") from exc


class WebhookChannel:
    """A work-messenger notification (浙政钉-style): POST JSON with receiver ids and text."""

    address_field = "messenger_id"
    enabled_setting = "webhook_enabled"

    def send(self, delivery: Delivery, settings: dict[str, Any]) -> None:
        """POST the notification; a non-2xx status or an error code in the reply is a DeliveryError."""
        payload = {
            "bizMsgId": delivery.message_id,
            "receiverIds": [delivery.recipient],
            "msg": {"msgtype": "text", "text": {"content": f"{delivery.subject}\n{delivery.body}".strip()}},
        }
        headers = {"Content-Type": "application/json; charset=utf-8"}
        token = Settings.load().webhook_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            settings["webhook_url"], data=json.dumps(payload, ensure_ascii=False).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as response:  # noqa: S310 - URL from settings, http(s) only
                reply = response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"工作通知推送失败：{exc}") from exc
        try:
            answer = json.loads(reply or b"{}")
        except ValueError:
            return
        if isinstance(answer, dict) and (answer.get("success") is False or answer.get("errcode", 0) not in (0, "0")):
            raise DeliveryError(f"工作通知接口拒绝：{answer.get('errmsg') or answer.get('message') or answer}")


CHANNELS: dict[str, Channel] = {"email": EmailChannel(), "webhook": WebhookChannel()}


def claim_alert(session: Session, key: str) -> bool:
    """Record a warning key; True only for the one caller (of any process) that recorded it first."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(AlertLog).values(key=key, at=utcnow()).on_conflict_do_nothing(index_elements=["key"]).returning(AlertLog.key)
    )
    return session.execute(statement).first() is not None


def sent_alerts(session: Session, keys: list[str]) -> set[str]:
    """Which of these warning keys were already sent."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(session.scalars(select(AlertLog.key).where(AlertLog.key.in_(keys[start:start + 500]))))
    return found


def users_with_role(session: Session, role: str, unit_id: Optional[int] = None) -> set[int]:
    """Active officials holding `role` (within one unit when given)."""
    query = select(User.id).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role, User.active.is_(True))
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    return set(session.scalars(query))


def audience(session: Session, action: str, unit_id: Optional[int] = None, scope: Optional[str] = None) -> set[int]:
    """Active officials holding a role the permission policy grants `action` (only grants of `scope`, within one unit, when given)."""
    roles = sorted(permissions.roles_for(action, scope))
    query = select(User.id).join(UserRole, UserRole.user_id == User.id).where(UserRole.role.in_(roles), User.active.is_(True))
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    return set(session.scalars(query))


def responsible_for(session: Session, task: Task) -> set[int]:
    """The officials whose inbox shows the task: its assignee, or its role within its scope."""
    if task.assignee_id is not None:
        return {task.assignee_id}
    return users_with_role(session, task.role, task.unit_id if task.scope != "county" else None)


def notify(
    session: Session,
    user_ids: set[int],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    project_id: Optional[int] = None,
) -> list[Notification]:
    """Create an in-app notification per official and queue it on every enabled external channel."""
    if not user_ids:
        return []
    settings = warning_settings.get_all(session)
    now = utcnow()
    rows = [
        Notification(user_id=uid, kind=kind, title=title[:200], body=body, link=link, project_id=project_id, created_at=now)
        for uid in sorted(user_ids)
    ]
    session.add_all(rows)
    session.flush()
    enabled = {name: ch for name, ch in CHANNELS.items() if settings.get(ch.enabled_setting)}
    if enabled:
        addresses = {a.user_id: a for a in session.scalars(select(NotifyAddress).where(NotifyAddress.user_id.in_(user_ids)))}
        for row in rows:
            address = addresses.get(row.user_id)
            for name, channel in enabled.items():
                recipient = getattr(address, channel.address_field, "") if address else ""
                if recipient:
                    session.add(OutboxMessage(notification_id=row.id, channel=name, recipient=recipient,
                                              subject=row.title, body=body, next_attempt_at=now, created_at=now))
    return rows


def unread_count(session: Session, user_id: int) -> int:
    """Unread notifications of one official (the bell's number)."""
    return session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ) or 0


def inbox(session: Session, user_id: int, limit: int = 50, offset: int = 0, unread_only: bool = False) -> list[Notification]:
    """An official's notifications, newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit).offset(offset)))


def mark_read(session: Session, user_id: int, notification_id: Optional[int] = None) -> int:
    """Mark one (or, without an id, every) notification of this official read; returns how many changed."""
    query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        if session.scalar(select(Notification.user_id).where(Notification.id == notification_id)) != user_id:
            raise NotFound(N_("通知 %(id)s 不存在"), id=notification_id)
        query = query.where(Notification.id == notification_id)
    return matched_rows(session, query.values(read_at=utcnow()).execution_options(synchronize_session=False))


def save_address(session: Session, user_id: int, email: str, messenger_id: str) -> NotifyAddress:
    """Store an official's e-mail and work-messenger id, with named messages for bad values."""
    email, messenger_id = email.strip(), messenger_id.strip()
    errors = {}
    if email and ("@" not in email or len(email) > 200 or any(c.isspace() for c in email)):
        errors["email"] = Message(N_("电子邮箱格式不正确"))
    if len(messenger_id) > 100 or any(c.isspace() for c in messenger_id):
        errors["messenger_id"] = Message(N_("工作通知账号不能含空格且不超过 100 个字符"))
    if errors:
        raise InvalidInput(errors)
    row = session.get(NotifyAddress, user_id) or NotifyAddress(user_id=user_id)
    row.email, row.messenger_id = email, messenger_id
    session.add(row)
    return row


@dataclass
class DispatchResult:
    """What one dispatch run did (released: claims handed back unsent because the scheduler was stopping)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    released: int = 0


@dataclass(frozen=True)
class Claimed:
    """A claimed outbox row, as the claim returned it."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int


def _backoff(attempts: int, base_seconds: int) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base … capped at six hours."""
    return min(timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claimable(due_by: datetime, lease_ended_by: datetime) -> ColumnElement[bool]:
    """Rows due for a (re)try: pending and due, or `sending` under a lease nobody renewed since `lease_ended_by`."""
    return or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= due_by),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at <= lease_ended_by),
    )


def _claim(db: Database, due_by: datetime, now: datetime, lease: timedelta, size: int) -> tuple[str, list[Claimed]]:
    """Claim up to `size` due rows under one new token and commit; rows another dispatcher holds locked are skipped."""
    token = uuid.uuid4().hex
    due = (
        select(OutboxMessage.id).where(_claimable(due_by, now - lease)).order_by(OutboxMessage.id).limit(size)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer and renders no lock clause
    )
    with db.session() as session:
        rows = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(status="sending", claim_token=token, claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.subject,
                       OutboxMessage.body, OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        ).all()
    return token, sorted((Claimed(*row) for row in rows), key=lambda row: row.id)


def _mine(ids: list[int], token: str) -> ColumnElement[bool]:
    """These rows, while they are still `sending` under this claim."""
    return and_(OutboxMessage.id.in_(ids), OutboxMessage.claim_token == token, OutboxMessage.status == "sending")


def _finish(db: Database, message_id: int, token: str, values: dict[str, Any]) -> None:
    """Record the outcome, only if our claim still stands."""
    with db.session() as session:
        session.execute(update(OutboxMessage).where(_mine([message_id], token)).values(**values)
                        .execution_options(synchronize_session=False))


def _release(db: Database, token: str, ids: list[int]) -> int:
    """Hand claimed rows back unsent: pending again, due at once, the claim's attempt not counted."""
    with db.session() as session:
        return matched_rows(
            session,
            update(OutboxMessage).where(_mine(ids, token))
            .values(status="pending", claim_token=None, claimed_at=None, attempts=OutboxMessage.attempts - 1)
            .execution_options(synchronize_session=False),
        )


class LeaseRenewal:
    """Renews a claim's lease from a thread of its own every third of the lease, while its sender works through the batch."""

    def __init__(self, db: Database, token: str, ids: list[int], lease: timedelta, clock: Callable[[], datetime]) -> None:
        self.db, self.token, self.ids, self.lease, self.clock = db, token, ids, lease, clock
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"outbox-lease-{token[:8]}", daemon=True)

    def __enter__(self) -> "LeaseRenewal":
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def run(self) -> None:
        """Move `claimed_at` forward until stopped; a failed renewal is logged and tried again next time."""
        while not self.stopped.wait(self.lease.total_seconds() / 3):
            try:
                with self.db.session() as session:
                    session.execute(update(OutboxMessage).where(_mine(self.ids, self.token)).values(claimed_at=self.clock())
                                    .execution_options(synchronize_session=False))
            except SQLAlchemyError:
                log.warning("通知发送租约续期失败（批次 %s），下次再试", self.token, exc_info=True)


def _send(db: Database, token: str, row: Claimed, settings: dict[str, Any], now: datetime, result: DispatchResult) -> None:
    """Deliver one claimed row and record the outcome: sent, retried later with backoff, given up, or cancelled."""
    channel = CHANNELS.get(row.channel)
    if channel is None or not settings.get(channel.enabled_setting):
        _finish(db, row.id, token, {"status": "cancelled", "last_error": "通知渠道未启用或不存在"})
        result.cancelled += 1
        return
    try:
        channel.send(Delivery(f"zhikong-outbox-{row.id}", row.recipient, row.subject, row.body), settings)
    except DeliveryError as exc:
        final = row.attempts >= int(settings["max_attempts"])
        retry_at = now + _backoff(row.attempts, int(settings["retry_base_seconds"]))
        _finish(db, row.id, token, {"status": "failed" if final else "pending", "next_attempt_at": retry_at,
                                    "last_error": str(exc)[:500]})
        result.failed += final
        result.retried += not final
        return
    _finish(db, row.id, token, {"status": "sent", "sent_at": utcnow(), "last_error": ""})
    result.sent += 1


def dispatch(
    db: Database,
    now: Optional[datetime] = None,
    lease: timedelta = CLAIM_LEASE,
    stop: Optional[threading.Event] = None,
    batch: int = CLAIM_BATCH,
) -> DispatchResult:
    """Send every message due by `now` once, a claimed batch at a time, retrying failures with exponential backoff.

    The claim's lease is renewed while the batch is sent, so rows of a dispatcher that died are
    claimed again once `lease` passes unrenewed. When `stop` is set (SIGTERM), the send under way
    finishes and the rest of the batch is handed back as pending.
    """
    due_by, ticks = now or utcnow(), time.monotonic()

    def clock() -> datetime:
        return due_by + timedelta(seconds=time.monotonic() - ticks)

    result = DispatchResult()
    with db.session() as session:
        settings = warning_settings.get_all(session)
    while stop is None or not stop.is_set():
        token, claimed = _claim(db, due_by, clock(), lease, batch)
        if not claimed:
            break
        with LeaseRenewal(db, token, [row.id for row in claimed], lease, clock):
            for index, row in enumerate(claimed):
                if stop is not None and stop.is_set():
                    result.released += _release(db, token, [row.id for row in claimed[index:]])
                    break
                _send(db, token, row, settings, clock(), result)
    return result
