/**
 * Real pretrained models (REFERENCE.md section 2) through a plain round trip: readModel -> writeModel, with
 * ONNX Runtime run on the original and on the written file, bit for bit. External data both ways.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Graph, type Model, type Tensor, verifyModel } from '@whittle/ir';
import {
  type CheckerResult,
  declaredInputs,
  onnxChecker,
  onnxCheckerAvailable,
  onnxSameModel,
  type OrtTensor,
  ort,
  type Outputs,
  outputsDifference,
  type RealModel,
  type RealModelId,
  realModel,
  realModelInputs,
  realModels,
  runOnnxRuntime,
} from '@whittle/test-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModel, writeModel } from './node.js';

interface Loaded {
  fixture: RealModel;
  model: Model;
  written: string;
}

let temp: string;
const loaded = new Map<RealModelId, Loaded>();
let checker: Map<string, CheckerResult> | undefined;

function opCounts(model: Model): Map<string, number> {
  const counts = new Map<string, number>();
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) counts.set(node.opType, (counts.get(node.opType) ?? 0) + 1);
  }
  return counts;
}

/** Tensors held by Constant nodes (value attribute), in every graph or in subgraphs only. */
function constantTensors(model: Model, where: 'all' | 'subgraphs' = 'all'): Tensor[] {
  const tensors: Tensor[] = [];
  for (const graph of model.graphs()) {
    if (where === 'subgraphs' && graph === model.graph) continue;
    for (const node of graph.nodes) {
      if (node.opType !== 'Constant') continue;
      const value = node.attributes.get('value');
      if (value?.type === 'tensor') tensors.push(value.value);
    }
  }
  return tensors;
}

function subgraphsOf(graph: Graph): Graph[] {
  const found: Graph[] = [];
  for (const node of graph.nodes) {
    for (const attribute of node.attributes.values()) {
      if (attribute.type === 'graph') found.push(attribute.value);
      if (attribute.type === 'graphs') found.push(...attribute.value);
    }
  }
  return found;
}

function graphDepth(graph: Graph): number {
  return 1 + Math.max(0, ...subgraphsOf(graph).map(graphDepth));
}

const bytesOf = (tensors: Tensor[]) => tensors.reduce((sum, tensor) => sum + tensor.byteLength, 0);

async function roundTripOutputs(original: string, written: string, feeds: Record<string, OrtTensor>) {
  const expected = await runOnnxRuntime(original, feeds);
  const actual = await runOnnxRuntime(written, feeds);
  return { expected, actual };
}

function allFinite(outputs: Outputs): boolean {
  return Object.values(outputs).every((tensor) =>
    (tensor.data as Float32Array).every((value) => Number.isFinite(value)),
  );
}

beforeAll(() => {
  temp = mkdtempSync(join(tmpdir(), 'whittle-real-models-'));
  for (const fixture of realModels) {
    const { model } = readModel(fixture.path);
    const written = join(temp, `${fixture.id}.onnx`);
    writeModel(model, written);
    loaded.set(fixture.id, { fixture, model, written });
  }
  // One Python process for every original and every written file.
  checker = onnxChecker([
    ...realModels.map((fixture) => fixture.path),
    ...[...loaded.values()].map((entry) => entry.written),
  ]);
});

afterAll(() => {
  if (temp) rmSync(temp, { recursive: true, force: true });
});

