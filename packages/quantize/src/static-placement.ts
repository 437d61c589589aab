/**
 * Where `quantize-static` puts Q/DQ around each op: what each input is (activation, weight, bias, or left alone),
 * whether the op computes new values (fresh parameters from calibration) or only moves its input's (parameters
 * shared), and which activation after it is folded.
 *
 * - compute ops (Conv, ConvTranspose, Gemm, MatMul, Add, Mul, AveragePool, GlobalAveragePool, and any op type a
 *   user adds to `opTypes`): the first four (anchors) always, the others only when one of their float inputs is
 *   already quantized (next to the integer region; alone they would only add rounding): every float activation
 *   input gets a Q→DQ, constants become integers feeding DQ (weights
 *   per channel, other constants per tensor in the activation type, which ONNX Runtime's QLinearAdd/Mul require),
 *   biases int32, the output a Q→DQ with its own calibrated parameters;
 * - Concat: own parameters per input and for the output (QLinearConcat requantizes each input); without a
 *   calibrated output range the output covers the union of its inputs' quantized ranges, which is exact;
 * - data movement (Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Slice, Split, Pad with zero padding, Gather),
 *   MaxPool and Resize (except cubic, which overshoots): quantized only when their input already is, and their
 *   outputs share the input's scale and zero point, so ONNX Runtime drops the DQ/Q around them and the op runs on
 *   integers;
 * - a Relu, or a Clip with constant bounds, that alone reads a compute op's output is folded: the pair goes after
 *   it (Conv → Relu → Q), which ONNX Runtime fuses into one QLinearConv when the Q makes the activation redundant
 *   (asymmetric activations: the zero point is the type's minimum).
 */
import type { Node, Value } from '@whittle/ir';

export type InputRole = 'activation' | 'weight' | 'bias' | 'ignore';
export type PlacementKind = 'compute' | 'concat' | 'shared';

export interface OpPlacement {
  kind: PlacementKind;
  /** Quantized wherever it is (Conv, ConvTranspose, Gemm, MatMul); other ops only next to quantized tensors. */
  anchor: boolean;
  /** Role of each input by index; inputs past the end are activations for compute and concat ops, ignored else. */
  roles: readonly InputRole[];
  /** Outputs to quantize: their indices; `all` for every float output. */
  outputs: readonly number[] | 'all';
}

const COMPUTE: Readonly<Record<string, readonly InputRole[]>> = {
  Conv: ['activation', 'weight', 'bias'],
  ConvTranspose: ['activation', 'weight', 'bias'],
  Gemm: ['activation', 'weight', 'bias'],
  MatMul: ['activation', 'weight'],
  Add: ['activation', 'activation'],
  Mul: ['activation', 'activation'],
  AveragePool: ['activation'],
  GlobalAveragePool: ['activation'],
};

const SHARED: Readonly<Record<string, readonly InputRole[]>> = {
  Reshape: ['activation', 'ignore'],
  Transpose: ['activation'],
  Squeeze: ['activation', 'ignore'],
  Unsqueeze: ['activation', 'ignore'],
  Flatten: ['activation'],
  Slice: ['activation', 'ignore', 'ignore', 'ignore', 'ignore'],
  Split: ['activation', 'ignore'],
  Pad: ['activation', 'ignore', 'ignore', 'ignore'],
  Gather: ['activation', 'ignore'],
  MaxPool: ['activation'],
  Resize: ['activation', 'ignore', 'ignore', 'ignore'],
};

const ANCHORS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** How a default-domain node is quantized. Any op type without a rule is treated as a compute op. */
export function placementOf(node: Node): OpPlacement {
  const { opType } = node;
  if (opType === 'Concat') return { kind: 'concat', anchor: false, roles: [], outputs: [0] };
  if (opType === 'Resize' && node.stringAttribute('mode', 'nearest') === 'cubic') {
    return { kind: 'compute', anchor: false, roles: ['activation', 'ignore', 'ignore', 'ignore'], outputs: [0] };
  }
  const shared = SHARED[opType];
  if (shared) return { kind: 'shared', anchor: false, roles: shared, outputs: opType === 'Split' ? 'all' : [0] };
  const compute = COMPUTE[opType];
  if (compute) return { kind: 'compute', anchor: ANCHORS.has(opType), roles: compute, outputs: [0] };
  return { kind: 'compute', anchor: false, roles: [], outputs: 'all' };
}

export function roleOf(placement: OpPlacement, index: number): InputRole {
  return placement.roles[index] ?? (placement.kind === 'shared' ? 'ignore' : 'activation');
}

function constantNumbers(value: Value | undefined): number[] | undefined {
  const tensor = value?.constant;
  if (!tensor) return undefined;
  const array = tensor.toArray();
  return Array.from(array as ArrayLike<number | bigint>, Number);
}

/**
 * Why a shared-parameter op cannot share its input's parameters, or undefined when it can: Pad must pad with zero
 * (or reflect/edge), MaxPool must not return indices.
 */
