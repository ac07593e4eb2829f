"""The demo county: units, officials with roles, a dozen projects at different stages and the target-enterprise lists."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.projects import lifecycle
from engine.enterprises import catalog
from engine.elements import fund, land
from engine.workflow import runtime
from engine.platform import permissions
from engine.platform.clock import local_today
from engine.enterprises.models import EnterpriseEntry, IndustryTag
from engine.platform.models import OrgUnit, Project, Task, User, UserRole
from engine.platform.org import can_act, hash_password

DEMO_PASSWORD = "zhikong2026"

UNITS: list[tuple[str, str, str, bool]] = [
    ("tzcj", "县投资促进中心（领导小组办公室）", "office", False),
    ("dkb", "县督考办", "office", False),
    ("xw", "县委", "leadership", False),
    ("xzf", "县人民政府", "leadership", False),
    ("jinpan", "金磐开发区", "zone", True),
    ("xincheng", "新城开发建设中心", "zone", False),
    ("gyyq", "磐安工业园区", "zone", False),
    ("anwen", "安文街道", "town", False),
    ("xinwo", "新渥街道", "town", False),
    ("jianshan", "尖山镇", "town", False),
    ("yushan", "玉山镇", "town", False),
    ("renchuan", "仁川镇", "town", False),
    ("dapan", "大盘镇", "town", False),
    ("fangqian", "方前镇", "town", False),
    ("jsj", "县经商局", "department", False),
    ("wgltj", "县文广旅体局", "department", False),
    ("fgj", "县发改局", "department", False),
    ("zycy", "中药产业促进中心", "department", False),
    ("zrzy", "县自然资源和规划局", "department", False),
    ("czj", "县财政局", "department", False),
    ("zzb", "县委组织部（人才办）", "department", False),
]

# username, name, title, unit code, roles
USERS: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("admin", "系统管理员", "系统管理员", "tzcj", ("admin", "process_owner")),
    ("bangongshi", "陈晓明", "领导小组办公室主任", "tzcj", ("office", "process_owner")),
    ("yanpan", "周丽", "研判小组会议秘书", "tzcj", ("assessment_group",)),
    ("lingdao", "吴建国", "领导小组会议秘书", "tzcj", ("leading_group",)),
    ("xianzhang", "郑国强", "县长", "xzf", ("county_head",)),
    ("xzbgh", "孙敏", "县长办公会议秘书", "xzf", ("county_head_meeting",)),
    ("changwei", "冯涛", "县委常委会秘书", "xw", ("standing_committee",)),
    ("fx_gongye", "王志刚", "分管工业副县长", "xzf", ("deputy",)),
    ("fx_wenlv", "李红梅", "分管文旅副县长", "xzf", ("deputy",)),
    ("fx_nongye", "赵永强", "分管农业副县长", "xzf", ("deputy",)),
    ("jinpan", "刘洋", "金磐开发区招商科", "jinpan", ("landing_unit", "project_team", "dev_zone")),
    ("xincheng", "何静", "新城开发建设中心招商科", "xincheng", ("landing_unit", "project_team")),
    ("gyyq", "马超", "磐安工业园区招商科", "gyyq", ("landing_unit", "project_team")),
    ("anwen", "钱芳", "安文街道招商办", "anwen", ("landing_unit", "project_team")),
    ("xinwo", "黄磊", "新渥街道招商办", "xinwo", ("landing_unit", "project_team")),
    ("jianshan", "林佳", "尖山镇招商办", "jianshan", ("landing_unit", "project_team")),
    ("yushan", "徐伟", "玉山镇招商办", "yushan", ("landing_unit", "project_team")),
    ("renchuan", "朱婷", "仁川镇招商办", "renchuan", ("landing_unit", "project_team")),
    ("dapan", "胡斌", "大盘镇招商办", "dapan", ("landing_unit", "project_team")),
    ("fangqian", "高燕", "方前镇招商办", "fangqian", ("landing_unit", "project_team")),
    ("jingshang", "罗军", "县经商局", "jsj", ("industry_dept",)),
    ("ziranziyuan", "梁平", "县自然资源和规划局", "zrzy", ("element_dept",)),
    ("dukao", "宋洁", "县督考办", "dkb", ("supervision_office",)),
    ("rencaiban", "方雅", "县委组织部人才办", "zzb", ("industry_dept",)),
]


def load_org(session: Session) -> bool:
    """Create the demo units and officials; on a demo database made by an older version add only the missing ones.

    Returns False when nothing was created: every demo unit and official exists, or the
    database holds another organisation (no demo office unit), which is left untouched.
    """
    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    if units and UNITS[0][0] not in units:
        return False
    missing_units = [OrgUnit(code=c, name=n, kind=k, is_dev_zone=d) for c, n, k, d in UNITS if c not in units]
    session.add_all(missing_units)
    session.flush()
    units.update({u.code: u for u in missing_units})
    known = set(session.scalars(select(User.username)))
    missing_users = [row for row in USERS if row[0] not in known]
    hashed = hash_password(DEMO_PASSWORD) if missing_users else ""
    for username, name, title, unit, roles in missing_users:
        user = User(username=username, display_name=name, title=title, password_hash=hashed, unit_id=units[unit].id)
        user.role_rows = [UserRole(role=r) for r in roles]
        session.add(user)
    session.flush()
    return bool(missing_units or missing_users)


INTENT = {"has_intent": True, "opinion": "投资方已明确投资意向"}
FEASIBLE = {"decision": "pass", "opinion": "可行性与落地必要性论证通过"}
PASS = {"decision": "pass", "opinion": "同意"}
NEGOTIATED = {"decision": "continue", "opinion": "洽谈完成，已组织落地考察", "inspection_date": "2026-09-15"}
JOINT = {"decision": "pass", "opinion": "专班联审同意落地"}
APPROVE = {"decision": "approve", "opinion": "同意"}
SIGN = {"signed_date": "2026-10-20", "contract_amount": 52000, "opinion": "已签订投资协议"}
LAND = {"company_registered": True, "registered_date": "2026-11-01", "liaison_leader": "王志刚", "opinion": "已注册项目公司"}


def _form(needs_land: bool, land_mu: float, support: bool = False) -> dict[str, Any]:
    form: dict[str, Any] = {"needs_land": needs_land, "one_case_support": support, "summary": "项目概况见附件", "opinion": "请审议"}
    if needs_land:
        form["land_mu"] = land_mu
    return form


def _to_joint_inspection(needs_land: bool, land_mu: float, support: bool = False) -> list[dict[str, Any]]:
    """The submissions of a project from its intent to the joint inspection."""
    return [INTENT, FEASIBLE, _form(needs_land, land_mu, support), PASS, PASS, NEGOTIATED, JOINT]


def _projects(units: dict[str, int], deputies: dict[str, int]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(registration, task submissions in order) for each demo project."""
    g, w, n = deputies["fx_gongye"], deputies["fx_wenlv"], deputies["fx_nongye"]
    return [
        (dict(name="年产5万吨新型环保材料项目", investor="浙江绿材科技有限公司", category="industrial", is_manufacturing=True,
              total_investment=80000, landing_unit_id=units["jinpan"], deputy_id=g, source_channel="team", fund_request=5000),
         _to_joint_inspection(True, 45) + [APPROVE, SIGN, LAND]),
        (dict(name="大盘山康养度假综合体", investor="杭州颐和健康产业集团", category="health", total_investment=35000,
              landing_unit_id=units["dapan"], deputy_id=w, source_channel="kinship", fund_request=2000),
         _to_joint_inspection(True, 38) + [APPROVE]),
        (dict(name="中药材精深加工产业园", investor="磐五味药业股份有限公司", category="industrial", is_manufacturing=True,
              total_investment=120000, landing_unit_id=units["gyyq"], deputy_id=g, source_channel="business", is_major=True,
              fund_request=8000),
         _to_joint_inspection(True, 86) + [APPROVE, APPROVE]),
        (dict(name="高山茶文化旅游小镇", investor="上海茗途文旅发展有限公司", category="tourism", total_investment=28000,
              landing_unit_id=units["yushan"], deputy_id=w, source_channel="resident"),
         [INTENT, FEASIBLE, _form(True, 18), PASS, PASS]),
        (dict(name="智能电动工具生产基地", investor="永康锐力工具有限公司", category="industrial", is_manufacturing=True,
              total_investment=32000, landing_unit_id=units["xincheng"], deputy_id=g, source_channel="entrusted",
              fund_request=3000),
         [INTENT, FEASIBLE, _form(True, 28)]),
        (dict(name="磐安香菇数字农业示范园", investor="浙江菇源农业科技有限公司", category="agriculture", total_investment=6000,
              landing_unit_id=units["jianshan"], deputy_id=n, source_channel="team"),
         [INTENT, FEASIBLE]),
        (dict(name="乌石村民宿集群", investor="金华山居旅游开发有限公司", category="tourism", total_investment=3000,
              landing_unit_id=units["anwen"], deputy_id=w, source_channel="kinship"),
         [INTENT]),
        (dict(name="新能源汽车零部件项目", investor="宁波驰远汽配有限公司", category="industrial", is_manufacturing=True,
              total_investment=75000, landing_unit_id=units["jinpan"], deputy_id=g, source_channel="business"),
         []),
        (dict(name="城区商业综合体", investor="金华万联商业管理有限公司", category="commerce", total_investment=45000,
              landing_unit_id=units["xinwo"], deputy_id=w, source_channel="other"),
         [INTENT, FEASIBLE, _form(True, 55), PASS, PASS, NEGOTIATED, JOINT, APPROVE, APPROVE, APPROVE, APPROVE, SIGN]),
        (dict(name="养老服务中心", investor="浙江福寿康养服务有限公司", category="health", total_investment=9000,
              landing_unit_id=units["renchuan"], deputy_id=w, source_channel="entrusted", needs_land=False),
         _to_joint_inspection(False, 0, True)),
        (dict(name="竹木制品加工项目", investor="义乌竹语家居有限公司", category="industrial", is_manufacturing=True,
              total_investment=2000, landing_unit_id=units["fangqian"], deputy_id=g, source_channel="team"),
         [{"has_intent": False, "opinion": "投资方考察后放弃", "reason": "投资方资金链调整，暂无投资意向"}]),
        (dict(name="生物医药研发中心", investor="杭州康析生物科技有限公司", category="industrial", is_manufacturing=True,
              total_investment=15000, landing_unit_id=units["jinpan"], deputy_id=g, source_channel="business"),
         [INTENT, {"decision": "fail", "opinion": "环评条件不具备，论证未通过"}]),
    ]