describe('real models', () => {
  it('are all present (resolved from node_modules)', () => {
    expect(realModels.map((fixture) => fixture.id)).toEqual([
      'ocr-det',
      'ocr-rec',
      'ocr-cls',
      'silero-vad-v5',
      'oww-melspectrogram',
      'oww-embedding',
      'oww-hey-jarvis',
      'oww-alexa',
    ]);
    for (const fixture of realModels) {
      expect(fixture.path).toContain('node_modules');
      expect(statSync(fixture.path).size).toBeGreaterThan(100_000);
    }
  });

  it.each(realModels.map((fixture) => [fixture.id, fixture] as const))(
    '%s round-trips with bit-identical ONNX Runtime outputs',
    async (id) => {
      const { fixture, model, written } = loaded.get(id)!;
      const feeds = realModelInputs(fixture, declaredInputs(model));
      const { expected, actual } = await roundTripOutputs(fixture.path, written, feeds);
      expect(Object.keys(expected).length).toBeGreaterThan(0);
      expect(allFinite(expected)).toBe(true);
      expect(outputsDifference(expected, actual)).toBeUndefined();
      // The same seed gives the same inputs.
      const again = realModelInputs(fixture, declaredInputs(model));
      for (const [name, tensor] of Object.entries(feeds)) expect(again[name]!.data).toEqual(tensor.data);
    },
  );

  it.each(realModels.map((fixture) => [fixture.id] as const))('%s: the IR verifier finds no error', (id) => {
    const { model, written } = loaded.get(id)!;
    expect(verifyModel(model).filter((diagnostic) => diagnostic.severity === 'error')).toEqual([]);
    const reread = readModel(written);
    expect(verifyModel(reread.model).filter((diagnostic) => diagnostic.severity === 'error')).toEqual([]);
    expect(reread.diagnostics.filter((diagnostic) => diagnostic.severity === 'error')).toEqual([]);
  });

  it.skipIf(!onnxCheckerAvailable())('onnx.checker accepts every written file whose original it accepts', () => {
    expect(checker).toBeDefined();
    const rejected: string[] = [];
    for (const { fixture, written } of loaded.values()) {
      const original = checker!.get(fixture.path)!;
      expect(original.ok, `${fixture.id}: original rejected: ${original.error}`).toBe(true);
      const result = checker!.get(written)!;
      if (original.ok && !result.ok) rejected.push(`${fixture.id}: ${result.error}`);
    }
    expect(rejected).toEqual([]);
  });

  it.skipIf(!onnxCheckerAvailable())(
    'written files parse to the same ModelProto as the originals (onnx Python)',
    () => {
      const entries = [...loaded.values()];
      const same = onnxSameModel(entries.map((entry) => [entry.fixture.path, entry.written] as const))!;
      expect(
        same.map((result, index) => `${entries[index]!.fixture.id}: ${result.ok ? 'same' : result.error}`),
      ).toEqual(entries.map((entry) => `${entry.fixture.id}: same`));
    },
  );
});

