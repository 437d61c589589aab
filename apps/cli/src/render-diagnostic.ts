import type { Diagnostic } from '@whittle/spec';

/** `warning [CODE] pass: message (where)` */
export function renderDiagnostic(diagnostic: Diagnostic): string {
  const where = diagnostic.location?.node ?? diagnostic.location?.value ?? diagnostic.location?.path;
  const pass = diagnostic.pass ? `${diagnostic.pass}: ` : '';
  return `${diagnostic.severity} [${diagnostic.code}] ${pass}${diagnostic.message}${where ? ` (${where})` : ''}`;
}
