// Keeps a multi-instance task's loopDataInputRef / loopDataOutputRef through import and save.
// SpiffWorkflow reads them as the name of a task-data variable (<bpmn:loopDataInputRef>items</…>),
// while bpmn-moddle treats them as references to a declared data input: it cannot resolve the
// name, reports "unresolved reference" and would write the task back without it. Each such name
// is put back as a reference to a detached bpmn:ItemAwareElement whose id is the name, which
// saveXML writes out as the same text.
const LOOP_REFERENCES = new Set(["loopDataInputRef", "loopDataOutputRef"]);

function localName(property) {
  return String(property || "").replace(/^bpmn:/, "");
}

// Whether an import warning is a loop reference holding a variable name (kept, so not a problem).
export function isLoopVariable(warning) {
  return Boolean(warning.element && warning.value && LOOP_REFERENCES.has(localName(warning.property)));
}

function KeepLoopReferences(eventBus, moddle) {
  eventBus.on("import.done", ({ warnings }) => {
    for (const warning of warnings || []) {
      if (isLoopVariable(warning)) {
        warning.element.set(localName(warning.property), moddle.create("bpmn:ItemAwareElement", { id: warning.value }));
      }
    }
  });
}
KeepLoopReferences.$inject = ["eventBus", "moddle"];

export const loopReferencesModule = { __init__: ["keepLoopReferences"], keepLoopReferences: ["type", KeepLoopReferences] };
