"""The permission policy: every role and every action that is not a BPMN lane, declared once; every check asks here.

A role is a key an official holds (table `user_role`), with its Chinese name and the duty the
county policy (磐安县招商引资工作全生命周期管理实施意见) gives it. Who acts on a workflow task is
decided by the task's lane: `bpmn/lanes.yaml` maps each lane to one of these roles and a scope,
and the deploy checks refuse a lane whose role is not declared here. Everything else an
official may do — register a lead, correct a record, edit a ledger, publish a ranking, read
the whole county — is an action below, granted to roles with a scope:

- `county`: anywhere in the county;
- `unit`: only what belongs to the official's own unit (a project it lands or attracted, its
  own enterprise list);
- `meeting`: only sittings of the meeting body whose role the official holds.

The policy is Python rather than a file under bpmn/: process owners edit bpmn/ and deploy it
as versions of one process, while actions are checked by code and hold for every process and
version at once, so they change with the code and its tests.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import AbstractSet, Optional, Protocol

from engine.platform.errors import NotAllowed
from engine.platform.messages import N_

COUNTY = "county"
UNIT = "unit"
MEETING = "meeting"
SCOPE_NAMES = {COUNTY: "全县", UNIT: "本单位", MEETING: "本会议"}


class Official(Protocol):
    """What a check reads of an official: a database user or the web session's copy of one."""

    @property
    def active(self) -> bool: ...

    @property
    def unit_id(self) -> Optional[int]: ...

    @property
    def roles(self) -> AbstractSet[str]: ...


@dataclass(frozen=True)
class Role:
    """A role key's Chinese name and its duty under the county policy."""

    name: str
    duty: str


@dataclass(frozen=True)
class Action:
    """Something an official does outside a workflow task: its Chinese name and role → scope grants."""

    name: str
    grants: Mapping[str, str]


ROLES: Mapping[str, Role] = {
    "leading_group": Role(N_("招商引资工作领导小组"), "县委、县政府主要领导任双组长；审议研判通过的项目（领导小组会议），统筹安排重大项目落地平台"),
    "office": Role(N_("领导小组办公室"), "设在县投资促进中心：统筹招商引资工作，受理审批表，组织研判小组会议和领导小组会议，"
                                   "组建项目招引专班和服务专班，全程监测预警，维护招引企业库、要素保障和考核"),
    "assessment_group": Role(N_("项目研判小组"), "每月研判上报的项目，重大项目随时研判"),
    "deputy": Role(N_("分管副县长"), "按分管领域招商：召集可行性论证，任项目招引专班组长，审核或审批项目"),
    "county_head": Role(N_("县长"), "按审批层级同意或审批项目；作为县主要领导审定需县级协调解决的问题"),
    "county_head_meeting": Role(N_("县长办公会议"), "审议需供地20（工业30）亩以上的项目"),
    "standing_committee": Role(N_("县委常委会"), "审议供地50亩以上的项目"),
    "landing_unit": Role(N_("落地单位"), "区块、乡镇（街道）：招商引资工作的主体，登记线索、洽谈、填报审批表、签约、落地、开工，"
                                 "及时更新项目进展，报送需县级协调的问题"),
    "dev_zone": Role(N_("金磐开发区"), "供地50亩（含）以下的项目经研判和领导小组审议后自行审批"),
    "project_team": Role(N_("项目招引专班"), "分管副县长任组长，落地单位、行业主管部门、要素保障部门为成员：洽谈、考察，签写考察联审意见"),
    "industry_dept": Role(N_("行业主管部门"), "经商局、文广旅体局、发改局、中药产业促进中心等：协同谋划和收集项目信息，"
                                     "提供目标招引企业名单，参加项目招引专班"),
    "element_dept": Role(N_("要素保障部门"), "自然资源和规划局（土地）、财政局（资金）等：协同谋划，参加项目招引专班，登记供地和盘活低效用地"),
    "liaison_office": Role(N_("驻外招商联络处"), "驻外招商引才联络处：收集招商、引才信息，向县投资促进中心报送（登记项目线索）"),
    "supervision_office": Role(N_("县督考办"), "以清单形式下发交办单，督办交办事项"),
    "responsible_unit": Role(N_("交办事项责任单位"), "办理交办单中本单位的事项并报告办理情况"),
    "process_owner": Role(N_("流程管理员"), "维护项目全生命周期流程和决策表：建模、校验、部署、回滚、迁移"),
    "admin": Role(N_("系统管理员"), "处理卡住的流程，改派任务，管理人员与角色，核验审计链"),
}

