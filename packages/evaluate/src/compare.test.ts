import { datasetFromSamples, type Sample } from '@whittle/calibrate';
import { DataType, GraphBuilder, type Model, Tensor, tensorType } from '@whittle/ir';
import { readModel } from '@whittle/onnx/node';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import { declaredInputs, Random, realModel, realModelInputs } from '@whittle/test-fixtures';
import { liftConstants } from '@whittle/transforms';
import { describe, expect, it } from 'vitest';
import { compareModels } from './compare.js';

const fixture = realModel('ocr-cls');

async function loadLifted(): Promise<Model> {
  const { model } = readModel(fixture.path);
  const context = { report: () => {}, analysis: () => undefined as never, debug: false };
  await liftConstants.create({}).run(model, context);
  return model;
}

function samples(model: Model, count: number): Sample[] {
  return Array.from({ length: count }, (_, index) => {
    const feeds = realModelInputs(fixture, declaredInputs(model), index + 1);
    return Object.fromEntries(
      Object.entries(feeds).map(([name, tensor]) => [
        name,
        { type: tensor.type, dims: tensor.dims, data: tensor.data as Float32Array },
      ]),
    );
  });
}

describe('compareModels', () => {
  it('finds identical models identical, with latency measured for both', async () => {
    const reference = await loadLifted();
    const candidate = await loadLifted();
    const report = await compareModels(reference, candidate, datasetFromSamples(samples(reference, 2)), {
      executors: ortExecutorFactory,
      latencyRuns: 3,
    });
    expect(report.samples).toBe(2);
    expect(report.outputs).toHaveLength(1);
    expect(report.outputs[0]).toMatchObject({ sqnr: Number.POSITIVE_INFINITY, maxAbsoluteError: 0 });
    expect(report.latency?.referenceMilliseconds).toBeGreaterThan(0);
    expect(report.latency?.runs).toBe(3);
  });

  it('ranks the layer whose weights were disturbed as the one where error enters', async () => {
    const reference = await loadLifted();
    const candidate = await loadLifted();
    // Disturb the weights of one Conv in the middle of the network.
    const convolutions = candidate.graph.nodes.filter((node) => node.opType === 'Conv');
    const target = convolutions[Math.floor(convolutions.length / 2)]!;
    const weight = target.input(1)!.initializer!;
    const values = Float32Array.from(weight.toArray() as Float32Array);
    const random = new Random(7);
    for (let index = 0; index < values.length; index++) values[index]! *= 1 + 0.2 * (random.next() - 0.5);
    weight.data = { kind: 'view', byteLength: values.byteLength, bytes: () => new Uint8Array(values.buffer) };
    const report = await compareModels(reference, candidate, datasetFromSamples(samples(reference, 2)), {
      executors: ortExecutorFactory,
      perLayer: true,
      latencyRuns: 0,
    });
    const output = report.outputs[0]!;
    expect(output.sqnr).toBeLessThan(60);
    expect(output.sqnr).toBeGreaterThan(0);
    const worst = [...report.layers!].sort((a, b) => b.drop - a.drop)[0]!;
    expect(worst.name).toBe(target.output(0)!.name);
    const before = report.layers!.filter(
      (layer) =>
        reference.graph.indexOfNode(reference.graph.nodes.find((node) => node.output(0)?.name === layer.name)!) <
        candidate.graph.indexOfNode(target),
    );
    expect(before.every((layer) => layer.sqnr === Number.POSITIVE_INFINITY)).toBe(true);
  });
});

/** x [1, 256] → Add c1 → Add c2 → Relu → y, the constants off by up to `errors` (relative, per element). */
function twoAdds(errors: [number, number]): Model {
  const random = new Random(3);
  const constant = (error: number) =>
    Float32Array.from({ length: 256 }, (_, index) => (1 + (index % 5)) * (1 + error * (random.next() - 0.5)));
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [1, 256]);
  const first = b.initializer(Tensor.fromArray('c1', DataType.FLOAT, [1, 256], constant(errors[0])));
  const second = b.initializer(Tensor.fromArray('c2', DataType.FLOAT, [1, 256], constant(errors[1])));
  const a = b.op('Add', [x, first], { output: 'a' });
  const sum = b.op('Add', [a, second], { output: 'b' });
  b.output(b.op('Relu', [sum], { output: 'y' }), tensorType(DataType.FLOAT, [1, 256]));
  return b.model({ opsetImports: [{ domain: '', version: 17 }] });
}

describe('compareModels per layer, ranking', () => {
  it('ranks by the noise a layer adds, not by dB lost: a small error just past exact inputs is not the worst', async () => {
    const x = new Float32Array(256).fill(0.5);
    const data = datasetFromSamples([{ x: { type: 'float32', dims: [1, 256], data: x } }]);
    // The first Add adds noise at about 60 dB to exact inputs; the second, at about 20 dB.
    const report = await compareModels(twoAdds([0, 0]), twoAdds([0.004, 0.4]), data, {
      executors: ortExecutorFactory,
      perLayer: true,
      latencyRuns: 0,
    });
    const [first, second] = report.layers!;
    expect(first!.name).toBe('a');
    expect(first!.drop).toBeGreaterThan(second!.drop);
    expect(second!.addedNoise).toBeGreaterThan(100 * first!.addedNoise);
    // Noise ratios add: the second layer's plus the first's make the output's.
    expect(first!.addedNoise + second!.addedNoise).toBeCloseTo(10 ** (-second!.sqnr / 10), 12);
  });
});

describe('compareModels per layer, across values only the reference has', () => {
  it('looks through a value the candidate renamed instead of counting it as exact', async () => {
    const reference = await loadLifted();
    const candidate = await loadLifted();
    const convolutions = candidate.graph.nodes.filter((node) => node.opType === 'Conv');
    // Disturb one Conv, then rename the output of a later one (as a fusion or a folded BatchNormalization would).
    const weight = convolutions[3]!.input(1)!.initializer!;
    const values = Float32Array.from(weight.toArray() as Float32Array, (value) => value * 1.05);
    weight.data = { kind: 'view', byteLength: values.byteLength, bytes: () => new Uint8Array(values.buffer) };
    const renamed = convolutions[6]!.output(0)!;
    const readers = renamed.uses.map((use) => use.node.output(0)!.name);
    renamed.name = `${renamed.name}_renamed`;
    const report = await compareModels(reference, candidate, datasetFromSamples(samples(reference, 1)), {
      executors: ortExecutorFactory,
      perLayer: true,
      latencyRuns: 0,
    });
    const after = report.layers!.filter((layer) => readers.includes(layer.name));
    expect(after.length).toBeGreaterThan(0);
    // The error made upstream reaches them through the renamed value: their inputs are not exact.
    for (const layer of after) expect(layer.inputSqnr, layer.name).toBeLessThan(Number.POSITIVE_INFINITY);
  });
});
