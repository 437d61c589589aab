import { GraphBuilder } from '@whittle/ir';
import { describe, expect, it } from 'vitest';
import { DataType, infer, int64s, zeros } from './test-support.js';

function branch(name: string, build: (builder: GraphBuilder) => void): GraphBuilder {
  const builder = new GraphBuilder(name);
  build(builder);
  return builder;
}

describe('If', () => {
  it('infers both branches; the output keeps what they have in common', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, ['n', 4]);
      const condition = b.input('condition', DataType.BOOL, []);
      const thenBranch = branch('then', (t) => t.output(t.op('Relu', [x], { output: 'relu' })));
      const elseBranch = branch('else', (e) =>
        e.output(e.op('Concat', [x, x], { output: 'doubled', attributes: { axis: 1 } })),
      );
      b.output(
        b.op('If', [condition], {
          output: 'y',
          attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph },
        }),
      );
    });
    expect(result.shape('relu')).toEqual(['n', 4]);
    expect(result.shape('doubled')).toEqual(['n', 8]);
    expect(result.type('y')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: ['n', null] });
  });

  it('takes the branch a known condition picks, and the one branch that can run', () => {
    const build = (condition: (b: GraphBuilder) => ReturnType<GraphBuilder['input']>) => (b: GraphBuilder) => {
      const x = b.input('x', DataType.FLOAT, [2, 4]);
      const thenBranch = branch('then', (t) =>
        t.output(t.op('Squeeze', [x, t.initializer(int64s('axis', [0]))], { output: 'squeezed' })),
      );
      const elseBranch = branch('else', (e) => e.output(e.op('Identity', [x], { output: 'same' })));
      b.op('If', [condition(b)], {
        output: 'y',
        attributes: { then_branch: thenBranch.graph, else_branch: elseBranch.graph },
      });
    };
    // Squeezing a dim of 2 fails: only the else branch can run, whatever the condition.
    const dead = infer(build((b) => b.input('condition', DataType.BOOL, [])));
    expect(dead.shape('y')).toEqual([2, 4]);
    expect(dead.diagnostics.map((diagnostic) => diagnostic.code)).toContain('SHAPE_DEAD_BRANCH');
    expect(dead.statistics.valuesInDeadBranches).toBe(1);
    // The dead branch's value keeps what it declared (nothing).
    expect(dead.type('squeezed')).toBeUndefined();
    const known = infer(
      build((b) =>
        b.op('Equal', [b.op('Size', [b.input('z', DataType.FLOAT, [3])]), b.initializer(int64s('three', [3], []))]),
      ),
    );
    expect(known.diagnostics.map((diagnostic) => diagnostic.code)).toContain('SHAPE_MISMATCH');
  });
});

describe('Loop', () => {
  it('types the body, settles loop-carried shapes and stacks scan outputs', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [3]);
      const count = b.initializer(int64s('count', [5], []));
      const body = new GraphBuilder('body');
      body.input('i', DataType.INT64, []);
      const condIn = body.input('cond_in', DataType.BOOL, []);
      const sum = body.input('sum_in', DataType.FLOAT);
      const grown = body.input('grown_in', DataType.FLOAT);
      body.output(body.op('Identity', [condIn], { output: 'cond_out' }));
      body.output(body.op('Add', [sum, x], { output: 'sum_out' }));
      body.output(body.op('Concat', [grown, x], { output: 'grown_out', attributes: { axis: 0 } }));
      body.output(body.op('Mul', [sum, x], { output: 'scan_out' }));
      b.node('Loop', [count, undefined, x, x], {
        outputs: ['sum', 'grown', 'scanned'],
        attributes: { body: body.graph },
      });
    });
    expect(result.type('sum_in')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [3] });
    expect(result.shape('sum')).toEqual([3]);
    // The concatenated value grows each iteration: its size is not known.
    expect(result.shape('grown')).toEqual([null]);
    expect(result.type('scanned')).toEqual({ kind: 'tensor', elementType: DataType.FLOAT, shape: [5, 3] });
  });
});

describe('Scan', () => {
  it('slices scan inputs along their axis and stacks scan outputs', () => {
    const result = infer((b) => {
      const initial = b.input('initial', DataType.FLOAT, [2]);
      const sequence = b.input('sequence', DataType.FLOAT, [2, 7]);
      const body = new GraphBuilder('body');
      const state = body.input('state', DataType.FLOAT);
      const item = body.input('item', DataType.FLOAT);
      const next = body.op('Add', [state, item], { output: 'next' });
      body.output(next);
      body.output(body.op('Identity', [next], { output: 'out' }));
      b.node('Scan', [initial, sequence], {
        outputs: ['final', 'stacked'],
        attributes: { body: body.graph, num_scan_inputs: 1, scan_input_axes: [1], scan_output_axes: [-1] },
      });
    });
    expect(result.shape('item')).toEqual([2]);
    expect(result.shape('final')).toEqual([2]);
    expect(result.shape('stacked')).toEqual([2, 7]);
  });

  it('infers subgraphs of ops it has no rule for', () => {
    const result = infer((b) => {
      const x = b.input('x', DataType.FLOAT, [4]);
      const body = new GraphBuilder('body');
      body.output(body.op('Relu', [x], { output: 'inner' }));
      b.op('Mystery', [x], { output: 'y', domain: 'com.example', attributes: { body: body.graph } });
      b.initializer(zeros('unused', [1]));
    });
    expect(result.shape('inner')).toEqual([4]);
    expect(result.type('y')).toBeUndefined();
    expect(result.diagnostics.map((diagnostic) => diagnostic.code)).toContain('SHAPE_INFERENCE_UNSUPPORTED_OP');
  });
});