def load_projects(session: Session) -> int:
    """Register the demo projects (once) and fill the target-enterprise lists (once); returns the projects registered."""
    count = 0 if session.scalar(select(func.count(Project.id))) else _register_projects(session)
    if count:
        _record_elements(session)
    load_enterprises(session)
    return count


def _record_elements(session: Session) -> None:
    """A payment from the industrial fund and this year's land records, dated in the recent past."""
    today = local_today()
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(("bangongshi", "ziranziyuan"))))}
    landed = session.scalars(select(Project).where(Project.name == "年产5万吨新型环保材料项目")).one()
    fund.record_disbursement(session, users["bangongshi"], {
        "project_id": landed.id, "amount": 2000, "paid_on": (today - timedelta(days=10)).isoformat(), "note": "首期设备补助"})
    for days, parcel, area, use, project in ((40, "金磐开发区工业地块JP-2026-07", 45, "industrial", landed.id),
                                             (25, "新渥街道商服地块XW-2026-03", 30, "other", None),
                                             (12, "磐安工业园区工业地块GY-2026-11", 20, "industrial", None)):
        land.record_supply(session, users["ziranziyuan"], {
            "supplied_on": (today - timedelta(days=days)).isoformat(), "parcel": parcel, "area_mu": area, "land_use": use,
            "project_id": project or ""})
    land.record_revitalisation(session, users["ziranziyuan"], {
        "done_on": (today - timedelta(days=30)).isoformat(), "description": "尖山镇闲置厂房整治", "area_mu": 85})


