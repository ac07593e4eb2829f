"""The demo county's projects, each registered and driven through the real lifecycle on its own dates.

Their units post progress notes as they go (but two silent ones), so that today some projects
are green and some overdue, yellow or red, and one was signed and landed in the closed quarter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.demo import samples
from engine.demo.timeline import Action, Calendar, Replay
from engine.platform import permissions
from engine.platform.attachments import FileStore, Upload
from engine.platform.config import Settings
from engine.platform.models import Instance, OrgUnit, Project, Task, User
from engine.platform.org import can_act
from engine.projects import files, lifecycle
from engine.supervision import progress
from engine.workflow import runtime

MAX_BYTES = Settings.attachment_max_bytes
INTENT: dict[str, Any] = {"has_intent": True, "opinion": "投资方已明确投资意向"}
FEASIBLE: dict[str, Any] = {"decision": "pass", "opinion": "可行性与落地必要性论证通过"}
PASS: dict[str, Any] = {"decision": "pass", "opinion": "同意"}
JOINT: dict[str, Any] = {"decision": "pass", "opinion": "专班联审同意落地"}
APPROVE: dict[str, Any] = {"decision": "approve", "opinion": "同意"}
NOTES = {  # stage → what a unit's progress notes say at that stage (content, problems), taken in turn
    "intent": [("与投资方就投资规模、产品方案和选址进行对接，投资方已提交初步投资计划。", ""),
               ("陪同投资方实地踏勘备选地块，正在比选落地方案。", "")],
    "feasibility": [("配合分管县领导组织发改、自然资源等部门开展可行性论证，补充产业链配套分析。", ""),
                    ("论证意见已汇总，正在补充环评和能耗测算材料。", "能耗指标需县里统筹")],
    "assessment": [("落地审批表及附件已报领导小组办公室，等待研判小组会议研判。", ""),
                   ("按研判要求补充投资强度和亩均税收测算。", "")],
    "leading_group": [("研判已通过，正在准备领导小组会议汇报材料。", "")],
    "negotiation": [("专班与投资方就土地价格、建设进度和投产时间进行洽谈，已组织落地考察。", "用地报批时间较长"),
                    ("投资协议主要条款已基本谈定，联审意见正在会签。", "")],
    "approval": [("审批材料已按审批路线报送，正在等待审议。", ""), ("根据审核意见补充了出资能力证明。", "")],
    "signing": [("投资协议文本已与投资方达成一致，正在履行签约程序。", "")],
    "landing": [("项目公司注册中，落地工作联络群已建立，服务专班全程代办各项手续。", ""),
                ("用地预审和规划许可已提交，服务专班每周调度。", "")],
    "construction": [("施工图设计和施工许可办理中，场地平整已完成约一半。", "施工许可办理需进一步提速"),
                     ("首期设备已订货，施工单位已进场。", "")],
}


def negotiated(day: date) -> dict[str, Any]:
    """The team's negotiation outcome with its on-site inspection day."""
    return {"decision": "continue", "opinion": "洽谈完成，已组织落地考察", "inspection_date": day.isoformat()}


def approval_form(needs_land: bool, land_mu: float, support: bool = False) -> dict[str, Any]:
    """The landing unit's approval form (落地审批表)."""
    form: dict[str, Any] = {"needs_land": needs_land, "one_case_support": support, "summary": "项目概况见附件", "opinion": "请审议"}
    if needs_land:
        form["land_mu"] = land_mu
    return form


def signed(day: date, amount: int) -> dict[str, Any]:
    """The signing form: the contract's day and amount."""
    return {"signed_date": day.isoformat(), "contract_amount": amount, "opinion": "已签订投资协议"}


def landed(day: date, leader: str) -> dict[str, Any]:
    """The landing form: the company registered on `day`, the county leader heading its liaison group."""
    return {"company_registered": True, "registered_date": day.isoformat(), "liaison_leader": leader, "opinion": "已注册项目公司"}


@dataclass(frozen=True)
class Step:
    """One submission of a project's ready lifecycle task at a moment, and the file attached to the task first, if any."""

    at: datetime
    data: dict[str, Any]
    upload: Optional[Upload] = None


@dataclass(frozen=True)
class Plan:
    """A demo project: its registration (units by code, the deputy by login), when, its steps, and whether its unit posts progress."""

    registration: dict[str, Any]
    registered: datetime
    steps: list[Step]
    notes: bool = True

    @property
    def name(self) -> str:
        """The project's name, which the other steps find it by."""
        return str(self.registration["name"])


def _walk(moments: list[datetime], submissions: list[dict[str, Any]], uploads: Optional[dict[int, Upload]] = None) -> list[Step]:
    """Steps pairing each submission with its moment (and, by position, the file attached to its task)."""
    assert len(moments) == len(submissions)
    return [Step(at, data, (uploads or {}).get(i)) for i, (at, data) in enumerate(zip(moments, submissions))]