describe('structure the reader must see', () => {
  it('OCR detector: weights only in Constant nodes, no initializers, symbolic H/W, ConvTranspose', () => {
    const { model, written } = loaded.get('ocr-det')!;
    expect(model.graph.initializers).toHaveLength(0);
    const ops = opCounts(model);
    expect(ops.get('Constant')).toBe(342);
    expect(ops.get('Conv')).toBe(62);
    expect(ops.get('ConvTranspose')).toBe(2);
    const constants = constantTensors(model);
    expect(constants).toHaveLength(342);
    // Nearly the whole 4.7 MB file is Constant tensor data.
    expect(bytesOf(constants)).toBe(4_687_364);
    const input = model.graph.inputs[0]!;
    expect(input.name).toBe('x');
    expect(input.type).toMatchObject({
      kind: 'tensor',
      shape: ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'],
    });
    const reread = readModel(written).model;
    expect(reread.graph.initializers).toHaveLength(0);
    expect(bytesOf(constantTensors(reread))).toBe(4_687_364);
    expect(reread.graph.inputs[0]!.type).toEqual(input.type);
  });

  it('OCR recognizer: attention MatMul/Softmax, CTC output over 6625 classes', async () => {
    const { fixture, model } = loaded.get('ocr-rec')!;
    expect(model.graph.initializers).toHaveLength(0);
    const ops = opCounts(model);
    expect(ops.get('MatMul')).toBe(13);
    expect(ops.get('Softmax')).toBe(3);
    expect(bytesOf(constantTensors(model))).toBe(10_761_252);
    expect(model.graph.outputs[0]!.type).toMatchObject({
      kind: 'tensor',
      shape: [expect.any(String), expect.any(String), 6625],
    });
    const outputs = await runOnnxRuntime(fixture.path, realModelInputs(fixture, declaredInputs(model)));
    const output = Object.values(outputs)[0]!;
    expect(output.dims[0]).toBe(1);
    expect(output.dims[2]).toBe(6625);
    // Softmax rows sum to 1.
    const data = output.data as Float32Array;
    const first = data.subarray(0, 6625).reduce((sum, value) => sum + value, 0);
    expect(first).toBeCloseTo(1, 3);
  });

  it('OCR classifier: unfused BatchNormalization, two-class softmax', async () => {
    const { fixture, model } = loaded.get('ocr-cls')!;
    expect(model.graph.initializers).toHaveLength(0);
    expect(opCounts(model).get('BatchNormalization')).toBe(35);
    const outputs = await runOnnxRuntime(fixture.path, realModelInputs(fixture, declaredInputs(model)));
    expect([...Object.values(outputs)[0]!.dims]).toEqual([1, 2]);
  });

  it('Silero VAD v5: If nodes with LSTM subgraphs, weights in Constant nodes inside branches, state I/O', async () => {
    const { fixture, model, written } = loaded.get('silero-vad-v5')!;
    const ops = opCounts(model);
    expect(ops.get('If')).toBe(25);
    expect(ops.get('LSTM')).toBe(4);
    expect(ops.get('Constant')).toBe(341);
    expect(model.graph.initializers).toHaveLength(0);
    // The main graph has 5 nodes; everything else sits in subgraphs, nested four levels deep.
    expect(model.graph.nodeCount).toBe(5);
    expect(graphDepth(model.graph)).toBe(5);
    const topIf = model.graph.nodes.find((node) => node.opType === 'If')!;
    expect(topIf.attributes.get('then_branch')?.type).toBe('graph');
    expect(topIf.attributes.get('else_branch')?.type).toBe('graph');
    for (const graph of model.graphs()) {
      if (graph !== model.graph) expect(graph.parentNode).toBeDefined();
    }
    const lstmGraphs = [...model.graphs()].filter((graph) => graph.nodes.some((node) => node.opType === 'LSTM'));
    expect(lstmGraphs.length).toBeGreaterThan(0);
    expect(lstmGraphs.every((graph) => graph !== model.graph)).toBe(true);
    expect(bytesOf(constantTensors(model, 'subgraphs'))).toBeGreaterThan(2_000_000);
    // 2,183,624 bytes of raw_data plus one int64 scalar held in int64_data.
    expect(bytesOf(constantTensors(model))).toBe(2_183_632);
    expect(model.graph.inputs.map((value) => value.name)).toEqual(['input', 'state', 'sr']);
    const reread = readModel(written).model;
    expect(opCounts(reread)).toEqual(ops);
    expect(bytesOf(constantTensors(reread, 'subgraphs'))).toBe(bytesOf(constantTensors(model, 'subgraphs')));
    // Both branches of the sample-rate If are taken by some input: 16 kHz (512 samples) and 8 kHz (256 samples).
    const feeds = realModelInputs(fixture, declaredInputs(model));
    const outputs = await runOnnxRuntime(written, feeds);
    expect([...outputs.output!.dims]).toEqual([1, 1]);
    expect([...outputs.stateN!.dims]).toEqual([2, 1, 128]);
    const probability = (outputs.output!.data as Float32Array)[0]!;
    expect(probability).toBeGreaterThanOrEqual(0);
    expect(probability).toBeLessThanOrEqual(1);
    const eightKilohertz = {
      input: new ort.Tensor('float32', (feeds.input!.data as Float32Array).slice(0, 256), [1, 256]),
      state: feeds.state!,
      sr: new ort.Tensor('int64', BigInt64Array.from([8000n]), []),
    };
    const { expected, actual } = await roundTripOutputs(fixture.path, written, eightKilohertz);
    expect(outputsDifference(expected, actual)).toBeUndefined();
  });

  it('openWakeWord: initializers, an unused ai.onnx.ml import, symbolic dims, Gemm heads, an If in hey_jarvis', () => {
    const mel = loaded.get('oww-melspectrogram')!.model;
    expect(mel.graph.initializers).toHaveLength(6);
    expect(bytesOf(mel.graph.initializers.map((value) => value.initializer!))).toBe(1_085_580);
    const embedding = loaded.get('oww-embedding')!;
    expect(embedding.model.opsetImports).toEqual([
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: 2 },
    ]);
    expect(readModel(embedding.written).model.opsetImports).toEqual(embedding.model.opsetImports);
    expect(embedding.model.graph.inputs[0]!.type).toMatchObject({ shape: ['unk__314', 76, 32, 1] });
    const embeddingOps = opCounts(embedding.model);
    expect(embeddingOps.get('Conv')).toBe(20);
    expect(embeddingOps.get('LeakyRelu')).toBe(19);
    expect(embeddingOps.get('Max')).toBe(19);
    expect(embeddingOps.get('MaxPool')).toBe(5);
    expect(embedding.model.graph.initializers).toHaveLength(42);
    const jarvis = loaded.get('oww-hey-jarvis')!.model;
    expect(opCounts(jarvis).get('Gemm')).toBe(6);
    expect(opCounts(jarvis).get('If')).toBe(1);
    expect(opCounts(loaded.get('oww-alexa')!.model).get('Gemm')).toBe(3);
  });
});