# Every county-level body reads the whole county's projects, ledgers and meetings; towns and zones read their own.
COUNTY_READERS = (
    "office", "admin", "process_owner", "deputy", "county_head", "assessment_group", "leading_group",
    "county_head_meeting", "standing_committee", "supervision_office", "industry_dept", "element_dept",
)
# The county bodies that follow supervision and assessment for every unit (交办单, scores, notices, targets).
SUPERVISORS = ("office", "supervision_office", "county_head", "deputy", "leading_group", "admin")


def _grant(scope: str, *roles: str) -> dict[str, str]:
    """`roles` each granted `scope`."""
    return dict.fromkeys(roles, scope)


ACTIONS: Mapping[str, Action] = {
    # projects and the ledger
    "ledger.view_county": Action("查看全县项目（台账、项目页、预警看板、进展、导出）", _grant(COUNTY, *COUNTY_READERS)),
    "project.register": Action("登记项目线索", {**_grant(COUNTY, "office"),
                                           **_grant(UNIT, "landing_unit", "liaison_office", "industry_dept")}),
    "project.import": Action("从Excel导入项目线索", _grant(COUNTY, "office")),
    "project.correct": Action("修改项目信息", {**_grant(COUNTY, "office"), **_grant(UNIT, "landing_unit")}),
    "project.flag_major": Action("认定重大项目", _grant(COUNTY, "office")),
    "project.take_charge": Action("担任项目的分管县领导", _grant(COUNTY, "deputy")),
    "meetings.view": Action("查看会议与会议纪要", _grant(COUNTY, *COUNTY_READERS)),
    "meeting.convene": Action("召开会议并记录议定结果", {
        **_grant(COUNTY, "office"),
        **_grant(MEETING, "assessment_group", "leading_group", "county_head_meeting", "standing_committee"),
    }),
    "dashboard.view": Action("查看驾驶舱", {
        **_grant(COUNTY, "office", "supervision_office", "county_head", "deputy", "leading_group", "admin"),
        **_grant(UNIT, "landing_unit"),
    }),
    "attachment.add": Action("上传附件（项目、任务、交办单）", {
        **_grant(COUNTY, "office", "supervision_office", "deputy", "county_head", "industry_dept", "element_dept"),
        **_grant(UNIT, "landing_unit", "project_team", "dev_zone", "liaison_office"),
    }),
    "attachment.remove_any": Action("删除他人上传的附件", _grant(COUNTY, "admin")),
    "comment.post": Action("发表项目会商意见", {
        **_grant(COUNTY, "office", "supervision_office", "deputy", "county_head", "industry_dept", "element_dept",
                 "assessment_group", "leading_group"),
        **_grant(UNIT, "landing_unit", "project_team", "dev_zone", "liaison_office"),
    }),
    # supervision, warnings and assessment
    "progress.post": Action("填报项目进展", {**_grant(COUNTY, "office", "admin"),
                                        **_grant(UNIT, "landing_unit", "project_team", "dev_zone")}),
    "alerts.receive": Action("接收全县预警通知（任务逾期、进展未更新、产业基金、无人可办任务、通报批评）", _grant(COUNTY, "office")),
    "warning_settings.edit": Action("修改预警设置", _grant(COUNTY, "office", "admin")),
    "supervision.view_county": Action("查看全县交办单、考核得分、月度通报和年度目标", _grant(COUNTY, *SUPERVISORS)),
    "coordination.submit": Action("报送需县级协调解决的问题", _grant(UNIT, "landing_unit")),
    "coordination.respond": Action("代表本单位办理交办事项（据此授予交办事项责任单位角色）",
                                   _grant(UNIT, "landing_unit", "industry_dept", "element_dept", "supervision_office")),
    "coordination.criticise": Action("记录通报批评", _grant(COUNTY, "office", "supervision_office")),
    "coordination.receive_overdue": Action("接收交办事项逾期通知", _grant(COUNTY, "office", "supervision_office")),
    "assessment.edit": Action("下达年度目标、修改计分规则", _grant(COUNTY, "office")),
    "ranking.publish": Action("定稿考核排名", _grant(COUNTY, "office")),
    "notice.generate": Action("生成每月通报", _grant(COUNTY, "office")),
    # elements
    "elements.view": Action("查看要素保障台账", _grant(COUNTY, *COUNTY_READERS)),
    "elements.settings": Action("修改要素保障设置", _grant(COUNTY, "office")),
    "fund.edit": Action("登记和冲销产业基金拨付", _grant(COUNTY, "office")),
    "land.edit": Action("登记和冲销供地、盘活低效用地记录", _grant(COUNTY, "element_dept")),
    # the target-enterprise database
    "enterprise.maintain": Action("录入、修改、导入招引企业并转为项目线索", {**_grant(COUNTY, "office"),
                                                             **_grant(UNIT, "landing_unit", "industry_dept")}),
    "enterprise.manage": Action("维护整个招引企业库和“1+3+3”产业标签", _grant(COUNTY, "office")),
    # process owners and administrators
    "definitions.manage": Action("建模、校验、部署、回滚流程定义并迁移在办项目", _grant(COUNTY, "process_owner")),
    "admin.operate": Action("运维管理：处理流程、改派任务、管理人员与角色、核验审计链", _grant(COUNTY, "admin")),
}