def _project(name: str, investor: str, category: str, total: int, unit: str, deputy: str, channel: str, **more: Any) -> dict[str, Any]:
    """A registration with its landing unit and deputy named by code and login (resolved when it is replayed)."""
    return dict(name=name, investor=investor, category=category, total_investment=total, unit=unit, deputy=deputy,
                source_channel=channel, **more)


def plans(cal: Calendar) -> list[Plan]:
    """The demo projects and their dates: those that score in the closed quarter count from its first day (`D`), the
    rest from today (`R`), so that today's lights are the same whenever the demo is loaded."""
    D, R = cal.quarter_day, cal.ago
    feasible = [INTENT, FEASIBLE]
    return [
        Plan(_project("年产5万吨新型环保材料项目", "浙江绿材科技有限公司", "industrial", 80000, "jinpan", "fx_gongye", "business",
                      is_manufacturing=True, fund_request=5000, attracting="jsj", foreign_capital=3000, out_of_province_capital=60000),
             D(-100), _walk([D(-92), D(-80), D(-72), D(-58), D(-44), D(-22), D(-12), D(4), D(20), D(33)],
                            feasible + [approval_form(True, 45), PASS, PASS, negotiated(cal.quarter_date(-26)), JOINT, APPROVE,
                                     signed(cal.quarter_date(20), 80000), landed(cal.quarter_date(28), "王志刚")],
                            {8: Upload("投资协议书（签字盖章版）.pdf", samples.pdf("投资协议书", [
                                "甲方：磐安县人民政府", "乙方：浙江绿材科技有限公司", "项目：年产5万吨新型环保材料项目",
                                "总投资：8亿元，用地约45亩，落户金磐开发区"])),
                             9: Upload("项目公司营业执照.pdf", samples.pdf("营业执照", [
                                 "名称：磐安绿材新材料有限公司", "类型：有限责任公司", "住所：磐安县金磐开发区"]))})),
        Plan(_project("大盘山康养度假综合体", "杭州颐和健康产业集团", "health", 35000, "dapan", "fx_wenlv", "kinship", fund_request=2000),
             D(-70), _walk([D(-62), D(-50), D(-40), D(-30), D(-18), D(0), R(60), R(20)],
                           feasible + [approval_form(True, 38), PASS, PASS, negotiated(cal.quarter_date(-3)), JOINT, APPROVE])),
        Plan(_project("中药材精深加工产业园", "磐五味药业股份有限公司", "industrial", 120000, "gyyq", "fx_gongye", "business",
                      is_manufacturing=True, is_major=True, fund_request=8000),
             R(75), _walk([R(70), R(62), R(55), R(48), R(40), R(30), R(24), R(14), R(6)],
                          feasible + [approval_form(True, 86), PASS, PASS, negotiated(cal.date_ago(32)), JOINT, APPROVE, APPROVE])),
        Plan(_project("高山茶文化旅游小镇", "上海茗途文旅发展有限公司", "tourism", 28000, "yushan", "fx_wenlv", "resident"),
             R(200), _walk([R(188), R(172), R(160), R(148), R(132)], feasible + [approval_form(True, 18), PASS, PASS]), notes=False),
        Plan(_project("智能电动工具生产基地", "永康锐力工具有限公司", "industrial", 32000, "xincheng", "fx_gongye", "entrusted",
                      is_manufacturing=True, fund_request=3000),
             R(80), _walk([R(72), R(58), R(40)], feasible + [approval_form(True, 28)],
                          {2: Upload("落地审批表（扫描件）.pdf", samples.pdf("磐安县招商引资项目落地审批表", [
                              "项目名称：智能电动工具生产基地", "落地单位：新城开发建设中心", "总投资：3.2亿元", "用地面积：28亩"]))})),
        Plan(_project("磐安香菇数字农业示范园", "浙江菇源农业科技有限公司", "agriculture", 6000, "jianshan", "fx_nongye", "team"),
             D(0), _walk([D(6), R(35)], feasible), notes=False),
        Plan(_project("乌石村民宿集群", "金华山居旅游开发有限公司", "tourism", 3000, "anwen", "fx_wenlv", "kinship"),
             R(45), _walk([R(20)], [INTENT])),
        Plan(_project("新能源汽车零部件项目", "宁波驰远汽配有限公司", "industrial", 75000, "jinpan", "fx_gongye", "business",
                      is_manufacturing=True), R(3), []),
        Plan(_project("城区商业综合体", "金华万联商业管理有限公司", "commerce", 45000, "xinwo", "fx_wenlv", "other"),
             R(150), _walk([R(140), R(128), R(118), R(110), R(100), R(88), R(80), R(72), R(62), R(52), R(44), R(30)],
                           feasible + [approval_form(True, 55), PASS, PASS, negotiated(cal.date_ago(92)), JOINT,
                                    APPROVE, APPROVE, APPROVE, APPROVE, signed(cal.date_ago(30), 45000)])),
        Plan(_project("养老服务中心", "浙江福寿康养服务有限公司", "health", 9000, "renchuan", "fx_wenlv", "entrusted", needs_land=False),
             R(110), _walk([R(100), R(90), R(80), R(70), R(60), R(48), R(36)],
                           feasible + [approval_form(False, 0, True), PASS, PASS, negotiated(cal.date_ago(50)), JOINT])),
        Plan(_project("竹木制品加工项目", "义乌竹语家居有限公司", "industrial", 2000, "fangqian", "fx_gongye", "team", is_manufacturing=True),
             R(160), _walk([R(150)], [{"has_intent": False, "opinion": "投资方考察后放弃", "reason": "投资方资金链调整，暂无投资意向"}])),
        Plan(_project("生物医药研发中心", "杭州康析生物科技有限公司", "industrial", 15000, "jinpan", "fx_gongye", "business",
                      is_manufacturing=True),
             R(130), _walk([R(122), R(110)], [INTENT, {"decision": "fail", "opinion": "环评条件不具备，论证未通过"}])),
        Plan(_project("高山蔬菜冷链仓储中心", "浙江鲜达冷链物流有限公司", "agriculture", 8000, "fangqian", "fx_nongye", "team"),
             R(26), _walk([R(19), R(11)], feasible)),
    ]


