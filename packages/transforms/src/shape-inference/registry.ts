/** Every op's shape inference, by op type (default ONNX domain). */
import { castInferrers } from './casts.js';
import type { Inferrer } from './context.js';
import { controlFlowInferrers } from './control-flow.js';
import { convPoolInferrers } from './conv-pool.js';
import { elementwiseInferrers } from './elementwise.js';
import { matmulInferrers } from './matmul.js';
import { miscInferrers } from './misc.js';
import { normalizationInferrers } from './normalization.js';
import { quantizationInferrers } from './quantization.js';
import { recurrentInferrers } from './recurrent.js';
import { reductionInferrers } from './reductions.js';
import { resizeInferrers } from './resize.js';
import { sequenceInferrers } from './sequences.js';
import { shapeOpInferrers } from './shape-ops.js';

export const defaultInferrers: ReadonlyMap<string, Inferrer> = new Map(
  Object.entries({
    ...elementwiseInferrers,
    ...castInferrers,
    ...shapeOpInferrers,
    ...reductionInferrers,
    ...normalizationInferrers,
    ...convPoolInferrers,
    ...matmulInferrers,
    ...recurrentInferrers,
    ...resizeInferrers,
    ...controlFlowInferrers,
    ...sequenceInferrers,
    ...quantizationInferrers,
    ...miscInferrers,
  }),
);

/** Op types (default domain) that shape inference handles. */
export function supportedOps(): string[] {
  return [...defaultInferrers.keys()].sort();
}
