import { DataType, GraphBuilder, type Model, Tensor } from '@whittle/ir';
import { readModel } from '@whittle/onnx/node';
import { WhittleError } from '@whittle/spec';
import { realModel } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { ExecutorCodes } from './codes.js';
import { createOrtExecutor } from './executor.js';
import { ortExecutorFactory } from './factory.js';
import { expectCode, fingerprint, float32, smallModel } from './test-support.js';

const X = float32([2, 3], [-5, 1, 2, 3, -4, 5]);

describe('createOrtExecutor', () => {
  it('lists declared inputs (not initializers) and outputs, and runs', async () => {
    const model = smallModel();
    const executor = await createOrtExecutor(model);
    expect(executor.inputs).toEqual([{ name: 'x', type: 'float32', dims: ['batch', 3] }]);
    expect(executor.outputNames).toEqual(['y']);
    const outputs = await executor.run({ x: X });
    expect(Object.keys(outputs)).toEqual(['y']);
    expect(outputs.y!.type).toBe('float32');
    expect(outputs.y!.dims).toEqual([2, 3]);
    expect(Array.from(outputs.y!.data as Float32Array)).toEqual([-0, -0, -5, -4, 0, -8].map((v) => (v === 0 ? -0 : v)));
    await executor.dispose();
  });

  it('is what ortExecutorFactory creates', async () => {
    expect(ortExecutorFactory.name).toBe('onnxruntime-node');
    const executor = await ortExecutorFactory.create(smallModel(), { capture: ['relu'] });
    expect(executor.outputNames).toEqual(['y', 'relu']);
    await executor.dispose();
  });

  it('captures untyped intermediates, inputs and initializers; model outputs and duplicates are not repeated', async () => {
    const model = smallModel();
    const before = fingerprint(model);
    const executor = await createOrtExecutor(model, { capture: ['sum', 'shape', 'x', 'w', 'y', 'sum'] });
    expect(fingerprint(model).equals(before)).toBe(true);
    expect(executor.outputNames).toEqual(['y', 'sum', 'shape', 'x', 'w']);
    const outputs = await executor.run({ x: X });
    expect(Object.keys(outputs)).toEqual(['y', 'sum', 'shape', 'x', 'w']);
    expect(Array.from(outputs.sum!.data as Float32Array)).toEqual([-4, -1, 5, 4, -6, 8]);
    expect(outputs.shape!.type).toBe('int64');
    expect(Array.from(outputs.shape!.data as BigInt64Array)).toEqual([2n, 3n]);
    expect(outputs.x!.data).toEqual(X.data);
    expect(Array.from(outputs.w!.data as Float32Array)).toEqual([1, -2, 3]);
    await executor.dispose();
  });

  it('writes a captured value whose element type is UNDEFINED without a type, and restores the type', async () => {
    const model = smallModel();
    const relu = model.graph.findValue('relu')!;
    relu.type = { kind: 'tensor', elementType: DataType.UNDEFINED };
    const before = fingerprint(model);
    const executor = await createOrtExecutor(model, { capture: ['relu'] });
    expect(relu.type).toEqual({ kind: 'tensor', elementType: DataType.UNDEFINED });
    expect(fingerprint(model).equals(before)).toBe(true);
    const outputs = await executor.run({ x: X });
    expect(outputs.relu!.type).toBe('float32');
    await executor.dispose();
  });

  it('keeps a declared element type, and a wrong one is a load failure with the model restored', async () => {
    const model = smallModel();
    model.graph.findValue('sum')!.type = { kind: 'tensor', elementType: DataType.INT64 };
    const before = fingerprint(model);
    const error = await expectCode(createOrtExecutor(model, { capture: ['sum'] }), ExecutorCodes.LOAD_FAILED);
    expect(error.message).toMatch(/^onnxruntime could not load the model: .*int64/);
    expect(error.message).not.toContain('\n');
    expect(error.cause).toBeInstanceOf(Error);
    expect(fingerprint(model).equals(before)).toBe(true);
    expect(model.graph.outputs.map((value) => value.name)).toEqual(['y']);
  });

  it('passes float16, bool, int64, strings and the other element types through unchanged', async () => {
    const cases: { type: DataType; tensor: { type: string; dims: number[]; data: ArrayBufferView | string[] } }[] = [
      {
        type: DataType.FLOAT16,
        tensor: { type: 'float16', dims: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7e00]) },
      },
      { type: DataType.BOOL, tensor: { type: 'bool', dims: [2, 2], data: new Uint8Array([1, 0, 0, 1]) } },
      { type: DataType.INT64, tensor: { type: 'int64', dims: [2], data: new BigInt64Array([-(2n ** 62n), 7n]) } },
      { type: DataType.UINT64, tensor: { type: 'uint64', dims: [1], data: new BigUint64Array([2n ** 63n]) } },
      { type: DataType.STRING, tensor: { type: 'string', dims: [2], data: ['héllo', ''] } },
      { type: DataType.DOUBLE, tensor: { type: 'float64', dims: [1], data: new Float64Array([Math.PI]) } },
      { type: DataType.INT8, tensor: { type: 'int8', dims: [2], data: new Int8Array([-128, 127]) } },
      { type: DataType.UINT8, tensor: { type: 'uint8', dims: [1, 1], data: new Uint8Array([255]) } },
      { type: DataType.INT16, tensor: { type: 'int16', dims: [1], data: new Int16Array([-300]) } },
      { type: DataType.UINT16, tensor: { type: 'uint16', dims: [1], data: new Uint16Array([65535]) } },
      { type: DataType.INT32, tensor: { type: 'int32', dims: [0], data: new Int32Array([]) } },
      { type: DataType.UINT32, tensor: { type: 'uint32', dims: [], data: new Uint32Array([4e9]) } },
    ];
    const builder = new GraphBuilder('identity');
    for (const [index, { type }] of cases.entries()) {
      const input = builder.input(`in${index}`, type);
      builder.output(builder.op('Identity', [input], { output: `out${index}` }), { kind: 'tensor', elementType: type });
    }
    const executor = await createOrtExecutor(builder.model());
    const feeds = Object.fromEntries(cases.map(({ tensor }, index) => [`in${index}`, tensor]));
    const outputs = await executor.run(feeds);
    for (const [index, { tensor }] of cases.entries()) {
      const output = outputs[`out${index}`]!;
      expect(output.type, tensor.type).toBe(tensor.type);
      expect(output.dims).toEqual(tensor.dims);
      expect(output.data.constructor).toBe(tensor.data.constructor);
      expect(output.data).toEqual(tensor.data);
    }
    await executor.dispose();
  });

  it('maps threads and optimization level, and refuses bad values', async () => {
    const executor = await createOrtExecutor(smallModel(), { threads: 2, optimizationLevel: 'all' });
    await executor.dispose();
    await expectCode(createOrtExecutor(smallModel(), { threads: 0 }), ExecutorCodes.INVALID_OPTION);
    await expectCode(
      createOrtExecutor(smallModel(), { optimizationLevel: 'max' as 'all' }),
      ExecutorCodes.INVALID_OPTION,
    );
  });
});

