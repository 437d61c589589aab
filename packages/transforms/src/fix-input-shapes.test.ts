import { DataType, GraphBuilder, tensorType } from '@whittle/ir';
import { WhittleError } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { setInputShapes, fixInputShapes } from './fix-input-shapes.js';
import { runShapeInference } from './infer-shapes.js';
import { zeros } from './shape-inference/test-support.js';

function model() {
  const b = new GraphBuilder();
  const x = b.input('images', DataType.FLOAT, ['batch', 3, 'height', 'width']);
  b.input('scale', DataType.FLOAT, []);
  const conv = b.op('Conv', [x, b.initializer(zeros('w', [8, 3, 3, 3]))], {
    output: 'conv',
    attributes: { pads: [1, 1, 1, 1], strides: [2, 2] },
  });
  conv.type = tensorType(DataType.FLOAT, ['batch', 8, null, null]);
  b.graph.valueInfo.push(conv);
  b.output(b.op('Relu', [conv], { output: 'features' }), tensorType(DataType.FLOAT, ['batch', 8, 'h2', 'w2']));
  return b.model();
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return WhittleError.is(error) ? error.code : `not a WhittleError: ${String(error)}`;
  }
  return undefined;
}

describe('fix-input-shapes', () => {
  it('fixes input dims and resolves the symbols they fixed elsewhere in the model', () => {
    const fixed = model();
    const result = setInputShapes(fixed, { images: [1, 3, 640, 640] });
    expect(result).toMatchObject({ changed: true, statistics: { inputsFixed: 1, dimsResolved: 2, shapesCleared: 0 } });
    expect(fixed.graph.inputs[0]!.type).toEqual(tensorType(DataType.FLOAT, [1, 3, 640, 640]));
    expect(fixed.graph.outputs[0]!.type).toEqual(tensorType(DataType.FLOAT, [1, 8, 'h2', 'w2']));
    runShapeInference(fixed);
    expect(fixed.graph.outputs[0]!.type).toEqual(tensorType(DataType.FLOAT, [1, 8, 320, 320]));
  });

  it('drops recorded shapes when a fixed size changes, so none goes stale', () => {
    const resized = model();
    setInputShapes(resized, { images: [1, 3, 64, 64] });
    runShapeInference(resized);
    const result = setInputShapes(resized, { images: [2, 3, 32, 32] });
    expect(result.statistics.shapesCleared).toBe(2);
    expect(resized.graph.outputs[0]!.type).toEqual(tensorType(DataType.FLOAT));
    runShapeInference(resized);
    expect(resized.graph.outputs[0]!.type).toEqual(tensorType(DataType.FLOAT, [2, 8, 16, 16]));
  });

  it('accepts symbolic names and does nothing when nothing changes', () => {
    const renamed = model();
    setInputShapes(renamed, { images: ['n', 3, 'height', 'width'] });
    expect(renamed.graph.inputs[0]!.type).toEqual(tensorType(DataType.FLOAT, ['n', 3, 'height', 'width']));
    expect(setInputShapes(renamed, { images: ['n', 3, 'height', 'width'] }).changed).toBe(false);
  });

  it('throws coded errors for unknown inputs, rank mismatches and bad dims', () => {
    expect(codeOf(() => setInputShapes(model(), { image: [1, 3, 8, 8] }))).toBe('FIX_INPUT_SHAPES_UNKNOWN_INPUT');
    expect(codeOf(() => setInputShapes(model(), { images: [1, 3, 8] }))).toBe('FIX_INPUT_SHAPES_RANK_MISMATCH');
    expect(codeOf(() => setInputShapes(model(), { scale: [1] }))).toBe('FIX_INPUT_SHAPES_RANK_MISMATCH');
    expect(codeOf(() => setInputShapes(model(), { images: [1, 3, -1, 8] }))).toBe('FIX_INPUT_SHAPES_INVALID_DIM');
    expect(codeOf(() => setInputShapes(model(), { images: [1, 3, 1.5, 8] }))).toBe('FIX_INPUT_SHAPES_INVALID_DIM');
    // Nothing changes when any entry is rejected.
    const untouched = model();
    codeOf(() => setInputShapes(untouched, { images: [1, 3, 8, 8], missing: [1] }));
    expect(untouched.graph.inputs[0]!.type).toEqual(tensorType(DataType.FLOAT, ['batch', 3, 'height', 'width']));
  });

  it('is a pass with a `shapes` option', async () => {
    expect(fixInputShapes.name).toBe('fix-input-shapes');
    expect(fixInputShapes.options).toMatchObject({
      type: 'object',
      properties: { shapes: { type: 'object' } },
      additionalProperties: false,
    });
    const pass = fixInputShapes.create({ shapes: { images: [1, 3, 32, 32] } });
    const fixed = model();
    const result = await pass.run(fixed, {
      report: () => {},
      analysis: () => {
        throw new Error('no analyses');
      },
      debug: false,
    });
    expect(result).toMatchObject({ changed: true, statistics: { inputsFixed: 1 } });
  });
});
