/**
 * The reference kernels of @whittle/ir (which fold-constants evaluates with) against the ONNX conformance suite:
 * every single-node test of `node/` whose node the registry evaluates is compared with the expected outputs. The
 * test lives here rather than in @whittle/ir because reading the test data needs @whittle/onnx, which depends on
 * @whittle/ir.
 */
import { readFileSync } from 'node:fs';
import {
  DataType,
  dataTypeName,
  evaluateNode,
  float16BitsToFloat32,
  kernelOperators,
  type Model,
  StringData,
  type Tensor,
  type Value,
} from '@whittle/ir';
import { decodeTensor } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import { type ConformanceCase, conformanceAvailable, conformanceCases } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';

const RELATIVE = 1e-6;
const ABSOLUTE = 1e-7;
/**
 * Elu and Selu compute alpha × (exp(x) − 1) in float32: the reference's exp may be an ulp off ours, and the
 * subtraction turns that ulp of 1 (6e-8, times alpha × gamma) into a large relative error near zero.
 */
const ABSOLUTE_BY_OP: Readonly<Record<string, number>> = { Elu: 1e-6, Selu: 1e-6 };

/** Distance in units in the last place between two float32 values (0 when equal, NaN = NaN). */
function float32Ulps(a: number, b: number): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  if (a === b) return 0;
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  const order = (value: number) => (value < 0 ? -2147483648 - value : value);
  return Math.abs(order(bits[0]!) - order(bits[1]!));
}

/** Undefined when equal within tolerance, else what differs. */
export function tensorMismatch(actual: Tensor, expected: Tensor, absolute = ABSOLUTE): string | undefined {
  if (actual.dataType !== expected.dataType) {
    return `type ${dataTypeName(actual.dataType)} vs ${dataTypeName(expected.dataType)}`;
  }
  if (actual.dims.join(',') !== expected.dims.join(',')) return `dims [${actual.dims}] vs [${expected.dims}]`;
  if (expected.dataType === DataType.STRING) {
    const left = actual.strings();
    const right = expected.strings();
    return left.join('\0') === right.join('\0') ? undefined : 'strings differ';
  }
  const left = actual.toArray();
  const right = expected.toArray();
  for (let index = 0; index < right.length; index++) {
    const a = left[index]!;
    const b = right[index]!;
    switch (expected.dataType) {
      case DataType.FLOAT:
      case DataType.DOUBLE: {
        const x = a as number;
        const y = b as number;
        if (Number.isNaN(x) && Number.isNaN(y)) continue;
        if (x === y) continue;
        const close = Math.abs(x - y) <= absolute + RELATIVE * Math.abs(y);
        const fewUlps = expected.dataType === DataType.FLOAT && float32Ulps(x, y) <= 2;
        if (!close && !fewUlps) return `element ${index}: ${x} vs ${y}`;
        continue;
      }
      case DataType.FLOAT16: {
        const x = float16BitsToFloat32(a as number);
        const y = float16BitsToFloat32(b as number);
        if ((Number.isNaN(x) && Number.isNaN(y)) || Math.abs((a as number) - (b as number)) <= 1) continue;
        return `element ${index}: ${x} vs ${y} (float16)`;
      }
      case DataType.BFLOAT16:
        if (Math.abs((a as number) - (b as number)) <= 1) continue;
        return `element ${index}: bits ${a} vs ${b} (bfloat16)`;
      default:
        if (a !== b) return `element ${index}: ${a} vs ${b}`;
    }
  }
  return undefined;
}

interface Outcome {
  id: string;
  op: string;
  status: 'passed' | 'failed' | 'unsupported' | 'skipped';
  detail?: string;
}

/**
 * A test data file as a tensor. ONNX 1.12 wrote bfloat16 test data as UINT16 tensors of the same bits, so a UINT16
 * file for a value the model declares BFLOAT16 is read as BFLOAT16.
 */
function loadTensor(path: string, declared?: Value): Tensor | undefined {
  try {
    const tensor = decodeTensor(new Uint8Array(readFileSync(path)));
    const type = declared?.type;
    if (type?.kind === 'tensor' && type.elementType === DataType.BFLOAT16 && tensor.dataType === DataType.UINT16) {
      tensor.dataType = DataType.BFLOAT16;
    }
    // Force the data now, so a malformed file is a skip rather than a kernel failure.
    if (!(tensor.data instanceof StringData)) tensor.bytes();
    return tensor;
  } catch {
    return undefined; // sequences, optionals and maps are not tensors
  }
}

