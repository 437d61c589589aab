import { DataType, GraphBuilder, verifyModel } from '@whittle/ir';
import { describe, expect, it } from 'vitest';
import { bypassNode } from './graph-edits.js';

describe('bypassNode', () => {
  it('routes readers to the replacement and removes the node', () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [2]);
    const relu = builder.op('Relu', [x], { output: 'relu' });
    const identity = builder.op('Identity', [relu], { output: 'copy' });
    builder.output(builder.op('Neg', [identity], { output: 'y' }));
    const model = builder.model();
    expect(bypassNode(identity.producer!, relu)).toBe(true);
    expect(model.graph.nodes.map((node) => node.opType)).toEqual(['Relu', 'Neg']);
    expect(model.graph.nodes[1]!.input(0)).toBe(relu);
    expect(verifyModel(model)).toEqual([]);
  });

  it('keeps a graph output name by renaming the replacement', () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [2]);
    const relu = builder.op('Relu', [x], { output: 'relu' });
    const output = builder.output(builder.op('Identity', [relu], { output: 'y' }));
    const model = builder.model();
    expect(bypassNode(output.producer!, relu)).toBe(true);
    expect(model.graph.outputs.map((value) => value.name)).toEqual(['y']);
    expect(model.graph.outputs[0]).toBe(relu);
  });

  it('keeps the node when the replacement is a graph input', () => {
    const builder = new GraphBuilder();
    const x = builder.input('x', DataType.FLOAT, [2]);
    const output = builder.output(builder.op('Identity', [x], { output: 'y' }));
    const model = builder.model();
    expect(bypassNode(output.producer!, x)).toBe(false);
    expect(model.graph.nodeCount).toBe(1);
    expect(model.graph.outputs[0]!.name).toBe('y');
  });
});