def _register_projects(session: Session) -> int:
    """Register the demo projects and drive each to its stage through the real engine."""
    units = {u.code: u.id for u in session.scalars(select(OrgUnit))}
    users = list(session.scalars(select(User)))
    deputies = {u.username: u.id for u in users if permissions.allowed(u, "project.take_charge")}
    registrar = {u.unit_id: u for u in users if permissions.allowed(u, "project.register")}
    count = 0
    for registration, steps in _projects(units, deputies):
        outcome = lifecycle.register(session, registration, registrar[registration["landing_unit_id"]])
        for data in steps:
            task = session.scalars(
                select(Task).where(Task.project_id == outcome.project_id, Task.status == "ready").limit(1)
            ).one()
            actor = next(u for u in users if can_act(u, task))
            runtime.complete_task(session, task.id, actor, data, at_meeting=True)  # past meetings decided these
        count += 1
    return count


# source unit code, enterprise, tag, list kind, region, contact, phone, planned 万元 or None, status, notes
ENTERPRISES: list[tuple[str, str, str, str, str, str, str, Optional[int], str, str]] = [
    ("jsj", "浙江精锐智能装备股份有限公司", "装备制造", "target", "绍兴市", "沈总", "0575-8800001", 50000, "following", "已两次上门对接"),
    ("jsj", "宁波甬新新材料科技有限公司", "新材料", "target", "宁波市", "陆经理", "0574-8800002", 30000, "pending", ""),
    ("jsj", "杭州芯联电子科技有限公司", "电子信息", "target", "杭州市", "许总", "0571-8800003", 20000, "pending", ""),
    ("zycy", "磐五味药业股份有限公司", "中医药(康养)", "target", "金华市", "叶董", "0579-8800004", 120000, "pending", "已转为中药材精深加工产业园"),
    ("zycy", "浙江本草源中药饮片有限公司", "中医药(康养)", "target", "杭州市", "蒋经理", "0571-8800005", 15000, "following", "有意扩建饮片车间"),
    ("jinpan", "苏州汇精精密机械有限公司", "装备制造", "target", "苏州市", "顾总", "0512-8800006", 40000, "following", ""),
    ("xincheng", "上海启明电子元器件有限公司", "电子信息", "target", "上海市", "吴经理", "021-88000007", 25000, "pending", ""),
    ("gyyq", "江西锋源新材料有限公司", "新材料", "target", "新余市", "万总", "0790-8800008", 60000, "pending", "主导产业链补链企业"),
    ("wgltj", "杭州山水间文旅发展有限公司", "文化旅游", "intent", "杭州市", "楼经理", "0571-8800009", 8000, "following", ""),
    ("jianshan", "浙江云岭生态农业有限公司", "生态农业", "intent", "丽水市", "潘总", "0578-8800010", 3000, "pending", ""),
    ("anwen", "金华康寿养老服务有限公司", "中医药(康养)", "intent", "金华市", "施经理", "0579-8800011", 5000, "abandoned", "投资方调整计划"),
    ("fgj", "华东清洁能源投资有限公司", "现代服务业", "soe", "南京市", "赵处长", "025-88000012", 100000, "pending", "央企合作储备"),
    ("fgj", "浙江天衡精密电子有限公司", "电子信息", "military_civil", "杭州市", "钱总", "0571-8800013", 12000, "pending", "军民融合"),
    ("zzb", "中医药现代化研究团队", "中医药(康养)", "talent", "上海市", "张教授", "13800000014", None, "following", "拟带成果来磐创业"),
    ("zzb", "新材料博士创业团队", "新材料", "talent", "杭州市", "李博士", "13800000015", None, "pending", ""),
]
CONVERTED = {"磐五味药业股份有限公司": "中药材精深加工产业园"}


