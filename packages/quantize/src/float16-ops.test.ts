/**
 * The half-precision kernel tables of float16-ops.ts checked against the ONNX Runtime the tests run: a single-node
 * float16 model per op (input and output cast from and to float32), its optimized form read back to see whether ORT
 * ran the node in float16 or wrapped it in casts of its own; bfloat16 nodes either load or fail to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, GraphBuilder, type Model, Tensor, tensorType } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import { ort, sessionOptions } from '@whittle/test-fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { type HalfType, ortCpuHalfKernels, ortCpuHasHalfKernel, schemaAcceptsHalf } from './float16-ops.js';

type Input = { shape: number[] } | { tensor: Tensor } | 'omitted';
interface Probe {
  op: string;
  inputs: Input[];
  attributes?: Record<string, number | number[] | string>;
  /** Output element types: 'T' for the half type. */
  outputs?: ('T' | DataType)[];
  /** Opsets the probe is valid at (its input/attribute form). */
  opsets: number[];
}

const ints = (name: string, values: number[]) =>
  ({
    tensor: Tensor.fromArray(name, DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt))),
  }) as const;
const floats = (name: string, values: number[]) =>
  ({ tensor: Tensor.fromArray(name, DataType.FLOAT, [values.length], Float32Array.from(values)) }) as const;
const t = (...shape: number[]) => ({ shape });

const ALL = [9, 13, 17];
const PROBES: Probe[] = [
  ...['Relu', 'Sigmoid', 'Exp', 'Abs', 'Round', 'Sign', 'IsNaN', 'Identity', 'Softmax', 'Flatten'].map(
    (op): Probe => ({
      op,
      inputs: [t(2, 3)],
      outputs: op === 'IsNaN' ? [DataType.BOOL] : ['T'],
      opsets: op === 'Round' ? [11, 13, 17] : ALL,
    }),
  ),
  ...['Add', 'Mul', 'Max', 'Min', 'Mod'].map(
    (op): Probe => ({
      op,
      inputs: [t(2, 3), t(2, 3)],
      attributes: op === 'Mod' ? { fmod: 1 } : {},
      opsets: op === 'Mod' ? [11, 13, 17] : ALL,
    }),
  ),
  { op: 'Clip', inputs: [t(2, 3), t(), t()], opsets: [11, 13, 17] },
  { op: 'Conv', inputs: [t(1, 2, 5, 5), t(3, 2, 3, 3)], opsets: ALL },
  { op: 'MatMul', inputs: [t(2, 3), t(3, 4)], opsets: ALL },
  { op: 'Gemm', inputs: [t(2, 3), t(3, 4), t(4)], opsets: ALL },
  { op: 'Concat', inputs: [t(2, 3), t(2, 3)], attributes: { axis: 0 }, opsets: ALL },
  { op: 'Transpose', inputs: [t(2, 3)], attributes: { perm: [1, 0] }, opsets: ALL },
  { op: 'Reshape', inputs: [t(2, 3), ints('shape', [3, 2])], opsets: ALL },
  { op: 'Gather', inputs: [t(4, 3), ints('indices', [0, 2])], opsets: ALL },
  { op: 'Expand', inputs: [t(1, 3), ints('shape', [2, 3])], opsets: ALL },
  { op: 'Slice', inputs: [t(4, 4), ints('starts', [1]), ints('ends', [3])], opsets: [13, 17] },
  { op: 'Squeeze', inputs: [t(1, 3), ints('axes', [0])], opsets: [13, 17] },
  { op: 'Unsqueeze', inputs: [t(3), ints('axes', [0])], opsets: [13, 17] },
  { op: 'Split', inputs: [t(4, 3), ints('split', [2, 2])], outputs: ['T', 'T'], opsets: [13, 17] },
  {
    op: 'GatherElements',
    inputs: [t(2, 3), { tensor: Tensor.fromArray('i', DataType.INT64, [2, 3], new BigInt64Array(6)) }],
    opsets: [13, 17],
  },
  { op: 'LayerNormalization', inputs: [t(2, 3), t(3), t(3)], opsets: [17] },
  {
    op: 'Where',
    inputs: [{ tensor: Tensor.fromArray('c', DataType.BOOL, [3], Uint8Array.of(1, 0, 1)) }, t(2, 3), t(2, 3)],
    opsets: [17],
  },
  { op: 'Pad', inputs: [t(2, 3), ints('pads', [1, 1, 1, 1])], opsets: [13, 17] },
  { op: 'ReduceMean', inputs: [t(2, 3)], attributes: { axes: [1] }, opsets: [13, 17] },
  {
    op: 'Resize',
    inputs: [t(1, 2, 4, 4), 'omitted', floats('scales', [1, 1, 2, 2])],
    attributes: { mode: 'nearest' },
    opsets: [13, 17],
  },
  { op: 'BatchNormalization', inputs: [t(1, 2, 3, 3), t(2), t(2), t(2), t(2)], opsets: [17] },
  { op: 'GlobalAveragePool', inputs: [t(1, 2, 4, 4)], opsets: ALL },
  { op: 'LSTM', inputs: [t(2, 1, 3), t(1, 16, 3), t(1, 16, 4)], attributes: { hidden_size: 4 }, opsets: [17] },
];

