import type { Diagnostic } from '@whittle/spec';
import type { CliIo } from './cli-error.js';
import { renderDiagnostic } from './render-diagnostic.js';

/**
 * How `run` and `optimize` end. With --json: `report` with the diagnostics added last, and nothing else, so that
 * stdout parses. Otherwise: every diagnostic above info on stderr, then the command's own text.
 */
export function printOutcome(
  io: CliIo,
  json: boolean | undefined,
  report: Record<string, unknown>,
  diagnostics: readonly Diagnostic[],
  printText: () => void,
): void {
  if (json) {
    io.stdout(`${JSON.stringify({ ...report, diagnostics }, null, 2)}\n`);
    return;
  }
  for (const diagnostic of diagnostics)
    if (diagnostic.severity !== 'info') io.stderr(`${renderDiagnostic(diagnostic)}\n`);
  printText();
}