export function sharingBlocker(node: Node, opset: number): string | undefined {
  if (node.opType === 'Pad') {
    const mode = node.stringAttribute('mode', 'constant');
    if (mode !== 'constant') return undefined;
    if (opset < 11) return (node.floatAttribute('value', 0) ?? 0) === 0 ? undefined : 'pads with a non-zero value';
    const value = node.input(2);
    if (!value) return undefined;
    const numbers = constantNumbers(value);
    return numbers?.every((number) => number === 0) ? undefined : 'pads with a non-zero or computed value';
  }
  if (node.opType === 'MaxPool' && node.output(1)?.isUsed) return 'returns indices';
  return undefined;
}

/** A Relu or constant-bound Clip folded into the op before it, with the range its output can take. */
export interface FoldedActivation {
  node: Node;
  output: Value;
  low: number;
  high: number;
}

function scalarOf(value: Value | undefined): number | undefined | null {
  if (!value) return undefined;
  const numbers = constantNumbers(value);
  return numbers && numbers.length === 1 ? numbers[0]! : null;
}

/** True when a value is returned by its graph or by a graph nested in it. */
export function isGraphOutput(value: Value): boolean {
  const graph = value.graph;
  if (!graph) return false;
  if (graph.outputs.includes(value)) return true;
  for (const nested of graph.nestedGraphs()) if (nested.outputs.includes(value)) return true;
  return false;
}

/**
 * The activation to fold after an op's output: a Relu or a Clip with constant bounds that is the output's only
 * reader (same graph, the output not returned by any graph).
 */
export function foldableActivation(output: Value, opset: number): FoldedActivation | undefined {
  if (output.uses.length !== 1 || isGraphOutput(output)) return undefined;
  const reader = output.uses[0]!;
  const node = reader.node;
  const result = node.output(0);
  if (reader.index !== 0 || node.graph !== output.graph || !result) return undefined;
  if (node.is('Relu')) return { node, output: result, low: 0, high: Number.POSITIVE_INFINITY };
  if (!node.is('Clip')) return undefined;
  if (opset < 11) {
    const low = node.floatAttribute('min', Number.NEGATIVE_INFINITY) ?? Number.NEGATIVE_INFINITY;
    const high = node.floatAttribute('max', Number.POSITIVE_INFINITY) ?? Number.POSITIVE_INFINITY;
    return { node, output: result, low, high };
  }
  const low = scalarOf(node.input(1));
  const high = scalarOf(node.input(2));
  if (low === null || high === null) return undefined;
  return {
    node,
    output: result,
    low: low ?? Number.NEGATIVE_INFINITY,
    high: high ?? Number.POSITIVE_INFINITY,
  };
}

/** Reading this input, an op needs each value's relative precision: small values matter as much as large ones. */
function needsRelativePrecision(node: Node, index: number): boolean {
  if (node.is('Log') || node.is('Reciprocal') || node.is('Sqrt')) return true;
  return node.is('Div') && index === 1;
}

/**
 * Ops through which small values stay small (scaled, squared, summed, moved): a value that reaches a Log through
 * them needs relative precision as much as the Log's input does (a spectrogram's STFT output, squared, summed by a
 * filterbank, then logged). Sub is not among them, so a layer norm's centring stops the search.
 */
const MAGNITUDE_PRESERVING = new Set([
  'Abs',
  'Add',
  'Clip',
  'Concat',
  'Flatten',
  'Gather',
  'MatMul',
  'Mul',
  'Pad',
  'Pow',
  'ReduceMean',
  'ReduceSum',
  'ReduceSumSquare',
  'Relu',
  'Reshape',
  'Slice',
  'Split',
  'Squeeze',
  'Sum',
  'Transpose',
  'Unsqueeze',
]);

/** How many ops the search follows from an output before giving up (the front-ends it is for are short). */
const RELATIVE_PRECISION_DEPTH = 8;

/**
 * The op reading (through magnitude-preserving ops, in the same graph) an op's output that needs relative precision
 * (Log, Reciprocal, Sqrt, a divisor), or undefined.
 */
export function relativePrecisionReader(output: Value): Node | undefined {
  let frontier: Value[] = [output];
  const seen = new Set<Value>(frontier);
  for (let depth = 0; depth < RELATIVE_PRECISION_DEPTH && frontier.length > 0; depth++) {
    const next: Value[] = [];
    for (const value of frontier) {
      for (const use of value.uses) {
        const reader = use.node;
        if (reader.graph !== output.graph) continue;
        if (needsRelativePrecision(reader, use.index)) return reader;
        if (!MAGNITUDE_PRESERVING.has(reader.opType) || (reader.domain !== '' && reader.domain !== 'ai.onnx')) continue;
        for (const produced of reader.outputs) {
          if (produced && !seen.has(produced)) {
            seen.add(produced);
            next.push(produced);
          }
        }
      }
    }
    frontier = next;
  }
  return undefined;
}
