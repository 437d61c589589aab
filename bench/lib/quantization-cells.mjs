/**
 * The cells of a quantization results row, shared by bench/quantization.mjs and bench/quantization-speech.mjs.
 */

/** Size ratio, SQNR and cosine of the first output, latency ratio. */
export function measuredCells(candidateBytes, referenceBytes, report) {
  const output = report.outputs[0];
  return [
    (candidateBytes / referenceBytes).toFixed(2),
    output.sqnr.toFixed(1),
    output.cosineSimilarity.toFixed(4),
    report.latency.ratio.toFixed(2),
  ];
}

/** A row for a model and mode that failed: dashes for the measured cells, then the stage and the error. */
export function failedRow(model, mode, stage, error) {
  const reason = `${error.code ? `[${error.code}] ` : ''}${String(error.message).split('\n')[0].slice(0, 160)}`;
  return [model, mode, '-', '-', '-', '-', `**${stage} failed**: ${reason}`];
}
