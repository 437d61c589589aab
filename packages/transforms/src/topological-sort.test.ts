import { DataType, GraphBuilder, isTopologicallySorted, type Model, Node, verifyModel } from '@whittle/ir';
import { WhittleError } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { contextFor } from './test-support.js';
import { GRAPH_CYCLE, topologicalSort } from './topological-sort.js';

const context = contextFor();

const run = (model: Model) => topologicalSort.create({}).run(model, context);
const names = (model: Model) => model.graph.nodes.map((node) => node.name);

describe('topological-sort', () => {
  it('sorts a graph, keeps sorted graphs as they are, and is idempotent', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const a = b.op('Relu', [x], { name: 'a', output: 'a' });
    const c = b.op('Neg', [a], { name: 'c', output: 'c' });
    b.op('Abs', [x], { name: 'd', output: 'd' });
    b.output(b.op('Add', [c, a], { name: 'e', output: 'y' }));
    const model = b.model();
    const sorted = await run(model);
    expect(sorted.changed).toBe(false);
    expect(sorted.statistics).toEqual({ graphsReordered: 0, nodesMoved: 0 });

    const [first, second, third, fourth] = model.graph.nodes;
    model.graph.setNodeOrder([fourth!, second!, third!, first!]);
    expect(isTopologicallySorted(model.graph)).toBe(false);
    const result = await run(model);
    expect(result.changed).toBe(true);
    expect(result.statistics).toMatchObject({ graphsReordered: 1 });
    // Stable: among the ready nodes, the earlier one keeps going first.
    expect(names(model)).toEqual(['d', 'a', 'c', 'e']);
    expect(verifyModel(model)).toEqual([]);
    expect((await run(model)).changed).toBe(false);
  });

  it('sorts subgraphs and orders a node after the producers of outer values its subgraphs read', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const cond = b.input('cond', DataType.BOOL, []);
    const outer = b.op('Sigmoid', [x], { name: 'outer', output: 'outer' });
    const thenBranch = new GraphBuilder('then');
    const inner = thenBranch.op('Neg', [outer], { name: 'inner1', output: 'inner1' });
    thenBranch.output(thenBranch.op('Abs', [inner], { name: 'inner2', output: 'then_out' }));
    const elseBranch = new GraphBuilder('else');
    elseBranch.output(elseBranch.op('Identity', [x], { name: 'else', output: 'else_out' }));
    b.output(
      b.op('If', [cond], {
        name: 'if',
        output: 'y',
        attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph },
      }),
    );
    const model = b.model();
    const [sigmoid, ifNode] = model.graph.nodes;
    model.graph.setNodeOrder([ifNode!, sigmoid!]);
    const [n1, n2] = thenBranch.graph.nodes;
    thenBranch.graph.setNodeOrder([n2!, n1!]);
    const result = await run(model);
    expect(result.statistics).toEqual({ graphsReordered: 2, nodesMoved: 4 });
    expect(names(model)).toEqual(['outer', 'if']);
    expect(thenBranch.graph.nodes.map((node) => node.name)).toEqual(['inner1', 'inner2']);
    expect(verifyModel(model)).toEqual([]);
  });

  it('throws GRAPH_CYCLE on a cycle', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const a = new Node({ opType: 'Add', name: 'a', inputs: [x], outputs: ['a'] });
    const c = new Node({ opType: 'Neg', name: 'c', inputs: [a.output(0)], outputs: ['c'] });
    a.appendInput(c.output(0));
    b.graph.appendNode(a);
    b.graph.appendNode(c);
    b.output(c.output(0)!);
    const model = b.model();
    const error = await Promise.resolve()
      .then(() => run(model))
      .catch((caught: unknown) => caught);
    expect(WhittleError.is(error)).toBe(true);
    expect((error as WhittleError).code).toBe(GRAPH_CYCLE);
    expect((error as WhittleError).location).toEqual({ graph: 'main' });
  });
});