function probeModel(probe: Probe, type: HalfType, opset: number): { model: Model; feeds: Record<string, ort.Tensor> } {
  const b = new GraphBuilder('probe');
  const feeds: Record<string, ort.Tensor> = {};
  const inputs = probe.inputs.map((input, index) => {
    if (input === 'omitted') return undefined;
    if ('tensor' in input) return b.initializer(input.tensor);
    const x = b.input(`x${index}`, DataType.FLOAT, input.shape);
    const count = input.shape.reduce((product, dim) => product * dim, 1);
    feeds[x.name] = new ort.Tensor(
      'float32',
      Float32Array.from({ length: count }, (_, i) => 0.1 * (1 + ((i * 7) % 5)) * (probe.op === 'LSTM' ? 0.1 : 1)),
      input.shape,
    );
    return b.op('Cast', [x], { attributes: { to: type } });
  });
  const outputs = b.node(probe.op, inputs, {
    name: 'probe',
    attributes: probe.attributes ?? {},
    outputs: (probe.outputs ?? ['T']).length,
  });
  (probe.outputs ?? ['T']).forEach((kind, index) => {
    const value = outputs[index]!;
    if (kind === 'T') {
      value.type = tensorType(type);
      b.output(b.op('Cast', [value], { attributes: { to: DataType.FLOAT } }), tensorType(DataType.FLOAT));
    } else b.output(value, tensorType(kind));
  });
  return { model: b.model({ opsetImports: [{ domain: '', version: opset }] }), feeds };
}

const directory = mkdtempSync(join(tmpdir(), 'whittle-float16-probe-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let counter = 0;

/** 'native', 'wrapped' (ORT cast around the node), or the load error. */
async function probeOrt(probe: Probe, type: HalfType, opset: number): Promise<string> {
  const { model, feeds } = probeModel(probe, type, opset);
  const path = join(directory, `probe-${counter++}.onnx`);
  try {
    const session = await ort.InferenceSession.create(encodeModel(model), {
      ...sessionOptions({ logSeverityLevel: 4 }),
      optimizedModelFilePath: path,
    });
    await session.run(feeds);
    await session.release();
  } catch (error) {
    return String((error as Error).message).split('\n')[0]!;
  }
  const signature = (graph: Model['graph']) => {
    const node = graph.nodes.find((candidate) => candidate.opType === probe.op);
    return node ? node.inputs.map((value) => value?.name ?? '').join(',') : 'gone';
  };
  return signature(readModel(path).model.graph) === signature(model.graph) ? 'native' : 'wrapped';
}

describe('ONNX Runtime CPU half kernels', () => {
  it('float16: ORT runs natively exactly the ops ORT_CPU_FLOAT16 lists, and wraps the others in casts', async () => {
    const mismatches: string[] = [];
    for (const probe of PROBES) {
      for (const opset of probe.opsets) {
        const found = await probeOrt(probe, DataType.FLOAT16, opset);
        expect(['native', 'wrapped'], `${probe.op}-${opset}: ${found}`).toContain(found);
        const listed = ortCpuHasHalfKernel(probe.op, opset, DataType.FLOAT16);
        if ((found === 'native') !== listed) mismatches.push(`${probe.op}-${opset}: ${found}, listed ${listed}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('bfloat16: listed ops load and run; schema-valid others have no kernel; the rest fail the type check', async () => {
    const mismatches: string[] = [];
    for (const probe of PROBES.filter((candidate) => candidate.opsets.includes(17))) {
      const found = await probeOrt(probe, DataType.BFLOAT16, 17);
      const runs = found === 'native';
      const noKernel = found.includes('Could not find an implementation');
      if (runs !== ortCpuHasHalfKernel(probe.op, 17, DataType.BFLOAT16)) mismatches.push(`${probe.op}: ${found}`);
      if ((runs || noKernel) !== schemaAcceptsHalf(probe.op, 17, DataType.BFLOAT16)) {
        mismatches.push(`${probe.op} schema: ${found}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('lists the kernels per opset', () => {
    expect(ortCpuHalfKernels(9, DataType.FLOAT16)).not.toContain('Clip');
    expect(ortCpuHalfKernels(13, DataType.FLOAT16)).toContain('Clip');
    expect(ortCpuHalfKernels(11, DataType.BFLOAT16)).toEqual([]);
    expect(ortCpuHalfKernels(13, DataType.BFLOAT16)).toContain('Reshape');
  });
});
