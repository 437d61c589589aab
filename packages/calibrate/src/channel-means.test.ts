import { DataType, GraphBuilder, Tensor, tensorType } from '@whittle/ir';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import { describe, expect, it } from 'vitest';
import { addChannelMeanOutputs, ChannelMeanAccumulator, channelMeanTargets } from './channel-means.js';
import { normalValues } from './test-support.js';

const F = DataType.FLOAT;

/** x [2, 3, 4, 4] → Conv → Flatten → MatMul: the Conv reads channels on axis 1, the MatMul its last axis. */
function convThenMatMul(opset: number) {
  const b = new GraphBuilder();
  const x = b.input('x', F, [2, 3, 4, 4]);
  const w = b.initializer(Tensor.fromArray('w', F, [2, 3, 3, 3], normalValues(54, 1)));
  const conv = b.op('Conv', [x, w], { output: 'conv', attributes: { pads: [1, 1, 1, 1] } });
  const flat = b.op('Flatten', [conv], { output: 'flat' });
  const weights = b.initializer(Tensor.fromArray('m', F, [32, 5], normalValues(160, 2)));
  const y = b.op('MatMul', [flat, weights], { output: 'y' });
  b.output(y, tensorType(F, [2, 5]));
  const model = b.model({ opsetImports: [{ domain: '', version: opset }] });
  model.graph.nodes.find((node) => node.is('Conv'))!.output(0)!.type = tensorType(F, [2, 2, 4, 4]);
  model.graph.nodes.find((node) => node.is('Flatten'))!.output(0)!.type = tensorType(F, [2, 32]);
  return model;
}

/** Per-channel mean of a row-major tensor, by brute force. */
function meansOf(data: Float32Array, dims: number[], axis: number): number[] {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const sums = new Array<number>(channels).fill(0);
  for (let index = 0; index < data.length; index++) sums[Math.floor(index / inner) % channels]! += data[index]!;
  return sums.map((sum) => (sum * channels) / data.length);
}

describe('channel means', () => {
  for (const opset of [13, 18]) {
    it(`ReduceMean inside the session equals the means computed by hand (opset ${opset}); the model is restored`, async () => {
      const model = convThenMatMul(opset);
      const before = model.graph.nodes.length;
      const targets = channelMeanTargets(model);
      expect(targets.map((target) => [target.value.name, target.axis])).toEqual([
        ['x', 1],
        ['flat', -1],
      ]);
      const added = addChannelMeanOutputs(model, targets);
      const executor = await ortExecutorFactory.create(model, { capture: ['flat'] });
      added.restore();
      expect(model.graph.nodes.length).toBe(before);
      expect(model.graph.outputs.map((value) => value.name)).toEqual(['y']);
      const accumulators = new Map(
        targets.map((target) => [target.value.name, new ChannelMeanAccumulator(target.axis)]),
      );
      const expected = { x: [0, 0, 0], flat: new Array<number>(32).fill(0) };
      const samples = 3;
      try {
        for (let sample = 0; sample < samples; sample++) {
          const data = normalValues(96, 10 + sample).map((value, index) => value + (Math.floor(index / 16) % 3));
          const outputs = await executor.run({ x: { type: 'float32', dims: [2, 3, 4, 4], data } });
          for (const [name, { output }] of added.outputs) accumulators.get(name)!.add(outputs[output]);
          meansOf(data, [2, 3, 4, 4], 1).forEach((mean, channel) => {
            expected.x[channel]! += mean / samples;
          });
          meansOf(outputs.flat!.data as Float32Array, [2, 32], 1).forEach((mean, channel) => {
            expected.flat[channel]! += mean / samples;
          });
        }
      } finally {
        await executor.dispose();
      }
      const x = accumulators.get('x')!.result()!;
      expect(x.axis).toBe(1);
      expect(x.values).toEqual(expected.x.map((value) => expect.closeTo(value, 5)));
      // Channels offset by 0, 1, 2: the means tell them apart.
      expect(x.values[2]! - x.values[0]!).toBeGreaterThan(1.5);
      expect(accumulators.get('flat')!.result()!.values).toEqual(
        expected.flat.map((value) => expect.closeTo(value, 5)),
      );
    });
  }

  it('skips a sample holding NaN and says nothing before any sample', () => {
    const accumulator = new ChannelMeanAccumulator(1);
    expect(accumulator.result()).toBeUndefined();
    accumulator.add({ type: 'float32', dims: [2], data: Float32Array.of(1, 3) });
    accumulator.add({ type: 'float32', dims: [2], data: Float32Array.of(Number.NaN, 5) });
    accumulator.add({ type: 'float32', dims: [2], data: Float32Array.of(3, 5) });
    expect(accumulator.result()).toEqual({ axis: 1, values: [2, 4] });
  });
});