function runCase(testCase: ConformanceCase): Outcome {
  let model: Model;
  try {
    model = readModel(testCase.modelPath).model;
  } catch (error) {
    return { id: testCase.id, op: '?', status: 'skipped', detail: (error as Error).message };
  }
  const graph = model.graph;
  const node = graph.nodes[0];
  if (graph.nodeCount !== 1 || !node) return { id: testCase.id, op: '?', status: 'skipped', detail: 'not one node' };
  const opset = model.opsetVersion('') ?? 1;
  let evaluated = false;
  for (const dataSet of testCase.dataSets) {
    const inputs: (Tensor | undefined)[] = [];
    for (const value of node.inputs) {
      if (!value) {
        inputs.push(undefined);
        continue;
      }
      const position = graph.inputs.indexOf(value);
      const tensor =
        value.constant ??
        (position >= 0 && dataSet.inputs[position] ? loadTensor(dataSet.inputs[position]!, value) : undefined);
      if (!tensor) return { id: testCase.id, op: node.opType, status: 'skipped', detail: 'non-tensor input' };
      inputs.push(tensor);
    }
    const outputs = evaluateNode(node, inputs, opset);
    if (!outputs) {
      if (evaluated) return { id: testCase.id, op: node.opType, status: 'failed', detail: 'refused one data set only' };
      return { id: testCase.id, op: node.opType, status: 'unsupported' };
    }
    evaluated = true;
    for (const [index, value] of node.outputs.entries()) {
      if (!value) continue;
      const position = graph.outputs.indexOf(value);
      const file = dataSet.outputs[position];
      const expected = file ? loadTensor(file, value) : undefined;
      if (!expected) return { id: testCase.id, op: node.opType, status: 'skipped', detail: 'non-tensor output' };
      const mismatch = tensorMismatch(outputs[index]!, expected, ABSOLUTE_BY_OP[node.opType]);
      if (mismatch) {
        return {
          id: testCase.id,
          op: node.opType,
          status: 'failed',
          detail: `${dataSet.name} output ${index}: ${mismatch}`,
        };
      }
    }
  }
  return { id: testCase.id, op: node.opType, status: 'passed' };
}

describe.runIf(conformanceAvailable())('reference kernels against the ONNX conformance suite', () => {
  const supported = new Set(kernelOperators());
  const cases = conformanceCases(['node', 'pytorch-operator', 'pytorch-converted', 'simple']);

  it('evaluates every supported single-node test to the expected outputs', () => {
    const outcomes = cases.map(runCase);
    const claimed = outcomes.filter((outcome) => outcome.status === 'passed' || outcome.status === 'failed');
    const failures = outcomes.filter((outcome) => outcome.status === 'failed');
    const passed = claimed.length - failures.length;
    const refusedOps = new Set(
      outcomes.filter((outcome) => outcome.status === 'unsupported' && supported.has(outcome.op)).map((o) => o.id),
    );
    console.info(
      `conformance: ${cases.length} tests, ${claimed.length} single-node tests evaluated, ${passed} passed, ${failures.length} failed; ` +
        `refused by a registered kernel: ${[...refusedOps].join(', ') || 'none'}`,
    );
    expect(failures.map((failure) => `${failure.id}: ${failure.detail}`)).toEqual([]);
    // Guard against a registry that silently stops evaluating: the suite exercises most registered operators.
    const covered = new Set(claimed.map((outcome) => outcome.op));
    expect(covered.size).toBeGreaterThanOrEqual(60);
    expect(passed).toBeGreaterThanOrEqual(250);
  });

  it('covers the operators constant folding needs in real models', () => {
    const covered = new Set(
      cases
        .map(runCase)
        .filter((outcome) => outcome.status === 'passed')
        .map((o) => o.op),
    );
    for (const op of [
      'Shape',
      'Gather',
      'Concat',
      'Unsqueeze',
      'Squeeze',
      'Reshape',
      'Slice',
      'Cast',
      'Range',
      'ConstantOfShape',
      'Expand',
      'Add',
      'Div',
      'Pow',
      'Sqrt',
      'Equal',
      'Where',
      'ReduceMean',
      'MatMul',
    ]) {
      expect(covered.has(op), op).toBe(true);
    }
  });
});