def load_enterprises(session: Session) -> int:
    """Fill the target-enterprise database once, each entry entered by its source unit's staff (or the office for it).

    The entry of an already registered demo project is linked to it as 已转线索, as the
    conversion would have left it.
    """
    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    if UNITS[0][0] not in units or session.scalar(select(func.count(EnterpriseEntry.id))):
        return 0
    users = list(session.scalars(select(User).order_by(User.id)))
    office = next(u for u in users if permissions.allowed(u, "enterprise.manage"))
    tags = {t.name: t.id for t in session.scalars(select(IndustryTag))}
    count = 0
    for code, name, tag, kind, region, contact, phone, planned, status, notes in ENTERPRISES:
        unit = units[code]
        actor = next((u for u in users if u.unit_id == unit.id and permissions.allowed(u, "enterprise.maintain")), office)
        data = dict(name=name, tag_id=tags.get(tag) or next(iter(tags.values())), source_unit_id=unit.id, list_kind=kind,
                    region=region, contact_name=contact, contact_phone=phone, planned_investment=planned, status=status, notes=notes)
        entry = catalog.create(session, data, actor)
        project = session.scalars(select(Project).where(Project.name == CONVERTED.get(name, ""))).first()
        if project is not None:
            entry.status, entry.project_id = "converted", project.id
        count += 1
    session.flush()
    return count
