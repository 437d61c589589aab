/**
 * The measured cells of a quantization results row, shared by bench/quantization.mjs and
 * bench/quantization-speech.mjs: size ratio, SQNR and cosine of the first output, latency ratio.
 */
export function measuredCells(candidateBytes, referenceBytes, report) {
  const output = report.outputs[0];
  return [
    (candidateBytes / referenceBytes).toFixed(2),
    output.sqnr.toFixed(1),
    output.cosineSimilarity.toFixed(4),
    report.latency.ratio.toFixed(2),
  ];
}
