/**
 * BatchNormalization after Conv, ConvTranspose or Gemm is folded into that op before `quantize-static` places its
 * pairs. Left in place, the op's output is quantized *before* the normalization: one scale for all channels of the
 * raw output, then each channel multiplied by its own gamma / sqrt(var + eps) (a factor of 10 between channels is
 * common), so the rounding noise of the amplified channels grows by that factor and compounds layer after layer
 * (PP-OCR's classifier, exported without fusion: about 15 dB of SQNR at the logits with exact weights). Folded, the
 * pair sits on the normalized output, as ONNX Runtime's own quantizer expects after its pre-processing.
 *
 * The folded op's output takes the name of the normalization's output: a calibration table made on the unfused
 * model ranges that tensor (the normalized one), while the old name's range is that of the raw output.
 */
import type { Model, Node, Value } from '@whittle/ir';
import type { PassContext } from '@whittle/spec';
import { fuseBatchNorm } from '@whittle/transforms';

const FOLDABLE = new Set(['Conv', 'ConvTranspose', 'Gemm']);

interface Candidate {
  batchNorm: Node;
  /** The producer's output the normalization reads. */
  raw: Value;
  /** Name of the normalization's output. */
  normalized: string;
}

/** Fold every inference BatchNormalization that follows a Conv, ConvTranspose or Gemm; returns how many were. */
export async function foldBatchNorms(model: Model, context: PassContext<Model>): Promise<number> {
  const candidates: Candidate[] = [];
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) {
      if (!node.is('BatchNormalization')) continue;
      const raw = node.input(0);
      const normalized = node.output(0);
      if (!raw || !normalized || !raw.producer || !FOLDABLE.has(raw.producer.opType)) continue;
      candidates.push({ batchNorm: node, raw, normalized: normalized.name });
    }
  }
  if (candidates.length === 0) return 0;
  const result = await fuseBatchNorm.create({}).run(model, context);
  if (!result.changed) return 0;
  let folded = 0;
  for (const { batchNorm, raw, normalized } of candidates) {
    if (batchNorm.graph !== undefined) continue;
    folded++;
    // A normalization returned by the graph already gave the output its name.
    if (raw.name !== normalized) raw.name = normalized;
  }
  return folded;
}
