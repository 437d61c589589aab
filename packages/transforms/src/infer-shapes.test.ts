import { DataType, GraphBuilder, tensorType } from '@whittle/ir';
import { encodeModel, decodeModel } from '@whittle/onnx';
import type { DiagnosticInput, PassContext } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { runShapeInference, inferShapes } from './infer-shapes.js';
import { infer, inferModel, int64s, zeros } from './shape-inference/test-support.js';

function context(diagnostics: DiagnosticInput[] = []): PassContext {
  return {
    report: (diagnostic) => diagnostics.push(diagnostic),
    analysis: () => {
      throw new Error('no analyses here');
    },
    debug: false,
  };
}

function smallModel() {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['batch', 3, 8, 8]);
  const conv = b.op('Conv', [x, b.initializer(zeros('w', [4, 3, 3, 3]))], {
    output: 'conv',
    attributes: { pads: [1, 1, 1, 1] },
  });
  const relu = b.op('Relu', [conv], { output: 'relu' });
  b.output(b.op('GlobalAveragePool', [relu], { output: 'pooled' }));
  return b.model();
}

describe('infer-shapes', () => {
  it('types every value and lists intermediate values as value_info (not inputs, outputs, initializers)', () => {
    const model = smallModel();
    const result = inferModel(model);
    expect(result.changed).toBe(true);
    expect(result.type('conv')).toEqual(tensorType(DataType.FLOAT, ['batch', 4, 8, 8]));
    expect(result.type('pooled')).toEqual(tensorType(DataType.FLOAT, ['batch', 4, 1, 1]));
    expect(model.graph.valueInfo.map((value) => value.name)).toEqual(['conv', 'relu']);
    expect(result.statistics).toMatchObject({ valuesTyped: 3, valuesFullyStatic: 0, valuesUnknown: 0 });
  });

  it('is idempotent: a second run reports no change', () => {
    const model = smallModel();
    runShapeInference(model);
    const again = runShapeInference(model);
    expect(again.changed).toBe(false);
    expect(again.statistics.valuesTyped).toBe(0);
    expect(model.graph.valueInfo).toHaveLength(2);
  });

  it('writes value_info that survives encoding', () => {
    const model = smallModel();
    runShapeInference(model);
    const { model: reread } = decodeModel(encodeModel(model));
    expect(reread.graph.valueInfo.map((value) => [value.name, value.type])).toEqual([
      ['conv', tensorType(DataType.FLOAT, ['batch', 4, 8, 8])],
      ['relu', tensorType(DataType.FLOAT, ['batch', 4, 8, 8])],
    ]);
  });

  it('refines what the model declares but never drops a declared fact', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 'n']);
      // Declared: a symbolic dim inference can resolve, a static dim inference cannot know.
      b.output(b.op('Relu', [x], { output: 'relu' }), tensorType(DataType.FLOAT, ['r', 'm']));
      const reshaped = b.op('Reshape', [x, b.input('target', DataType.INT64, [2])], { output: 'reshaped' });
      reshaped.type = tensorType(DataType.FLOAT, [5, null]);
    });
    expect(result.shape('relu')).toEqual([2, 'm']);
    expect(result.shape('reshaped')).toEqual([5, null]);
    expect(result.diagnostics.filter((diagnostic) => diagnostic.code === 'SHAPE_CONFLICT')).toEqual([]);
  });

  it('keeps a declared type that contradicts inference and warns SHAPE_CONFLICT', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [2, 3]);
      b.output(b.op('Relu', [x], { output: 'relu' }), tensorType(DataType.FLOAT, [2, 4]));
      b.output(b.op('Shape', [x], { output: 'shape' }), tensorType(DataType.INT32, [2]));
    });
    expect(result.shape('relu')).toEqual([2, 4]);
    expect(result.elementType('shape')).toBe(DataType.INT32);
    const conflicts = result.diagnostics.filter((diagnostic) => diagnostic.code === 'SHAPE_CONFLICT');
    expect(conflicts.map((diagnostic) => [diagnostic.severity, diagnostic.location?.value])).toEqual([
      ['warning', 'relu'],
      ['warning', 'shape'],
    ]);
    expect(result.statistics.shapeConflicts).toBe(2);
  });

  it('writes nothing for a value it knows nothing about', () => {
    const result = infer((b) => {
      b.op('Mystery', [b.input('x', DataType.FLOAT, [1])], { output: 'y', domain: 'com.example' });
    });
    expect(result.type('y')).toBeUndefined();
    expect(result.statistics).toMatchObject({ valuesUnknown: 1, nodesNotInferred: 1 });
    expect(result.changed).toBe(false);
  });

  it('is fully static once inputs are, through a shape computation', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [1, 3, 4, 4]);
      const shape = b.op('Shape', [x]);
      const batch = b.op('Slice', [shape, b.initializer(int64s('s', [0])), b.initializer(int64s('e', [1]))]);
      const target = b.op('Concat', [batch, b.initializer(int64s('rest', [-1]))], { attributes: { axis: 0 } });
      b.output(b.op('Reshape', [x, target], { output: 'flat' }));
    });
    expect(result.shape('flat')).toEqual([1, 48]);
    expect(result.statistics.valuesFullyStatic).toBe(result.model.graph.nodeCount + 1);
  });

  it('accepts extra inferrers for ops of its own', () => {
    const b = new GraphBuilder();
    b.op('Twice', [b.input('x', DataType.FLOAT, [3])], { output: 'y' });
    const model = b.model();
    runShapeInference(model, {
      inferrers: {
        Twice: (inference) => inference.setTensor(0, inference.elementType(0), [6]),
      },
    });
    expect(model.graph.valueInfo[0]?.type).toEqual(tensorType(DataType.FLOAT, [6]));
  });

  it('is a pass named infer-shapes that reports through the context', async () => {
    expect(inferShapes.name).toBe('infer-shapes');
    expect(inferShapes.options).toBeUndefined();
    const pass = inferShapes.create({});
    const model = smallModel();
    model.graph.outputs[0]!.type = tensorType(DataType.FLOAT, ['batch', 5, 1, 1]);
    const diagnostics: DiagnosticInput[] = [];
    const result = await pass.run(model, context(diagnostics));
    expect(result.changed).toBe(true);
    expect(result.statistics).toMatchObject({ valuesTyped: 2, shapeConflicts: 1 });
    expect(diagnostics.map((diagnostic) => diagnostic.code)).toEqual(['SHAPE_CONFLICT']);
    const again = await pass.run(model, context());
    expect(again).toMatchObject({ changed: false, preserved: 'all' });
  });
});
