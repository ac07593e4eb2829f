"""Finalised (定稿) rankings: a closed quarter's or year's scores frozen, so a later rule change never rewrites them.

Until the office finalises a period its ranking is computed live from the current scoring table;
a year adds up its finalised quarters as they were frozen and its open quarters live.
Once finalised, every page and export of that period shows the frozen edition: units, ranks,
ratings and every explained line, with the rule version it was scored under. Finalising again
(重新定稿) needs a reason; each edition is kept and logged. An edition's rows hold every unit's
exact points, counts, rank and rating, and each unit's lines are a row of their own, so a ranking
page never decodes the lines of a whole period and a unit's page reads that unit's alone.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from engine.supervision import assessment
from engine.workflow import definitions
from engine.platform import inputs, permissions
from engine.platform.clock import local_today
from engine.platform.errors import ConcurrentUpdate, InvalidInput
from engine.platform.messages import N_
from engine.platform.models import Event, User, utcnow
from engine.supervision.models import PublishedRanking, PublishedRankingUnit


def period_range(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a quarter, or of the year when `quarter` is 0."""
    if quarter == 0:
        return date(year, 1, 1), date(year, 12, 31)
    if quarter not in (1, 2, 3, 4):
        raise InvalidInput({"quarter": f"季度(quarter)须为0-4（0为全年），收到 {quarter}"})
    return assessment.quarter_range(year, quarter)


def period_label(year: int, quarter: int) -> str:
    """The period in words: 2026年第3季度 or 2026年度."""
    return f"{year}年度" if quarter == 0 else f"{year}年第{quarter}季度"


def live(session: Session, year: int, quarter: int, explain: assessment.Explain = ()) -> list[assessment.UnitScore]:
    """The period's ranking as it stands now (with the lines of the units `explain` names); a year adds up its finalised quarters as frozen and the rest live."""
    if quarter != 0:
        return assessment.quarterly_ranking(session, year, quarter, explain)
    scorer = assessment.Scorer(session)
    tallied: dict[int, assessment.Tally] = {}
    lines: list[assessment.ScoreLine] = []
    for q in (1, 2, 3, 4):
        published = latest(session, year, q)
        if published is not None:
            part = thaw(session, published, explain)
        else:
            part = assessment.scores(session, *assessment.quarter_range(year, q), explain, scorer)
        for score in part:
            if score.counts:  # the unit has lines this quarter
                tallied.setdefault(score.unit_id, assessment.Tally()).merge(assessment.Tally(score.points, score.counts))
                lines.extend(score.lines)
    return assessment.rate(session, year, assessment.ranked(session, tallied, lines))


def latest(session: Session, year: int, quarter: int) -> Optional[PublishedRanking]:
    """The period's newest finalised edition, if any."""
    query = select(PublishedRanking).where(PublishedRanking.year == year, PublishedRanking.quarter == quarter)
    return session.scalars(query.order_by(PublishedRanking.edition.desc()).limit(1)).first()


def editions(session: Session, year: int, quarter: int) -> list[PublishedRanking]:
    """Every finalised edition of the period, oldest first (their frozen rows are read only when touched)."""
    query = select(PublishedRanking).options(defer(PublishedRanking.rows)).where(PublishedRanking.year == year, PublishedRanking.quarter == quarter)
    return list(session.scalars(query.order_by(PublishedRanking.edition)))


def ranking(session: Session, year: int, quarter: int,
            explain: assessment.Explain = ()) -> tuple[list[assessment.UnitScore], Optional[PublishedRanking]]:
    """What the period's pages show (with the lines of the units `explain` names): the newest finalised edition when there is one, else the live ranking."""
    published = latest(session, year, quarter)
    if published is not None:
        return thaw(session, published, explain), published
    return live(session, year, quarter, explain), None


def publish(session: Session, actor: User, year: int, quarter: int, reason: str = "") -> PublishedRanking:
    """Freeze the period's live ranking as a new edition; the period must be over, a second edition needs a reason."""
    permissions.require(actor, "ranking.publish", N_("只有领导小组办公室可以定稿考核排名"))
    start, end = period_range(year, quarter)
    label = period_label(year, quarter)
    if end >= local_today():
        raise InvalidInput({"quarter": f"{label}尚未结束（截至{end:%Y年%m月%d日}），结束后才能定稿"})
    errors: dict[str, str] = {}
    reason = inputs.text(reason, "reason", N_("原因"), 500, errors)
    if errors:
        raise InvalidInput(errors)
    previous = session.scalar(
        select(func.max(PublishedRanking.edition)).where(PublishedRanking.year == year, PublishedRanking.quarter == quarter)
    )
    if previous and not reason:
        raise InvalidInput({"reason": f"{label}排名已定稿，重新定稿须说明原因"})
    rules = definitions.latest(session, assessment.SCORING)
    rows = live(session, year, quarter, "all")
    frozen, lines = freeze(rows)
    edition = PublishedRanking(
        year=year,
        quarter=quarter,
        edition=(previous or 0) + 1,
        rule_definition_id=rules.id,
        reason=reason,
        published_by=actor.id,
        published_at=utcnow(),
        rows=frozen,
    )
    session.add(edition)
    verb = "重新定稿" if previous else "定稿"
    summary = f"{label}考核排名{verb}（第{edition.edition}版，计分规则第{rules.version}版）" + (f"：{reason}" if reason else "")
    session.add(Event(kind="ranking_published", at=edition.published_at, actor_id=actor.id, summary=summary[:300],
                      payload={"year": year, "quarter": quarter, "edition": edition.edition, "rule_version": rules.version,
                               "totals": {str(r.unit_id): r.total for r in rows}}))
    try:
        session.flush()
    except IntegrityError as exc:  # another official finalised the same edition a moment earlier
        raise ConcurrentUpdate(f"{label}排名刚由他人定稿（第{edition.edition}版），请刷新后查看") from exc
    session.add_all(PublishedRankingUnit(ranking_id=edition.id, unit_id=unit_id, lines=unit_lines) for unit_id, unit_lines in lines.items())
    session.flush()
    return edition


def freeze(rows: list[assessment.UnitScore]) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """Unit scores as JSON-ready dicts without their lines, and each unit's lines as JSON-ready dicts (units with lines)."""
    frozen, lines = [], {}
    for score in rows:
        item = asdict(score)
        unit_lines = item.pop("lines")
        item["points"] = str(score.points)
        for line in unit_lines:
            line["on"] = line["on"].isoformat()
        if unit_lines:
            lines[score.unit_id] = unit_lines
        frozen.append(item)
    return frozen, lines


def thaw(session: Session, published: PublishedRanking, explain: assessment.Explain = ()) -> list[assessment.UnitScore]:
    """The unit scores of a finalised edition, with the frozen lines of the units `explain` names."""
    lines: dict[int, list[dict[str, Any]]] = {}
    if explain:
        query = select(PublishedRankingUnit.unit_id, PublishedRankingUnit.lines).where(PublishedRankingUnit.ranking_id == published.id)
        if not isinstance(explain, str):
            query = query.where(PublishedRankingUnit.unit_id.in_(list(explain)))
        lines = {unit_id: unit_lines for unit_id, unit_lines in session.execute(query)}
    scores = []
    for item in published.rows:
        thawed = [assessment.ScoreLine(**{**line, "on": date.fromisoformat(line["on"])}) for line in lines.get(item["unit_id"], [])]
        scores.append(assessment.UnitScore(**{**item, "points": Decimal(item["points"]), "lines": thawed}))
    return scores
