import Debug from 'debug';

type BpmnLogger = { debug: Debug.Debugger; error: Debug.Debugger; warn: Debug.Debugger };
const loggers = new Map<string, BpmnLogger>();

/**
 * bpmn-engine's own `Logger` (the same `debug` namespaces, so `DEBUG=bpmn-engine:*` still
 * works), made once per scope instead of three times per element per execution: its scopes are
 * element types, so this map stays small, and each `debug()` instance costs a TTY probe.
 */
export function BpmnDebugLogger(scope: string): BpmnLogger {
  let logger = loggers.get(scope);
  if (!logger) {
    logger = { debug: Debug(`bpmn-engine:${scope}`), error: Debug(`bpmn-engine:error:${scope}`), warn: Debug(`bpmn-engine:warn:${scope}`) };
    loggers.set(scope, logger);
  }
  return logger;
}
