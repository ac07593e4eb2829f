// Properties-panel group "招引智控" for what the engine reads: a user task's lane (its role),
// form (formJsonSchemaFilename), due duration (dueIn) and ledger stage (stage), the decision
// a business rule task calls (calledDecisionId), the variable its result goes into (resultVariable)
// and gateway flow conditions.
import { SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited } from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;

function extensionValues(bo, type) {
  const ext = bo.get("extensionElements");
  return ext ? ext.get("values").filter((v) => is(v, type)) : [];
}

function ensureExtensions(element, bo, modeling, bpmnFactory) {
  let ext = bo.get("extensionElements");
  if (!ext) {
    ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: ext });
  }
  return ext;
}

export function getSpiffProperty(element, name) {
  const holder = extensionValues(getBusinessObject(element), "spiffworkflow:Properties")[0];
  const prop = holder && holder.get("properties").find((p) => p.name === name);
  return prop ? prop.value || "" : "";
}

export function setSpiffProperty(element, name, value, modeling, bpmnFactory) {
  const bo = getBusinessObject(element);
  const ext = ensureExtensions(element, bo, modeling, bpmnFactory);
  let holder = extensionValues(bo, "spiffworkflow:Properties")[0];
  if (!holder) {
    holder = bpmnFactory.create("spiffworkflow:Properties", { properties: [] });
    holder.$parent = ext;
    modeling.updateModdleProperties(element, ext, { values: [...ext.get("values"), holder] });
  }
  const props = holder.get("properties");
  const prop = props.find((p) => p.name === name);
  if (!value) {
    if (prop) modeling.updateModdleProperties(element, holder, { properties: props.filter((p) => p !== prop) });
  } else if (prop) {
    modeling.updateModdleProperties(element, prop, { value });
  } else {
    const created = bpmnFactory.create("spiffworkflow:Property", { name, value });
    created.$parent = holder;
    modeling.updateModdleProperties(element, holder, { properties: [...props, created] });
  }
}

function getDecision(element) {
  const ref = extensionValues(getBusinessObject(element), "spiffworkflow:CalledDecisionId")[0];
  return ref ? (ref.value || "").trim() : "";
}

function setDecision(element, value, modeling, bpmnFactory) {
  const bo = getBusinessObject(element);
  const ext = ensureExtensions(element, bo, modeling, bpmnFactory);
  const ref = extensionValues(bo, "spiffworkflow:CalledDecisionId")[0];
  if (ref) {
    modeling.updateModdleProperties(element, ref, { value });
  } else {
    const created = bpmnFactory.create("spiffworkflow:CalledDecisionId", { value });
    created.$parent = ext;
    modeling.updateModdleProperties(element, ext, { values: [...ext.get("values"), created] });
  }
}

function options(list, empty) {
  return () => [{ value: "", label: empty }, ...list];
}

