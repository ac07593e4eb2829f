"""The BPMN/DMN core: safe XML, FEEL, sandbox, definitions and deploy, runtime, timers, migration; it knows no domain."""
