/**
 * Capture on real models: every main-graph intermediate of ocr-cls and silero-vad-v5 (whose intermediates declare
 * no type, and silero's come out of an If node) returned as extra outputs. Checked against onnxruntime on files:
 * the model outputs do not move by a bit, and a captured value equals the same value computed by a truncated model
 * (only the nodes it needs, it as the only output).
 */
import type { Model } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import {
  declaredInputs,
  type OrtTensor,
  outputsDifference,
  type RealModelId,
  realModel,
  realModelInputs,
  relativeDifference,
  runOnnxRuntime,
  tensorToOrt,
} from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { createOrtExecutor } from './executor.js';
import { asOrt, fingerprint } from './test-support.js';

/** The model of `path` cut down to compute `name` alone: it is the only output, nodes it does not need are gone. */
function truncatedModel(path: string, name: string): Uint8Array {
  const { model } = readModel(path);
  const value = model.graph.findValue(name);
  if (!value) throw new Error(`no value '${name}'`);
  model.graph.outputs.splice(0, model.graph.outputs.length, value);
  for (const node of [...model.graph.nodes].reverse()) {
    if (!node.outputs.some((output) => output?.isUsed)) model.graph.removeNode(node);
  }
  return encodeModel(model);
}

/** Names of the main graph's node outputs that are not model outputs. */
function intermediates(model: Model): string[] {
  const outputs = new Set(model.graph.outputs);
  return model.graph.nodes.flatMap((node) =>
    node.outputs.filter((value) => value !== undefined && !outputs.has(value)).map((value) => value!.name),
  );
}

/** Up to `count` items spread evenly over a list, the last one included. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, index) => items[Math.round(((items.length - 1) * index) / (count - 1))]!);
}

const CASES: { id: RealModelId; minimumFloats: number }[] = [
  { id: 'ocr-cls', minimumFloats: 400 },
  { id: 'silero-vad-v5', minimumFloats: 2 },
];

describe('capturing every intermediate of a real model', () => {
  for (const { id, minimumFloats } of CASES) {
    it(`${id}: outputs unchanged bit for bit; captured values equal truncated models'`, async () => {
      const fixture = realModel(id);
      const model = readModel(fixture.path).model;
      const before = fingerprint(model);
      const feeds = realModelInputs(fixture, declaredInputs(model));
      const names = intermediates(model);
      expect(names.every((name) => model.graph.findValue(name)?.type === undefined)).toBe(true);

      const settings = { optimizationLevel: 'disabled', threads: 1 } as const;
      const executor = await createOrtExecutor(model, { ...settings, capture: names });
      const outputNames = model.graph.outputs.map((value) => value.name);
      expect(executor.outputNames).toEqual([...outputNames, ...names]);
      const captured = asOrt(await executor.run(feeds));
      await executor.dispose();
      expect(fingerprint(model).equals(before)).toBe(true);
      expect(Object.keys(captured)).toEqual([...outputNames, ...names]);

      // (a) The model's own outputs are the same bits as onnxruntime's on the untouched file.
      const expected = await runOnnxRuntime(fixture.path, feeds);
      const own: Record<string, OrtTensor> = Object.fromEntries(outputNames.map((name) => [name, captured[name]!]));
      expect(outputsDifference(expected, own)).toBeUndefined();

      // (b) Float intermediates, a spread of them, against a truncated model computing each alone.
      const floats = names.filter((name) => captured[name]!.type === 'float32');
      expect(floats.length).toBeGreaterThanOrEqual(minimumFloats);
      const sample = spread(floats, 8);
      for (const name of sample) {
        const alone = await runOnnxRuntime(truncatedModel(fixture.path, name), feeds);
        expect(outputsDifference(alone, { [name]: captured[name]! }), name).toBeUndefined();
      }
      // The check can fail: the sampled values are not all the same tensor.
      const bytes = sample.map((name) => {
        const data = captured[name]!.data as Float32Array;
        return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      });
      expect(bytes.some((entry) => !entry.equals(bytes[0]!))).toBe(true);
    });
  }

  it('silero-vad-v5: graph inputs are captured as fed', async () => {
    const fixture = realModel('silero-vad-v5');
    const model = readModel(fixture.path).model;
    const feeds = realModelInputs(fixture, declaredInputs(model));
    const inputs = model.graph.inputs.map((value) => value.name);
    const executor = await createOrtExecutor(model, { capture: inputs });
    const outputs = asOrt(await executor.run(feeds));
    await executor.dispose();
    for (const name of inputs) expect(outputsDifference(feeds[name]!, outputs[name]!), name).toBeUndefined();
  });

  it('oww-hey-jarvis: initializers are captured as stored', async () => {
    const fixture = realModel('oww-hey-jarvis');
    const model = readModel(fixture.path).model;
    const initializers = model.graph.initializers;
    expect(initializers.length).toBeGreaterThan(0);
    const executor = await createOrtExecutor(model, { capture: initializers.map((value) => value.name) });
    const outputs = asOrt(await executor.run(realModelInputs(fixture, declaredInputs(model))));
    await executor.dispose();
    for (const value of initializers) {
      expect(outputsDifference(tensorToOrt(value.initializer!), outputs[value.name]!), value.name).toBeUndefined();
    }
  });

  it('ocr-cls at the default optimization level: captures still come back, outputs stay close', async () => {
    // Captured values are graph outputs, so onnxruntime may not fuse across them: bits can move, values barely.
    const fixture = realModel('ocr-cls');
    const model = readModel(fixture.path).model;
    const feeds = realModelInputs(fixture, declaredInputs(model));
    const names = intermediates(model);
    const executor = await createOrtExecutor(model, { capture: names });
    const outputs = asOrt(await executor.run(feeds));
    await executor.dispose();
    expect(Object.keys(outputs)).toHaveLength(names.length + 1);
    const outputName = model.graph.outputs[0]!.name;
    const expected = await runOnnxRuntime(fixture.path, feeds);
    expect(relativeDifference(expected, { [outputName]: outputs[outputName]! })).toBeLessThan(1e-4);
  });
});
