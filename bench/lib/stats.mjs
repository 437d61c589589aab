// Small helpers for medians and table formatting.
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export const MB = 1e6;
export const mb = (bytes) => `${(bytes / MB).toFixed(1)} MB`;
export const seconds = (value) => `${value.toFixed(3)} s`;
export const ratio = (value) => (Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a');

/** `align`: one letter per column, 'l' or 'r' (default: first column left, the others right). */
export function table(header, rows, align = `l${'r'.repeat(header.length - 1)}`) {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => String(row[column] ?? '').length)));
  const line = (row) =>
    row
      .map((cell, column) =>
        align[column] === 'l' ? String(cell ?? '').padEnd(widths[column]) : String(cell ?? '').padStart(widths[column]),
      )
      .join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