describe('external data', () => {
  it.each([['oww-embedding'], ['ocr-det']] as const)(
    '%s written with every large tensor external loads back and runs the same in ONNX Runtime',
    async (id) => {
      const fixture = realModel(id);
      const { model } = readModel(fixture.path);
      const folder = join(temp, `external-${id}`);
      mkdirSync(folder);
      const path = join(folder, 'model.onnx');
      const result = writeModel(model, path, { externalData: 'external' });
      expect(result.externalPath).toBe(join(folder, 'model.onnx.data'));
      const originalSize = statSync(fixture.path).size;
      // The .onnx keeps only the graph: a few percent of the original at most.
      expect(statSync(path).size).toBe(result.modelBytes);
      expect(result.modelBytes).toBeLessThan(originalSize * 0.05);
      expect(statSync(result.externalPath!).size).toBe(result.externalBytes);
      expect(result.externalBytes).toBeGreaterThan(originalSize * 0.95);

      const reread = readModel(path);
      const external = [...reread.model.graphs()].flatMap((graph) => [
        ...graph.initializers.map((value) => value.initializer!),
        ...graph.nodes.flatMap((node) =>
          [...node.attributes.values()].flatMap((attribute) => (attribute.type === 'tensor' ? [attribute.value] : [])),
        ),
      ]);
      expect(external.filter((tensor) => tensor.data.kind === 'external').length).toBeGreaterThan(0);
      expect(verifyModel(reread.model).filter((diagnostic) => diagnostic.severity === 'error')).toEqual([]);

      const feeds = realModelInputs(fixture, declaredInputs(reread.model));
      // ORT reads the .data file beside the model.
      const { expected, actual } = await roundTripOutputs(fixture.path, path, feeds);
      expect(outputsDifference(expected, actual)).toBeUndefined();

      // Loaded from external data, written inline into another folder (no .data file there).
      const inlineFolder = join(temp, `inline-${id}`);
      mkdirSync(inlineFolder);
      const inlinePath = join(inlineFolder, 'model.onnx');
      const inline = writeModel(reread.model, inlinePath, { externalData: 'inline' });
      expect(inline.externalBytes).toBe(0);
      expect(inline.externalPath).toBeUndefined();
      expect(Math.abs(statSync(inlinePath).size - originalSize)).toBeLessThan(originalSize * 0.05);
      const inlineOutputs = await runOnnxRuntime(inlinePath, feeds);
      expect(outputsDifference(expected, inlineOutputs)).toBeUndefined();
      const inlineModel = readModel(inlinePath).model;
      expect(
        [...inlineModel.graphs()].every((graph) =>
          graph.initializers.every((value) => value.initializer!.data.kind !== 'external'),
        ),
      ).toBe(true);

      // The default ('auto') keeps external tensors external.
      const autoFolder = join(temp, `auto-${id}`);
      mkdirSync(autoFolder);
      const auto = writeModel(reread.model, join(autoFolder, 'model.onnx'));
      expect(auto.externalBytes).toBe(result.externalBytes);
      const autoOutputs = await runOnnxRuntime(join(autoFolder, 'model.onnx'), feeds);
      expect(outputsDifference(expected, autoOutputs)).toBeUndefined();

      const checked = onnxChecker([fixture.path, path, inlinePath]);
      if (checked) {
        expect(checked.get(path)).toEqual({ ok: true });
        expect(checked.get(inlinePath)).toEqual({ ok: true });
      }
    },
  );
});
