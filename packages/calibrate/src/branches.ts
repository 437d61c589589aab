/**
 * Tensors inside If branches cannot be calibrated where they are: a runtime returns main-graph values only (Silero
 * VAD keeps all its Convs in the branches of an If on the sample rate). For calibration, the branch an If takes is
 * hoisted into the main graph, before the If, and the branch returns the hoisted values through Identity nodes: the
 * model computes the same for inputs that take that branch, and its tensors keep their names, so the table's
 * entries are found by quantize-static inside the branch of the original model.
 */
import { type Model, Node, Value } from '@whittle/ir';
import type { ExecutorFactory, ExecutorTensor } from '@whittle/spec';
import { decodeModel, encodeModel } from '@whittle/onnx';
import { type CalibrationDataset, firstSample, type Sample } from './dataset.js';

export type BranchName = 'then_branch' | 'else_branch';

/** The main-graph If nodes, with the condition each reads. */
export function mainGraphIfs(model: Model): { node: Node; condition: Value }[] {
  const found: { node: Node; condition: Value }[] = [];
  for (const node of model.graph.nodes) {
    const condition = node.input(0);
    if (node.is('If') && condition) found.push({ node, condition });
  }
  return found;
}

/**
 * Move the nodes and initializers of the chosen branch of each given main-graph If into the main graph, before the
 * If; the branch then returns the moved values through Identity nodes (ONNX Runtime rejects a branch that returns
 * an outer value directly). Returns the number of nodes moved.
 */
export function hoistBranches(model: Model, taken: ReadonlyMap<Node, BranchName>): number {
  const main = model.graph;
  let moved = 0;
  for (const [node, branchName] of taken) {
    if (node.graph !== main) continue;
    const attribute = node.attribute(branchName);
    if (attribute?.type !== 'graph') continue;
    const branch = attribute.value;
    for (const value of [...branch.initializers]) {
      const tensor = value.initializer!;
      branch.removeInitializer(value);
      main.addInitializer(tensor, value);
    }
    for (const inner of [...branch.nodes]) {
      for (const output of inner.outputs) {
        const info = output ? branch.valueInfo.indexOf(output) : -1;
        if (info < 0) continue;
        branch.valueInfo.splice(info, 1);
        main.valueInfo.push(output!);
      }
      branch.removeNode(inner, { force: true });
      main.insertBefore(node, inner);
      // Re-setting each input records the use in the main graph's scope.
      inner.inputs.forEach((value, index) => {
        inner.setInput(index, value);
      });
      moved++;
    }
    branch.outputs.forEach((value, index) => {
      const name = `${value.name}__hoisted`;
      const identity = new Node({ opType: 'Identity', name, inputs: [value], outputs: [new Value(name, value.type)] });
      branch.appendNode(identity);
      branch.outputs[index] = identity.output(0)!;
    });
  }
  return moved;
}

function truthOf(tensor: ExecutorTensor | undefined): boolean | undefined {
  const data = tensor?.data;
  if (!data || !ArrayBuffer.isView(data)) return undefined;
  const first = (data as unknown as ArrayLike<number | bigint | boolean>)[0];
  return first === undefined ? undefined : Boolean(first);
}

/**
 * Hoist, level by level, the branch each main-graph If takes on `sample` (read from the runtime; a constant
 * condition is read from the model), so that nested Ifs come up too. Returns the number of nodes moved. The model
 * is changed: callers pass a copy.
 */
export async function hoistTakenBranches(
  model: Model,
  sample: Sample,
  executors: ExecutorFactory<Model>,
  levels = 8,
): Promise<number> {
  const done = new Set<Node>();
  let moved = 0;
  for (let level = 0; level < levels; level++) {
    const pending = mainGraphIfs(model).filter(({ node }) => !done.has(node));
    if (pending.length === 0) break;
    const computed = pending.filter(({ condition }) => !condition.constant).map(({ condition }) => condition.name);
    let outputs: Record<string, ExecutorTensor> = {};
    if (computed.length > 0) {
      const executor = await executors.create(model, { capture: [...new Set(computed)] });
      try {
        outputs = await executor.run(sample);
      } finally {
        await executor.dispose();
      }
    }
    const taken = new Map<Node, BranchName>();
    for (const { node, condition } of pending) {
      done.add(node);
      const constant = condition.constant;
      const truth = constant ? Boolean(constant.toArray()[0]) : truthOf(outputs[condition.name]);
      if (truth !== undefined) taken.set(node, truth ? 'then_branch' : 'else_branch');
    }
    moved += hoistBranches(model, taken);
  }
  return moved;
}

/**
 * `model` itself when it has no main-graph If; else a copy with the branches the dataset's first sample takes
 * hoisted into the main graph (see `hoistTakenBranches`), so that the tensors inside them can be captured under
 * their own names.
 */
export async function withTakenBranches(
  model: Model,
  dataset: CalibrationDataset,
  executors: ExecutorFactory<Model>,
): Promise<Model> {
  if (mainGraphIfs(model).length === 0) return model;
  const copy = decodeModel(encodeModel(model)).model;
  await hoistTakenBranches(copy, await firstSample(dataset), executors);
  return copy;
}
