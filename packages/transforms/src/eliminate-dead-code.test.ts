import { DataType, GraphBuilder, type Model } from '@whittle/ir';
import type { PassResult } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { type EliminateDeadCodeOptions, eliminateDeadCode } from './eliminate-dead-code.js';
import { contextFor, errorsOf, opTypesOf } from './test-support.js';

const context = contextFor();

async function run(model: Model, options: EliminateDeadCodeOptions = {}): Promise<PassResult<Model>> {
  const result = await eliminateDeadCode.create(options).run(model, context);
  expect(errorsOf(result.model)).toEqual([]);
  return result;
}

/** Inputs x and cond, and a then branch that reads an outer value (Sigmoid(x)): what the If tests build on. */
function ifWithThenBranchReadingOuter() {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  const cond = b.input('cond', DataType.BOOL, []);
  const outer = b.op('Sigmoid', [x], { output: 'outer' });
  const thenBranch = new GraphBuilder('then');
  thenBranch.output(thenBranch.op('Neg', [outer], { output: 'then_out' }));
  return { b, x, cond, thenBranch };
}

describe('eliminate-dead-code', () => {
  it('removes chains whose outputs reach no graph output, keeps the rest, and is idempotent', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const dead = b.op('Exp', [x], { output: 'dead' });
    b.op('Log', [dead], { output: 'dead2' });
    const live = b.op('Relu', [x], { output: 'live' });
    b.output(b.op('Neg', [live], { output: 'y' }));
    const model = b.model();
    const result = await run(model);
    expect(result.changed).toBe(true);
    expect(result.statistics).toEqual({ nodesRemoved: 2, nodesInRemovedSubgraphs: 0 });
    expect(opTypesOf(model)).toEqual(['Relu', 'Neg']);
    expect(model.graph.outputs.map((value) => value.name)).toEqual(['y']);
    expect(model.graph.inputs.map((value) => value.name)).toEqual(['x']);
    expect(x.uses.map((use) => use.node.opType)).toEqual(['Relu']);
    const again = await run(model);
    expect(again.changed).toBe(false);
    expect(again.statistics!.nodesRemoved).toBe(0);
  });

  it('keeps a node with one used output among several, and drops value_info of removed values', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [4]);
    const [first] = b.node('Split', [x], { outputs: ['s0', 's1'], attributes: { axis: 0 } });
    const unused = b.op('Abs', [x], { output: 'unused' });
    b.graph.valueInfo.push(unused);
    b.output(first!);
    const model = b.model();
    await run(model);
    expect(opTypesOf(model)).toEqual(['Split']);
    expect(model.graph.valueInfo).toEqual([]);
  });

  it('counts values read by a live subgraph from the outer graph as uses', async () => {
    const { b, x, cond, thenBranch } = ifWithThenBranchReadingOuter();
    const elseBranch = new GraphBuilder('else');
    const unusedInBranch = elseBranch.op('Exp', [x], { output: 'else_dead' });
    elseBranch.op('Log', [unusedInBranch], { output: 'else_dead2' });
    elseBranch.output(elseBranch.op('Abs', [x], { output: 'else_out' }));
    b.output(
      b.op('If', [cond], {
        output: 'y',
        attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph },
      }),
    );
    const model = b.model();
    const result = await run(model);
    expect(opTypesOf(model)).toEqual(['Sigmoid', 'If']);
    expect(elseBranch.graph.nodes.map((node) => node.opType)).toEqual(['Abs']);
    expect(result.statistics!.nodesRemoved).toBe(2);
    expect((await run(model)).changed).toBe(false);
  });

  it('removes a dead If with its subgraphs and forgets the uses its branches made of outer values', async () => {
    const { b, x, cond, thenBranch } = ifWithThenBranchReadingOuter();
    const elseBranch = new GraphBuilder('else');
    elseBranch.output(elseBranch.op('Abs', [x], { output: 'else_out' }));
    b.op('If', [cond], {
      output: 'unused_if',
      attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph },
    });
    b.output(b.op('Relu', [x], { output: 'y' }));
    const model = b.model();
    const result = await run(model);
    expect(opTypesOf(model)).toEqual(['Relu']);
    expect(result.statistics).toEqual({ nodesRemoved: 2, nodesInRemovedSubgraphs: 2 });
    expect(x.uses.map((use) => use.node.opType)).toEqual(['Relu']);
    expect(cond.uses).toEqual([]);
  });

  it('keeps unused nodes of other domains unless their domain is declared pure', async () => {
    const build = () => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [2]);
      const logged = b.op('Exp', [x], { output: 'logged' });
      b.op('Print', [logged], { domain: 'com.example', output: 'printed' });
      b.op('FusedGelu', [x], { domain: 'com.microsoft', output: 'gelu' });
      b.output(b.op('Relu', [x], { output: 'y' }));
      return b.model({
        opsetImports: [
          { domain: '', version: 17 },
          { domain: 'com.example', version: 1 },
          { domain: 'com.microsoft', version: 1 },
        ],
      });
    };
    const conservative = build();
    await run(conservative);
    expect(opTypesOf(conservative)).toEqual(['Exp', 'Print', 'FusedGelu', 'Relu']);
    const trusting = build();
    await run(trusting, { pureDomains: ['com.microsoft'] });
    expect(opTypesOf(trusting)).toEqual(['Exp', 'Print', 'Relu']);
  });

  it('keeps an unused If whose branch holds a node that may have side effects', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const cond = b.input('cond', DataType.BOOL, []);
    const thenBranch = new GraphBuilder('then');
    thenBranch.output(thenBranch.op('Log', [x], { domain: 'com.example', output: 'then_out' }));
    const elseBranch = new GraphBuilder('else');
    elseBranch.output(elseBranch.op('Abs', [x], { output: 'else_out' }));
    b.op('If', [cond], {
      output: 'unused_if',
      attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph },
    });
    b.output(b.op('Relu', [x], { output: 'y' }));
    const model = b.model({
      opsetImports: [
        { domain: '', version: 17 },
        { domain: 'com.example', version: 1 },
      ],
    });
    const result = await run(model);
    expect(result.changed).toBe(false);
    expect(opTypesOf(model)).toEqual(['If', 'Relu']);
  });

  it('never touches graph inputs or outputs, even unused inputs and outputs that are inputs', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    b.input('unused', DataType.FLOAT, [2]);
    b.output(x);
    const model = b.model();
    const result = await run(model);
    expect(result.changed).toBe(false);
    expect(model.graph.inputs.map((value) => value.name)).toEqual(['x', 'unused']);
    expect(model.graph.outputs.map((value) => value.name)).toEqual(['x']);
  });

  it('declares a closed options schema', () => {
    expect(eliminateDeadCode.options).toMatchObject({ type: 'object', additionalProperties: false });
    expect(Object.keys((eliminateDeadCode.options as { properties: object }).properties)).toEqual(['pureDomains']);
  });
});