function makeComponents(config) {
  const forms = (config.forms || []).map((f) => ({ value: f, label: f }));
  const decisions = (config.decisions || []).map((d) => ({ value: d, label: d }));
  const stages = config.stages || [];
  const laneRoles = config.lanes || {};

  function FormEntry({ element, id }) {
    const modeling = useService("modeling");
    const bpmnFactory = useService("bpmnFactory");
    return h(SelectEntry, {
      element, id, label: "表单（formJsonSchemaFilename）",
      getValue: () => getSpiffProperty(element, "formJsonSchemaFilename"),
      setValue: (v) => setSpiffProperty(element, "formJsonSchemaFilename", v, modeling, bpmnFactory),
      getOptions: options(forms, "（未选择）"),
    });
  }

  function DueEntry({ element, id }) {
    const modeling = useService("modeling");
    const bpmnFactory = useService("bpmnFactory");
    const debounce = useService("debounceInput");
    return h(TextFieldEntry, {
      element, id, debounce, label: "办理时限（dueIn）",
      description: "ISO-8601 时长，如 P15D（15天）、P2W、PT48H",
      getValue: () => getSpiffProperty(element, "dueIn"),
      setValue: (v) => setSpiffProperty(element, "dueIn", (v || "").trim(), modeling, bpmnFactory),
      validate: (v) => (!v || DURATION.test(v.trim()) ? null : "请填写 ISO-8601 时长，如 P15D"),
    });
  }

  function StageEntry({ element, id }) {
    const modeling = useService("modeling");
    const bpmnFactory = useService("bpmnFactory");
    return h(SelectEntry, {
      element, id, label: "台账阶段（stage）",
      getValue: () => getSpiffProperty(element, "stage"),
      setValue: (v) => setSpiffProperty(element, "stage", v, modeling, bpmnFactory),
      getOptions: options(stages, "（不改变阶段）"),
    });
  }

  function DecisionEntry({ element, id }) {
    const modeling = useService("modeling");
    const bpmnFactory = useService("bpmnFactory");
    return h(SelectEntry, {
      element, id, label: "调用的决策（calledDecisionId）",
      getValue: () => getDecision(element),
      setValue: (v) => setDecision(element, v, modeling, bpmnFactory),
      getOptions: options(decisions, "（未选择）"),
    });
  }

  function ResultEntry({ element, id }) {
    const modeling = useService("modeling");
    const bpmnFactory = useService("bpmnFactory");
    const debounce = useService("debounceInput");
    return h(TextFieldEntry, {
      element, id, debounce, label: "决策结果写入变量（resultVariable）",
      description: "留空：按输出列名称写入流程数据；填写变量名（如 tier_result）：整个决策结果（值、上下文或列表）写入该变量",
      getValue: () => getSpiffProperty(element, "resultVariable"),
      setValue: (v) => setSpiffProperty(element, "resultVariable", (v || "").trim(), modeling, bpmnFactory),
      validate: (v) => (!v || /^[A-Za-z_][A-Za-z0-9_]*$/.test(v.trim()) ? null : "请填写英文变量名，如 tier_result"),
    });
  }

  function LaneEntry({ element, id }) {
    const modeling = useService("modeling");
    const registry = useService("elementRegistry");
    const lanes = () => registry.filter((e) => is(e, "bpmn:Lane"));
    const laneOf = () => lanes().find((lane) => (getBusinessObject(lane).get("flowNodeRef") || []).includes(getBusinessObject(element)));
    return h(SelectEntry, {
      element, id, label: "泳道（办理角色）",
      description: "泳道名称在 lanes.yaml 中映射到角色和办理范围；也可以把任务直接拖进另一条泳道",
      getValue: () => (laneOf() ? laneOf().id : ""),
      setValue: (laneId) => {
        const target = registry.get(laneId);
        if (!target) return;
        const dy = target.y + target.height / 2 - (element.y + element.height / 2);
        modeling.moveShape(element, { x: 0, y: dy });
      },
      getOptions: () => [
        { value: "", label: "（不在任何泳道中）" },
        ...lanes().map((lane) => {
          const name = getBusinessObject(lane).get("name") || lane.id;
          const role = laneRoles[name];
          return { value: lane.id, label: role ? `${name} → ${role}` : `${name}（未在 lanes.yaml 中映射）` };
        }),
      ],
    });
  }

  function ConditionEntry({ element, id }) {
    const modeling = useService("modeling");
    const bpmnFactory = useService("bpmnFactory");
    const debounce = useService("debounceInput");
    return h(TextAreaEntry, {
      element, id, debounce, rows: 2, label: "条件表达式",
      description: "Python 表达式，如 decision == \"pass\"；默认路径不需要条件",
      getValue: () => {
        const expr = getBusinessObject(element).get("conditionExpression");
        return expr ? expr.get("body") || "" : "";
      },
      setValue: (v) => {
        const body = (v || "").trim();
        const expr = body ? bpmnFactory.create("bpmn:FormalExpression", { body }) : undefined;
        modeling.updateProperties(element, { conditionExpression: expr });
      },
    });
  }

  return { FormEntry, DueEntry, StageEntry, DecisionEntry, ResultEntry, ConditionEntry, LaneEntry };
}

function entriesFor(element, c) {
  if (is(element, "bpmn:UserTask")) {
    return [
      { id: "zk-lane", element, component: c.LaneEntry, isEdited: isSelectEntryEdited },
      { id: "zk-form", element, component: c.FormEntry, isEdited: isSelectEntryEdited },
      { id: "zk-dueIn", element, component: c.DueEntry, isEdited: isTextFieldEntryEdited },
      { id: "zk-stage", element, component: c.StageEntry, isEdited: isSelectEntryEdited },
    ];
  }
  if (is(element, "bpmn:BusinessRuleTask")) {
    return [
      { id: "zk-decision", element, component: c.DecisionEntry, isEdited: isSelectEntryEdited },
      { id: "zk-result", element, component: c.ResultEntry, isEdited: isTextFieldEntryEdited },
    ];
  }
  if (is(element, "bpmn:SequenceFlow")) {
    const source = getBusinessObject(element).get("sourceRef");
    if (source && (is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway"))) {
      return [{ id: "zk-condition", element, component: c.ConditionEntry, isEdited: isTextAreaEntryEdited }];
    }
  }
  return [];
}

export function zhikongPropertiesModule(config) {
  const components = makeComponents(config);
  function ZhikongPropertiesProvider(propertiesPanel) {
    propertiesPanel.registerProvider(500, this);
  }
  ZhikongPropertiesProvider.$inject = ["propertiesPanel"];
  ZhikongPropertiesProvider.prototype.getGroups = function (element) {
    return (groups) => {
      const entries = entriesFor(element, components);
      if (entries.length) groups.splice(1, 0, { id: "zhikong", label: "招引智控", entries });
      return groups;
    };
  };
  return { __init__: ["zhikongPropertiesProvider"], zhikongPropertiesProvider: ["type", ZhikongPropertiesProvider] };
}
