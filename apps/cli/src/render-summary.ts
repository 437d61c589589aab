import { formatBytes, formatCount, formatTable } from './format.js';
import type { ModelSummary } from './inspect-model.js';

/** The human-readable form of `whittle inspect`. */
export function renderSummary(summary: ModelSummary): string {
  const lines: string[] = [];
  if (summary.file) lines.push(`${summary.file}  (${formatBytes(summary.fileBytes ?? 0)})`);
  lines.push(
    `IR version ${summary.irVersion}; opsets ${summary.opsets.map((entry) => `${entry.domain} ${entry.version}`).join(', ')}`,
  );
  if (summary.producer) lines.push(`producer ${summary.producer}`);
  lines.push('', 'Inputs');
  lines.push(formatTable(summary.inputs.map((value) => [`  ${value.name}`, value.type])));
  lines.push('', 'Outputs');
  lines.push(formatTable(summary.outputs.map((value) => [`  ${value.name}`, value.type])));
  lines.push('', `Nodes: ${formatCount(summary.nodes)} in ${summary.subgraphs + 1} graph(s)`);
  lines.push(formatTable(summary.operators.map((entry) => [`  ${entry.opType}`, formatCount(entry.count)])));
  lines.push('', `Parameters: ${formatCount(summary.parameters)} (${formatBytes(summary.weightBytes)})`);
  lines.push(
    formatTable(
      summary.weights.map((entry) => [
        `  ${entry.elementType}`,
        `${formatCount(entry.tensors)} tensors`,
        `${formatCount(entry.parameters)} parameters`,
        formatBytes(entry.bytes),
      ]),
    ),
  );
  return lines.join('\n');
}
