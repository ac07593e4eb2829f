"""Domain errors raised by the engine; the web and CLI edges translate them for people.

Each carries its message as a `Message` (engine/platform/messages.py): Chinese text as before, plus the template and
values the web edge translates."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.platform.messages import N_, Message, joined


class EngineError(Exception):
    """Base of every error the engine raises on purpose: a message, or a template marked with N_ and its values."""

    status = 400

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message if isinstance(message, Message) and not params else Message(message, **params)
        super().__init__(self.message)


class NotFound(EngineError):
    """The requested project, task, user or definition does not exist."""

    status = 404


class NotAllowed(EngineError):
    """The user lacks the role or unit scope for this action."""

    status = 403


class DecidedAtMeeting(NotAllowed):
    """The step is decided collectively at a meeting and cannot be completed alone now."""

    status = 409


class AlreadyCompleted(EngineError):
    """The task was completed (or cancelled) by someone else first."""

    status = 409


class ConcurrentUpdate(EngineError):
    """Another writer changed the same instance; the caller may retry."""

    status = 409


class InvalidInput(EngineError):
    """Submitted data failed validation; `errors` maps each field to its message."""

    status = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        summary = joined([Message(N_("%(field)s：%(message)s"), field=field, message=msg) for field, msg in self.errors.items()])
        super().__init__(N_("输入有误：%(summary)s"), summary=summary)


class DefinitionInvalid(EngineError):
    """A BPMN/DMN/form bundle cannot be deployed; each problem names file and element."""

    status = 422

    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems
        lines = [f"{p.get('file', '')} {p.get('element', '')}: {p['message']}".strip() for p in problems]
        super().__init__("流程定义校验未通过：\n" + "\n".join(lines))


class SandboxViolation(EngineError):
    """An expression uses something the sandbox forbids (imports, dunders, open, exec …)."""


class LimitExceeded(EngineError):
    """An evaluation or an engine advance passed a ceiling (time, size, steps, cardinality, stored data)."""

    status = 422
