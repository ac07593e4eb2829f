"""Deadlines and progress: lights go green → yellow → red, the responsible officials and the office are told once each."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
import time_machine

from engine.supervision import lights, monthly, progress
from engine.platform import warning_settings
from engine.platform import notifications
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.models import utcnow
from engine.platform.notifications import Notification
from tests.conftest import FEASIBLE, INTENT, Helper, approval_form

DAY = timedelta(days=1)


def notes(h: Helper, username: str) -> list[Notification]:
    with h.db.session() as s:
        return list(s.scalars(select(Notification).where(Notification.user_id == h.user(username).id).order_by(Notification.id)))


def light(h: Helper, project_id: int) -> str:
    with h.db.session() as s:
        return lights.lights_of(s, [project_id], utcnow())[project_id]


def post(h: Helper, project_id: int, username: str, text: str) -> None:
    with h.db.session() as s:
        progress.post_note(s, project_id, s.merge(h.user(username)), {"content": text})


def scan(h: Helper) -> int:
    with h.db.session() as s:
        return lights.scan(s, utcnow())


def test_an_overdue_task_turns_yellow_then_red_and_notifies_its_officials_and_the_office(h: Helper, clock: time_machine.Traveller) -> None:
    pid = h.register(name="绿色建材项目")
    clock.shift(29 * DAY)
    post(h, pid, "anwen", "与投资方多次接洽")  # progress is kept up: only the task lights the project
    assert (light(h, pid), scan(h)) == ("green", 0)
    clock.shift(DAY + timedelta(hours=1))  # confirm_intent is due after P30D
    assert (light(h, pid), scan(h)) == ("yellow", 1)
    assert scan(h) == 0  # told once per light
    for username in ("anwen", "bangongshi"):
        assert [n.kind for n in notes(h, username)] == ["task_yellow"]
        assert "绿色建材项目" in notes(h, username)[0].title and "确认投资意向" in notes(h, username)[0].title
    assert notes(h, "xinwo") == [] and notes(h, "fx_gongye") == []
    clock.shift(29 * DAY)
    post(h, pid, "anwen", "投资方仍在比选")
    assert light(h, pid) == "yellow"
    clock.shift(DAY)  # overdue by the whole 30 days again
    assert (light(h, pid), scan(h)) == ("red", 1)
    red = notes(h, "anwen")[-1]
    assert red.kind == "task_red" and red.link.startswith("/tasks/") and "逾期30天" in red.title
    h.complete(pid, "anwen", INTENT, "confirm_intent")
    assert light(h, pid) == "green"  # the next task (feasibility, P15D) has just started


def test_a_task_first_seen_after_an_outage_is_reported_red_once(h: Helper, clock: time_machine.Traveller) -> None:
    h.register()
    clock.shift(75 * DAY)
    assert scan(h) == 1
    assert [n.kind for n in notes(h, "bangongshi")] == ["task_red"]


def test_progress_notes_keep_a_project_green_and_silence_lights_it_and_records_a_late_update(h: Helper, clock: time_machine.Traveller) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT, "confirm_intent")
    h.complete(pid, "fx_gongye", FEASIBLE, "feasibility_review")
    h.complete(pid, "anwen", approval_form(False), "fill_approval_form")  # now at the 30-day meeting step

    def sweep() -> int:
        with h.db.session() as s:
            return progress.scan(s, utcnow())

    clock.shift(29 * DAY)
    post(h, pid, "anwen", "已完成土地踏勘")
    clock.shift(29 * DAY)  # 29 days after the note; the meeting task is overdue, progress is not
    with h.db.session() as s:
        assert [w.kind for w in lights.project_lights(s, utcnow())[pid].warnings] == ["task"]
    clock.shift(2 * DAY)
    with h.db.session() as s:
        kinds = {w.kind: w.light for w in lights.project_lights(s, utcnow())[pid].warnings}
    assert kinds["progress"] == "yellow"
    assert sweep() == 1 and sweep() == 0
    assert [n.kind for n in notes(h, "anwen") if n.kind.startswith("progress")] == ["progress_yellow"]
    clock.shift(15 * DAY)  # 46 days without a note
    assert sweep() == 1
    with h.db.session() as s:
        records = progress.late_updates(s, unit_id=h.unit("anwen"))
        assert [(r.project_id, r.days) for r in records] == [(pid, 46)]
    assert sweep() == 0
    post(h, pid, "anwen", "投资方完成董事会决议")
    with h.db.session() as s:
        assert pid not in {p for p, *_ in lights.stale_projects(s, utcnow(), warning_settings.get_all(s))}
    clock.shift(45 * DAY)
    assert sweep() == 1  # straight to red after another 45 silent days: a second record
    with h.db.session() as s:
        assert len(progress.late_updates(s)) == 2


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"content": ""}, "content", "进展情况不能为空"),
        ({"content": "x" * 2001}, "content", "进展情况不能超过2000个字"),
        ({"content": "ok", "problems": "y" * 1001}, "problems", "存在问题不能超过1000个字"),
    ],
)
def test_bad_progress_notes_are_refused_with_the_field_named_and_nothing_stored(hs: Helper, data: dict[str, str], field: str, message: str) -> None:
    pid = hs.register()
    with pytest.raises(InvalidInput) as caught:
        with hs.db.session() as s:
            progress.post_note(s, pid, s.merge(hs.user("anwen")), data)
    assert message in caught.value.errors[field]
    with hs.db.session() as s:
        assert progress.notes_of(s, pid) == []


def test_only_the_responsible_units_and_the_office_may_post_progress(hs: Helper) -> None:
    pid = hs.register()
    for username in ("xinwo", "fx_gongye", "jingshang"):
        with pytest.raises(NotAllowed), hs.db.session() as s:
            progress.post_note(s, pid, s.merge(hs.user(username)), {"content": "越权填报"})
    for username in ("anwen", "bangongshi"):
        with hs.db.session() as s:
            progress.post_note(s, pid, s.merge(hs.user(username)), {"content": f"{username} 填报"})
    with hs.db.session() as s:
        assert [n.content for n in progress.notes_of(s, pid)] == ["bangongshi 填报", "anwen 填报"]


def test_the_office_changes_thresholds_and_bad_settings_are_refused_naming_the_setting(hs: Helper, clock: time_machine.Traveller) -> None:
    pid = hs.register()
    with pytest.raises(NotAllowed), hs.db.session() as s:
        warning_settings.update(s, {"progress_yellow_days": 10}, s.merge(hs.user("anwen")))
    for bad, key, text in (
        ({"progress_yellow_days": "十"}, "progress_yellow_days", "必须是1到365之间的整数"),
        ({"progress_yellow_days": 50}, "progress_red_days", "红灯天数必须大于黄灯天数"),
        ({"webhook_enabled": "on"}, "webhook_url", "接口地址"),
        ({"email_enabled": True, "smtp_host": "mail.example"}, "smtp_sender", "发件人邮箱"),
        ({"meeting_day": 31}, "meeting_day", "1到28之间的整数"),
    ):
        with pytest.raises(InvalidInput) as caught, hs.db.session() as s:
            warning_settings.update(s, bad, s.merge(hs.user("bangongshi")))
        assert text in caught.value.errors[key]
    with hs.db.session() as s:
        assert warning_settings.get_all(s) == warning_settings.defaults()
        warning_settings.update(s, {"progress_yellow_days": "10", "progress_red_days": "20"}, s.merge(hs.user("bangongshi")))
    clock.shift(11 * DAY)
    with hs.db.session() as s:
        assert [light for p, _, light in lights.stale_projects(s, utcnow(), warning_settings.get_all(s)) if p == pid] == ["yellow"]


def test_the_board_counts_lights_per_unit_and_deputy_and_sorts_by_days_overdue(h: Helper, clock: time_machine.Traveller) -> None:
    old = h.register(name="早登记项目")
    clock.shift(20 * DAY)
    newer = h.register(name="晚登记项目", by="xinwo")
    h.register(name="准时项目", by="xinwo")
    clock.shift(40 * DAY)  # old: 60 days, red (task and progress); newer ones: 40 days, yellow — one posts progress
    post(h, newer + 1, "xinwo", "按计划推进")
    with h.db.session() as s:
        board = lights.board(s, utcnow())
        units = {row.name: (row.green, row.yellow, row.red) for row in board.by_unit}
        assert units["安文街道"] == (0, 0, 1)
        assert units["新渥街道"] == (0, 2, 0)  # the refreshed one still has its overdue intent task
        assert (board.totals.green, board.totals.yellow, board.totals.red) == (0, 2, 1)
        assert [p.project_id for p in board.red] == [old]
        assert {row.name: row.total for row in board.by_deputy} == {"王志刚": 3}
        assert board.red[0].days_overdue == 30
        mine = lights.board(s, utcnow(), unit_ids={h.unit("xinwo")})
        assert mine.red == [] and {row.name for row in mine.by_unit} == {"新渥街道"}
        names = [p.name for p in lights.board(s, utcnow(), sort="-days").yellow]
        assert names == sorted(names, key=lambda n: n)  # equal days: by name


def test_monthly_reminders_go_out_once_a_month_on_their_day(h: Helper, clock: time_machine.Traveller) -> None:
    for _ in range(2):
        pid = h.register()
        h.complete(pid, "anwen", INTENT, "confirm_intent")
        h.complete(pid, "fx_gongye", FEASIBLE, "feasibility_review")
        h.complete(pid, "anwen", approval_form(False), "fill_approval_form")
    h.register(by="xinwo")

    def run() -> int:
        with h.db.session() as s:
            return monthly.run(s, utcnow())

    clock.move_to("2026-03-19T08:00:00+08:00")
    assert run() == 0
    clock.move_to("2026-03-20T08:00:00+08:00")  # meeting_day 20 (default)
    assert run() == 2  # the office and the assessment secretary
    assert [n.title for n in notes(h, "bangongshi")][-1] == "请召集2026-03月度项目研判小组会议：待研判项目 2 个"
    assert run() == 0
    clock.move_to("2026-03-22T08:00:00+08:00")  # report day 25 − 3 days
    assert run() == 2  # one official in each of the two units with projects in progress
    assert "本单位在办项目 2 个" in notes(h, "anwen")[-1].body
    clock.move_to("2026-04-27T08:00:00+08:00")  # scheduler down on the 20th and 22nd: both caught up
    assert run() == 4


def test_the_bell_counts_unread_and_marking_read_is_per_official(hs: Helper) -> None:
    with hs.db.session() as s:
        anwen, xinwo = hs.user("anwen").id, hs.user("xinwo").id
        rows = notifications.notify(s, {anwen, xinwo}, "test", "测试通知")
        mine = next(r.id for r in rows if r.user_id == anwen)
        theirs = next(r.id for r in rows if r.user_id == xinwo)
    with hs.db.session() as s:
        assert notifications.unread_count(s, anwen) == 1
        with pytest.raises(NotFound):
            notifications.mark_read(s, anwen, theirs)
    with hs.db.session() as s:
        assert notifications.mark_read(s, anwen, mine) == 1
        assert notifications.unread_count(s, anwen) == 0 and notifications.unread_count(s, xinwo) == 1