def action(key: str) -> Action:
    """The declared action `key`; an undeclared key is a programming error."""
    try:
        return ACTIONS[key]
    except KeyError:
        raise KeyError(f"权限策略中没有动作“{key}”") from None


def allowed(user: Official, key: str, *, units: Optional[Collection[Optional[int]]] = None,
            meeting: Optional[str] = None) -> bool:
    """Whether an active `user` may do action `key`.

    `units` are the units the thing belongs to (a project's landing and attracting unit, an
    entry's source unit): a `unit` grant needs the user's unit among them. `meeting` is the
    role of the meeting body a sitting belongs to: a `meeting` grant needs that role. Left
    out, they ask whether the user may do the action anywhere at all (to show a menu entry
    or a form; the engine asks again with the thing in hand).
    """
    if not user.active:
        return False
    grants = action(key).grants
    for role in user.roles:
        scope = grants.get(role)
        if scope == COUNTY:
            return True
        if scope == UNIT and (units is None or user.unit_id in units):
            return True
        if scope == MEETING and meeting in (None, role):
            return True
    return False


def county_wide(user: Official, key: str) -> bool:
    """Whether `user` may do action `key` anywhere in the county (not only for their own unit or meeting)."""
    grants = action(key).grants
    return user.active and any(grants.get(role) == COUNTY for role in user.roles)


def require(user: Official, key: str, message: str, *, units: Optional[Collection[Optional[int]]] = None,
            meeting: Optional[str] = None) -> None:
    """Raise NotAllowed(`message`) unless `allowed(user, key, units=…, meeting=…)`."""
    if not allowed(user, key, units=units, meeting=meeting):
        raise NotAllowed(message)


def roles_for(key: str, scope: Optional[str] = None) -> frozenset[str]:
    """The roles granted action `key` (only those with `scope` when given)."""
    return frozenset(role for role, granted in action(key).grants.items() if scope in (None, granted))


def is_role(key: object) -> bool:
    """Whether `key` is a declared role."""
    return isinstance(key, str) and key in ROLES


def role_name(key: str) -> str:
    """The Chinese name of a role (an undeclared key, held from before, shows as itself)."""
    role = ROLES.get(key)
    return role.name if role else key


def role_names() -> dict[str, str]:
    """Every declared role key with its Chinese name, in declaration order."""
    return {key: role.name for key, role in ROLES.items()}
