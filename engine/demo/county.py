"""The demo county's standing data: units, officials with roles, the target-enterprise lists and this year's fund and land records."""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.enterprises import catalog
from engine.elements import fund, land
from engine.platform import permissions
from engine.platform.clock import local_today
from engine.enterprises.models import EnterpriseEntry, IndustryTag
from engine.platform.models import OrgUnit, Project, User, UserRole
from engine.platform.org import hash_password

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


def record_elements(session: Session) -> None:
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