describe('errors', () => {
  it('EXECUTOR_UNKNOWN_VALUE: a name that is no value at all', async () => {
    const model = smallModel();
    const before = fingerprint(model);
    const error = await expectCode(
      createOrtExecutor(model, { capture: ['relu', 'nope', 'nada'] }),
      ExecutorCodes.UNKNOWN_VALUE,
    );
    expect(error.message).toContain("'nope', 'nada'");
    expect(error.location?.value).toBe('nope');
    expect(fingerprint(model).equals(before)).toBe(true);
  });

  it('EXECUTOR_UNKNOWN_VALUE: a value inside a subgraph', async () => {
    const model = readModel(realModel('silero-vad-v5').path).model;
    const inner = 'If_0_else_branch__Introduce_0_outputs_0';
    const error = await expectCode(createOrtExecutor(model, { capture: [inner] }), ExecutorCodes.UNKNOWN_VALUE);
    expect(error.message).toContain(`'${inner}' (a value of subgraph 'If_0_else_branch' of node 'If_0')`);
    expect(error.location?.value).toBe(inner);
  });

  it('EXECUTOR_LOAD_FAILED: onnxruntime refuses the model; untyped captures are listed in the hint', async () => {
    const builder = new GraphBuilder('bad');
    const x = builder.input('x', DataType.FLOAT, [2]);
    const mid = builder.op('Relu', [x], { output: 'mid' });
    builder.output(builder.op('NoSuchOperator', [mid], { output: 'y' }), {
      kind: 'tensor',
      elementType: DataType.FLOAT,
    });
    const error = await expectCode(createOrtExecutor(builder.model(), { capture: ['mid'] }), ExecutorCodes.LOAD_FAILED);
    expect(error.message).toContain('NoSuchOperator');
    expect(error.hint).toContain('mid');
    expect(WhittleError.is(error)).toBe(true);
  });

  describe('run', () => {
    let model: Model;
    const run = async (feeds: Parameters<Awaited<ReturnType<typeof createOrtExecutor>>['run']>[0]) => {
      model = smallModel();
      const executor = await createOrtExecutor(model);
      try {
        return await executor.run(feeds);
      } finally {
        await executor.dispose();
      }
    };

    it('EXECUTOR_MISSING_INPUT', async () => {
      const error = await expectCode(run({}), ExecutorCodes.MISSING_INPUT);
      expect(error.location?.value).toBe('x');
      expect(error.message).toBe("missing input 'x': the model expects 'x', got none");
    });

    it('EXECUTOR_UNKNOWN_INPUT', async () => {
      const error = await expectCode(run({ x: X, z: X }), ExecutorCodes.UNKNOWN_INPUT);
      expect(error.location?.value).toBe('z');
      expect(error.message).toBe("the model has no input named 'z'; its inputs are 'x'");
    });

    it('EXECUTOR_UNKNOWN_INPUT: an initializer listed as an input (onnxruntime-node would ignore the feed)', async () => {
      model = smallModel();
      model.graph.addInput(model.graph.findValue('w')!);
      const executor = await createOrtExecutor(model);
      expect(executor.inputs.map((input) => input.name)).toEqual(['x']);
      const error = await expectCode(executor.run({ x: X, w: float32([3], [0, 0, 0]) }), ExecutorCodes.UNKNOWN_INPUT);
      expect(error.hint).toContain('cannot be overridden');
      expect(Array.from((await executor.run({ x: X })).y!.data as Float32Array)).toEqual([-0, -0, -5, -4, -0, -8]);
      await executor.dispose();
    });

    it('EXECUTOR_INPUT_TYPE: element type, and a data array of the wrong kind', async () => {
      const error = await expectCode(
        run({ x: { type: 'float64', dims: [2, 3], data: new Float64Array(6) } }),
        ExecutorCodes.INPUT_TYPE,
      );
      expect(error.location?.value).toBe('x');
      expect(error.message).toBe("input 'x': expected element type float32, got float64");
      const kind = await expectCode(
        run({ x: { type: 'float32', dims: [2, 3], data: new Float64Array(6) } }),
        ExecutorCodes.INPUT_TYPE,
      );
      expect(kind.message).toBe("input 'x': float32 data must be a Float32Array, got Float64Array");
      expect(kind.location?.value).toBe('x');
    });

    it('EXECUTOR_INPUT_SHAPE: rank, a fixed dim, data that does not fill the dims', async () => {
      const rank = await expectCode(run({ x: float32([6], [1, 2, 3, 4, 5, 6]) }), ExecutorCodes.INPUT_SHAPE);
      expect(rank.location?.value).toBe('x');
      expect(rank.message).toBe("input 'x': expected rank 2, got rank 1: expected float32[batch,3], got dims [6]");
      const dim = await expectCode(run({ x: float32([3, 2], [1, 2, 3, 4, 5, 6]) }), ExecutorCodes.INPUT_SHAPE);
      expect(dim.message).toBe("input 'x': dim 1 is fixed at 3, got 2: expected float32[batch,3], got dims [3,2]");
      const count = await expectCode(run({ x: float32([1, 3], [1, 2, 3, 4]) }), ExecutorCodes.INPUT_SHAPE);
      expect(count.message).toBe("input 'x': dims [1, 3] hold 3 elements, the data has 4");
      expect(count.location?.value).toBe('x');
    });

    it('a symbolic dim takes any size', async () => {
      const outputs = await run({ x: float32([1, 3], [1, 2, 3]) });
      expect(outputs.y!.dims).toEqual([1, 3]);
    });
  });

  it('EXECUTOR_RUN_FAILED: onnxruntime fails at run time; its first line is kept and the cause attached', async () => {
    const builder = new GraphBuilder('reshape');
    const x = builder.input('x', DataType.FLOAT, ['n']);
    const shape = builder.initializer(Tensor.fromArray('shape', DataType.INT64, [2], new BigInt64Array([2n, 3n])));
    builder.output(builder.op('Reshape', [x, shape], { output: 'y' }), { kind: 'tensor', elementType: DataType.FLOAT });
    const executor = await createOrtExecutor(builder.model());
    const error = await expectCode(executor.run({ x: float32([5], [1, 2, 3, 4, 5]) }), ExecutorCodes.RUN_FAILED);
    expect(error.message).toMatch(/^onnxruntime failed to run the model: .*Reshape/);
    expect(error.message).not.toContain('\n');
    expect(error.cause).toBeInstanceOf(Error);
    // The session survives a failed run.
    expect((await executor.run({ x: float32([6], [1, 2, 3, 4, 5, 6]) })).y!.dims).toEqual([2, 3]);
    await executor.dispose();
  });
});

describe('dispose', () => {
  it('run after dispose is EXECUTOR_DISPOSED; dispose twice is harmless; outputs outlive the session', async () => {
    const executor = await createOrtExecutor(smallModel());
    const outputs = await executor.run({ x: X });
    await executor.dispose();
    await executor.dispose();
    expect(executor.disposed).toBe(true);
    await expectCode(executor.run({ x: X }), ExecutorCodes.DISPOSED);
    expect(Array.from(outputs.y!.data as Float32Array)).toEqual([-0, -0, -5, -4, -0, -8]);
  });

  it('waits for runs in flight', async () => {
    const executor = await createOrtExecutor(smallModel());
    const running = executor.run({ x: X });
    const disposing = executor.dispose();
    await expectCode(executor.run({ x: X }), ExecutorCodes.DISPOSED);
    expect((await running).y!.dims).toEqual([2, 3]);
    await disposing;
  });
});
