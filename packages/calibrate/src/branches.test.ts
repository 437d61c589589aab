import { DataType, Graph, GraphBuilder, type Model, Node, Tensor, tensorType, Value } from '@whittle/ir';
import { decodeModel, encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import type { ExecutorTensor } from '@whittle/spec';
import { realModel, speechClips } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { hoistTakenBranches } from './branches.js';

const F = DataType.FLOAT;
const copy = (model: Model) => decodeModel(encodeModel(model)).model;

async function run(model: Model, sample: Record<string, ExecutorTensor>, capture: string[] = []) {
  const executor = await ortExecutorFactory.create(model, { capture });
  try {
    return await executor.run(sample);
  } finally {
    await executor.dispose();
  }
}

/** y = If(flag) then Relu(x · 2) else Neg(x): each branch with an initializer and a named intermediate. */
function branchy(): Model {
  const b = new GraphBuilder();
  const x = b.input('x', F, [4]);
  const flag = b.input('flag', DataType.BOOL, []);
  const branch = (name: string, build: (graph: Graph) => Value) => {
    const graph = new Graph(name);
    const out = build(graph);
    graph.outputs.push(out);
    return graph;
  };
  const thenBranch = branch('then', (graph) => {
    const two = graph.addInitializer(Tensor.fromArray('two', F, [], Float32Array.of(2)));
    const doubled = new Node({ opType: 'Mul', name: 'double', inputs: [x, two], outputs: [new Value('doubled')] });
    graph.appendNode(doubled);
    const relu = new Node({
      opType: 'Relu',
      name: 'relu',
      inputs: [doubled.output(0)!],
      outputs: [new Value('then_y', tensorType(F, [4]))],
    });
    graph.appendNode(relu);
    return relu.output(0)!;
  });
  const elseBranch = branch('else', (graph) => {
    const neg = new Node({
      opType: 'Neg',
      name: 'neg',
      inputs: [x],
      outputs: [new Value('else_y', tensorType(F, [4]))],
    });
    graph.appendNode(neg);
    return neg.output(0)!;
  });
  const node = b.op('If', [flag], {
    name: 'if',
    output: 'y',
    attributes: { then_branch: thenBranch, else_branch: elseBranch },
  });
  b.output(node, tensorType(F, [4]));
  return b.model({ opsetImports: [{ domain: '', version: 17 }] });
}

const sampleOf = (flag: boolean) => ({
  x: { type: 'float32', dims: [4], data: Float32Array.of(-1, 0.5, 2, -3) },
  flag: { type: 'bool', dims: [], data: Uint8Array.of(flag ? 1 : 0) },
});

describe('hoistTakenBranches', () => {
  for (const flag of [true, false]) {
    it(`moves the branch the sample takes (${flag ? 'then' : 'else'}) into the main graph; outputs unchanged`, async () => {
      const original = branchy();
      const hoisted = copy(original);
      const moved = await hoistTakenBranches(hoisted, sampleOf(flag), ortExecutorFactory);
      expect(moved).toBe(flag ? 2 : 1);
      const inner = flag ? 'doubled' : 'else_y';
      expect(hoisted.graph.findValue(inner)?.graph).toBe(hoisted.graph);
      const expected = await run(original, sampleOf(flag));
      const actual = await run(hoisted, sampleOf(flag), [inner]);
      expect(Array.from(actual.y!.data as Float32Array)).toEqual(Array.from(expected.y!.data as Float32Array));
      expect(actual[inner]).toBeDefined();
    });
  }

  it('Silero VAD: its STFT and encoder Convs come up to the main graph and the outputs stay bit-identical', async () => {
    const original = readModel(realModel('silero-vad-v5').path).model;
    const clip = speechClips('calibration').find((candidate) => candidate.speech)!;
    const sample = {
      input: { type: 'float32', dims: [1, 576], data: clip.samples.slice(8000, 8576) },
      state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
      sr: { type: 'int64', dims: [], data: BigInt64Array.of(16000n) },
    };
    const hoisted = copy(original);
    const before = hoisted.graph.nodes.filter((node) => node.is('Conv')).length;
    await hoistTakenBranches(hoisted, sample, ortExecutorFactory);
    const convs = hoisted.graph.nodes.filter((node) => node.is('Conv'));
    expect(before).toBe(0);
    expect(convs.length).toBeGreaterThanOrEqual(6);
    const captured = convs.map((node) => node.output(0)!.name);
    const expected = await run(original, sample);
    const actual = await run(hoisted, sample, captured);
    for (const name of ['output', 'stateN']) {
      expect(Array.from(actual[name]!.data as Float32Array)).toEqual(Array.from(expected[name]!.data as Float32Array));
    }
    for (const name of captured) expect(actual[name]).toBeDefined();
  });
});