@dataclass
class Cast:
    """What the steps act on, read once: officials by login (in id order), unit ids by code, project ids by name, the file store."""

    users: dict[str, User]
    units: dict[str, int]
    store: FileStore
    projects: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, session: Session, store: FileStore) -> Cast:
        """The county's officials and units as the session holds them."""
        users = {u.username: u for u in session.scalars(select(User).order_by(User.id))}
        return cls(users, {code: uid for code, uid in session.execute(select(OrgUnit.code, OrgUnit.id))}, store)

    def actor(self, task: Task) -> User:
        """The first official who may act on the task in their own right."""
        return next(u for u in self.users.values() if can_act(u, task))

    def staff(self, unit_id: int, action: str) -> Optional[User]:
        """The first active official of a unit allowed `action` there."""
        return next((u for u in self.users.values() if u.active and u.unit_id == unit_id
                     and permissions.allowed(u, action, units=(unit_id,))), None)

    def attach(self, session: Session, upload: Upload, actor: User, project: str, task_id: Optional[int] = None) -> None:
        """Attach a file to a project (or one of its tasks) as `actor`, through the attachment store."""
        files.attach(session, self.store, upload, actor, project_id=self.projects[project], max_bytes=MAX_BYTES, task_id=task_id)


def ready_lifecycle_task(session: Session, project_id: int) -> Task:
    """The project's one ready task of its lifecycle (its 交办单 run beside it)."""
    query = select(Task).join(Instance, Instance.id == Task.instance_id).where(
        Task.project_id == project_id, Task.status == "ready", Instance.process_id == lifecycle.LIFECYCLE)
    return session.scalars(query).one()


def schedule(replay: Replay, cast: Cast) -> None:
    """Put every project's registration, steps and progress notes on the replay; the county's work begins with the first."""
    every_plan = plans(replay.calendar)
    replay.begins = min(plan.registered for plan in every_plan)
    for index, plan in enumerate(every_plan):
        replay.chain([(plan.registered, _registration(cast, plan))] + [(step.at, _completion(cast, plan.name, step)) for step in plan.steps])
        if plan.notes:
            every = timedelta(days=17 + index % 4)
            moment = plan.registered + every
            count = 0
            while moment < replay.calendar.now - timedelta(days=2):
                replay.add(moment + timedelta(hours=5), _note(cast, plan.name, count))
                moment += every
                count += 1


def _registration(cast: Cast, plan: Plan) -> Action:
    def register(session: Session) -> None:
        data = dict(plan.registration)
        unit = cast.units[data.pop("unit")]
        data["landing_unit_id"], data["deputy_id"] = unit, cast.users[data.pop("deputy")].id
        if "attracting" in data:
            data["attracting_unit_id"] = cast.units[data.pop("attracting")]
        registrar = cast.staff(unit, "project.register")
        assert registrar is not None
        cast.projects[plan.name] = lifecycle.register(session, data, registrar).project_id
    return register


def _completion(cast: Cast, name: str, step: Step) -> Action:
    def complete(session: Session) -> None:
        task = ready_lifecycle_task(session, cast.projects[name])
        actor = cast.actor(task)
        if step.upload is not None:
            cast.attach(session, step.upload, actor, name, task.id)
        runtime.complete_task(session, task.id, actor, step.data, at_meeting=True)  # meetings of the past decided these
    return complete


def _note(cast: Cast, name: str, count: int) -> Action:
    def post(session: Session) -> None:
        project = session.get_one(Project, cast.projects[name])
        author = cast.staff(project.landing_unit_id, "progress.post")
        if project.status != "active" or author is None:
            return
        choices = NOTES.get(project.stage) or NOTES["intent"]
        content, problems = choices[count % len(choices)]
        progress.post_note(session, project.id, author, {"content": content, "problems": problems})
    return post
