import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { DataType } from './data-type.js';
import { Node } from './node.js';
import { Tensor } from './tensor.js';
import { topologicalOrder } from './traversal.js';
import { Value } from './value.js';
import { verifyModel } from './verifier.js';

function smallModel() {
  const builder = new GraphBuilder();
  const x = builder.input('x', DataType.FLOAT, [1, 4]);
  const weight = builder.initializer(Tensor.fromArray('w', DataType.FLOAT, [4, 2], new Float32Array(8).fill(0.5)));
  const product = builder.op('MatMul', [x, weight], { output: 'product' });
  const activated = builder.op('Relu', [product], { output: 'activated' });
  builder.output(activated);
  return { model: builder.model(), x, weight, product, activated };
}

describe('use-def chains', () => {
  it('records producers and uses', () => {
    const { product, activated, x } = smallModel();
    expect(product.producer?.opType).toBe('MatMul');
    expect(product.uses.map((use) => use.node.opType)).toEqual(['Relu']);
    expect(x.producer).toBeUndefined();
    expect(activated.isUsed).toBe(true);
  });

  it('replaces all uses, graph outputs included', () => {
    const { model, product, activated } = smallModel();
    activated.replaceAllUsesWith(product);
    expect(model.graph.outputs).toEqual([product]);
    const relu = activated.producer!;
    expect(activated.isUsed).toBe(false);
    model.graph.removeNode(relu);
    expect(product.uses).toHaveLength(0);
    expect(model.graph.nodes.map((node) => node.opType)).toEqual(['MatMul']);
    expect(verifyModel(model).filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('refuses to remove a node whose output is still used, unless forced', () => {
    const { model, product } = smallModel();
    const matmul = product.producer!;
    expect(() => model.graph.removeNode(matmul)).toThrow(/still used/);
    model.graph.removeNode(matmul, { force: true });
    const codes = verifyModel(model).map((d) => d.code);
    expect(codes).toContain('IR_DANGLING_VALUE');
  });

  it('lets passes remove nodes while iterating', () => {
    const { model, activated, product } = smallModel();
    activated.replaceAllUsesWith(product);
    for (const node of model.graph.nodes) if (node.opType === 'Relu') model.graph.removeNode(node);
    expect(model.graph.nodeCount).toBe(1);
  });
});

describe('verifier', () => {
  it('accepts a sound model', () => {
    expect(verifyModel(smallModel().model)).toEqual([]);
  });

  it('reports a node placed before its input is produced, and a cycle', () => {
    const { model, product } = smallModel();
    const relu = product.uses[0]!.node;
    const matmul = product.producer!;
    model.graph.setNodeOrder([relu, matmul]);
    expect(verifyModel(model).map((d) => [d.code, d.severity])).toEqual([['IR_NOT_TOPOLOGICAL', 'warning']]);
    expect(topologicalOrder(model.graph)?.map((node) => node.opType)).toEqual(['MatMul', 'Relu']);
    matmul.setInput(0, relu.output(0));
    expect(topologicalOrder(model.graph)).toBeUndefined();
    expect(verifyModel(model).map((d) => d.code)).toContain('IR_GRAPH_CYCLE');
  });

  it('reports duplicate names, missing opsets and wrong initializer sizes', () => {
    const { model, x } = smallModel();
    model.graph.appendNode(
      new Node({ opType: 'Custom', domain: 'acme', inputs: [x], outputs: [new Value('product')] }),
    );
    const bad = new Tensor({
      name: 'b',
      dataType: DataType.FLOAT,
      dims: [3],
      data: Tensor.fromArray('t', DataType.FLOAT, [2], new Float32Array(2)).data,
    });
    model.graph.addInitializer(bad);
    const codes = verifyModel(model)
      .map((d) => d.code)
      .sort();
    expect(codes).toEqual(['IR_DUPLICATE_VALUE_NAME', 'IR_MISSING_OPSET', 'IR_TENSOR_SIZE_MISMATCH']);
  });

  it('sees values of enclosing graphs from subgraphs', () => {
    const outer = new GraphBuilder('outer');
    const condition = outer.input('condition', DataType.BOOL, []);
    const x = outer.input('x', DataType.FLOAT, [2]);
    const thenBranch = new GraphBuilder('then');
    thenBranch.output(thenBranch.op('Neg', [x]));
    const elseBranch = new GraphBuilder('else');
    elseBranch.output(elseBranch.op('Abs', [x]));
    const result = outer.op('If', [condition], {
      attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph },
    });
    outer.output(result);
    const model = outer.model();
    expect(verifyModel(model)).toEqual([]);
    expect([...model.graphs()].map((graph) => graph.name)).toEqual(['outer', 'then', 'else']);
    expect([...model.graph.allNodes()].map((node) => node.opType)).toEqual(['If', 'Neg', 'Abs']);
    expect(thenBranch.graph.parentNode?.opType).toBe('If');
  });
});

describe('tensor', () => {
  it('reads typed arrays from unaligned views by copying', () => {
    const backing = new Uint8Array(9);
    new Float32Array(backing.buffer, 4, 1)[0] = 1.5;
    const shifted = new Uint8Array(9);
    shifted.set(backing.subarray(4, 8), 1);
    const tensor = Tensor.fromArray('t', DataType.UINT8, [4], shifted.subarray(1, 5));
    tensor.dataType = DataType.FLOAT;
    tensor.dims = [1];
    expect(Array.from(tensor.toArray() as Float32Array)).toEqual([1.5]);
  });

  it('rejects data of the wrong size', () => {
    expect(() => Tensor.fromArray('t', DataType.FLOAT, [3], new Float32Array(2))).toThrow(/8 bytes given, 12 expected/);
  });

  it('keeps int64 exact', () => {
    const values = BigInt64Array.from([9223372036854775807n, -1n]);
    const tensor = Tensor.fromArray('t', DataType.INT64, [2], values);
    expect(Array.from(tensor.toArray() as BigInt64Array)).toEqual([9223372036854775807n, -1n]);
  });
});

describe('values returned by subgraphs', () => {
  function branchReturningOuterValue() {
    const outer = new GraphBuilder('outer');
    const condition = outer.input('condition', DataType.BOOL, []);
    const x = outer.input('x', DataType.FLOAT, [2]);
    const negated = outer.op('Neg', [x], { output: 'negated' });
    const thenBranch = new GraphBuilder('then');
    thenBranch.output(negated);
    const elseBranch = new GraphBuilder('else');
    elseBranch.output(elseBranch.op('Abs', [x]));
    const result = outer.op('If', [condition], {
      attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph },
    });
    outer.output(result);
    return { model: outer.model(), x, negated, thenBranch: thenBranch.graph, elseBranch: elseBranch.graph };
  }

  it('count as uses, and follow replaceAllUsesWith', () => {
    const { negated, x, thenBranch } = branchReturningOuterValue();
    expect(negated.uses).toHaveLength(0);
    expect(negated.isUsed).toBe(true);
    negated.replaceAllUsesWith(x);
    expect(thenBranch.outputs[0]).toBe(x);
    expect(negated.isUsed).toBe(false);
  });

  it('removing a node drops the reads its subgraphs made', () => {
    const { model, x } = branchReturningOuterValue();
    const ifNode = model.graph.nodes.find((node) => node.opType === 'If')!;
    const before = x.uses.length;
    model.graph.outputs.length = 0;
    model.graph.removeNode(ifNode);
    expect(x.uses.length).toBe(before - 1);
    expect(x.uses.every((use) => use.node.graph === model.graph)).toBe(true);
  });
});
