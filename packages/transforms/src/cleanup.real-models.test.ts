/**
 * The cleanup and fusion passes on every real pretrained model of @whittle/test-fixtures, and on the ONNX
 * conformance models of the operators they rewrite. Weights of several real models live in Constant nodes: the
 * `lift-constants` pass turns them into initializers first when it exists beside this file; otherwise this test
 * lifts them itself. Then:
 * - the passes without float arithmetic (sorting, identities, dead code, deduplication, unused parts) must leave
 *   ONNX Runtime outputs within 1e-6 (relative to each output's largest magnitude) of the original model's;
 * - with the fusions as well (BatchNormalization, bias Add, MatMul + Add), within 1e-4;
 * - the IR verifier reports no error, graph inputs and outputs keep their names and types, and running every pass
 *   again changes nothing.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DataType, type Model, Node, tensorType, Value } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import type { PassDefinition } from '@whittle/spec';
import {
  conformanceCases,
  type OrtTensor,
  type Outputs,
  type RealModelId,
  realModels,
  runOnnxRuntime,
  tensorToOrt,
} from '@whittle/test-fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import { deduplicateInitializers } from './deduplicate-initializers.js';
import { eliminateDeadCode } from './eliminate-dead-code.js';
import { eliminateIdentities } from './eliminate-identities.js';
import { fuseBatchNorm } from './fuse-batchnorm.js';
import { fuseBiasAdd } from './fuse-bias-add.js';
import { fuseMatMulAdd } from './fuse-matmul-add.js';
import { removeUnused } from './remove-unused.js';
import { contextFor, errorsOf, loadRealModel, nodeCount, opCounts, QUIET, readDataSetInputs } from './test-support.js';
import { topologicalSort } from './topological-sort.js';

// biome-ignore lint/suspicious/noExplicitAny: passes with options of their own types
type AnyPass = PassDefinition<any, Model>;

const context = contextFor();

/** Passes that move, drop or merge nodes and tensors but compute nothing. */
const EXACT: AnyPass[] = [
  topologicalSort,
  eliminateIdentities,
  eliminateDeadCode,
  deduplicateInitializers,
  removeUnused,
];
/** Fusions (float64 math stored back as float32), then the cleanup they make room for. */
const FUSIONS: AnyPass[] = [fuseBatchNorm, fuseBiasAdd, fuseMatMulAdd];

let liftConstants: AnyPass | undefined;

beforeAll(async () => {
  liftConstants = await siblingPass('lift-constants');
});

/** A pass definition exported by `./<name>.ts` beside this file, when another engineer has written it. */
async function siblingPass(name: string): Promise<AnyPass | undefined> {
  if (!existsSync(fileURLToPath(new URL(`./${name}.ts`, import.meta.url)))) return undefined;
  const module: Record<string, unknown> = await import(/* @vite-ignore */ `./${name}.js`);
  return Object.values(module).find(
    (value): value is AnyPass =>
      typeof value === 'object' && value !== null && (value as AnyPass).name === name && 'create' in value,
  );
}

/** Test-only stand-in for lift-constants: Constant nodes holding a `value` tensor become initializers. */
function liftConstantNodes(model: Model): number {
  const outputs = new Set([...model.graphs()].flatMap((graph) => graph.outputs));
  let lifted = 0;
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) {
      const attribute = node.attribute('value');
      const value = node.output(0);
      if (!node.is('Constant') || node.attributes.size !== 1 || attribute?.type !== 'tensor') continue;
      if (!value || outputs.has(value) || node.outputs.length !== 1) continue;
      node.setOutput(0, undefined);
      graph.removeNode(node);
      value.type ??= tensorType(attribute.value.dataType, [...attribute.value.dims]);
      graph.addInitializer(attribute.value, value);
      lifted++;
    }
  }
  return lifted;
}

const signature = (model: Model) => ({
  inputs: model.graph.inputs.map((value) => [value.name, value.type]),
  outputs: model.graph.outputs.map((value) => [value.name, value.type]),
});

/**
 * Absolute slack on top of the relative tolerance: ONNX Runtime's float32 Sigmoid and Softmax resolve values near 0
 * only to about 1e-7, whatever the logits' precision (the detector's probability map stays below 3e-6 on the
 * fixture's inputs, so a purely relative measure would compare kernel noise).
 */
const ABSOLUTE_SLACK = 1e-6;

interface Comparison {
  /** Largest |a - b| relative to the largest |a| of its output. */
  relative: number;
  /** Largest |a - b|. */
  absolute: number;
  /** Every element within `rtol * max|a| + ABSOLUTE_SLACK` (non-float outputs: equal). */
  within: boolean;
}

function compareOutputs(expected: Outputs, actual: Outputs, rtol: number): Comparison {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  let relative = 0;
  let absolute = 0;
  let within = true;
  for (const [name, tensor] of Object.entries(expected)) {
    const other = actual[name]!;
    expect(other.dims).toEqual(tensor.dims);
    expect(other.type).toBe(tensor.type);
    if (tensor.type !== 'float32' && tensor.type !== 'float64') {
      expect(Array.from(other.data as ArrayLike<unknown>)).toEqual(Array.from(tensor.data as ArrayLike<unknown>));
      continue;
    }
    const a = tensor.data as Float32Array;
    const b = other.data as Float32Array;
    let scale = 0;
    for (const value of a) if (Number.isFinite(value)) scale = Math.max(scale, Math.abs(value));
    for (let index = 0; index < a.length; index++) {
      const left = a[index]!;
      const right = b[index]!;
      if (Object.is(left, right) || left === right) continue;
      if (!Number.isFinite(left) || !Number.isFinite(right)) {
        within = false;
        relative = Number.POSITIVE_INFINITY;
        continue;
      }
      const difference = Math.abs(left - right);
      absolute = Math.max(absolute, difference);
      relative = Math.max(relative, scale > 0 ? difference / scale : Number.POSITIVE_INFINITY);
      if (difference > rtol * scale + ABSOLUTE_SLACK) within = false;
    }
  }
  return { relative, absolute, within };
}

interface Step {
  pass: string;
  changed: boolean;
  statistics: Record<string, number>;
}

async function runPasses(model: Model, passes: readonly AnyPass[]): Promise<Step[]> {
  const steps: Step[] = [];
  for (const definition of passes) {
    const result = await definition.create({}).run(model, context);
    expect(result.model).toBe(model);
    steps.push({ pass: definition.name, changed: result.changed, statistics: result.statistics ?? {} });
  }
  return steps;
}

/** Each pass run twice in a row: the second run must change nothing. */
async function expectIdempotent(model: Model, passes: readonly AnyPass[]): Promise<void> {
  for (const definition of passes) {
    await definition.create({}).run(model, context);
    const again = await definition.create({}).run(model, context);
    expect(again.changed, `${definition.name} changed the model on a second run`).toBe(false);
  }
}

/** Run the sequence until a round changes nothing (one fusion can open the way for another); all steps. */
async function runToFixpoint(model: Model, passes: readonly AnyPass[], maxRounds = 5): Promise<Step[]> {
  const steps: Step[] = [];
  for (let round = 0; round < maxRounds; round++) {
    const roundSteps = await runPasses(model, passes);
    steps.push(...roundSteps);
    if (!roundSteps.some((step) => step.changed)) return steps;
  }
  throw new Error(`no fixpoint after ${maxRounds} rounds`);
}

/** Statistics of the same pass summed over rounds. */
function merged(steps: readonly Step[]): Step[] {
  const byPass = new Map<string, Step>();
  for (const step of steps) {
    const known = byPass.get(step.pass);
    if (!known) {
      byPass.set(step.pass, { pass: step.pass, changed: step.changed, statistics: { ...step.statistics } });
      continue;
    }
    known.changed ||= step.changed;
    for (const [key, value] of Object.entries(step.statistics)) {
      known.statistics[key] = (known.statistics[key] ?? 0) + value;
    }
  }
  return [...byPass.values()];
}

/** What fired, as `pass: key=value` for the non-zero statistics of passes that changed the model. */
function summary(steps: readonly Step[]): string {
  return steps
    .filter((step) => step.changed)
    .map((step) => {
      const counts = Object.entries(step.statistics)
        .filter(([, value]) => value !== 0)
        .map(([key, value]) => `${key}=${value}`);
      return `${step.pass}(${counts.join(' ')})`;
    })
    .join(', ');
}

const formatComparison = (comparison: Comparison) =>
  `${comparison.relative.toExponential(2)} / ${comparison.absolute.toExponential(2)}`;

const fired = new Map<RealModelId, Step[]>();

describe('cleanup and fusion passes on real models', () => {
  it.each(realModels.map((fixture) => [fixture.id, fixture] as const))(
    '%s: same outputs, valid IR, same interface, idempotent',
    async (id, fixture) => {
      const { model, feeds, expected } = await loadRealModel(fixture);
      const interfaceBefore = signature(model);
      const original = nodeCount(model);

      const lifted = liftConstants
        ? (await liftConstants.create({}).run(model, context)).statistics
        : { constantNodesLifted: liftConstantNodes(model) };
      const afterLift = nodeCount(model);
      expect(compareOutputs(expected, await runOnnxRuntime(encodeModel(model), feeds), 1e-6).within).toBe(true);

      const exact = merged(await runToFixpoint(model, EXACT));
      const afterExact = nodeCount(model);
      expect(errorsOf(model)).toEqual([]);
      expect(signature(model)).toEqual(interfaceBefore);
      const exactDifference = compareOutputs(expected, await runOnnxRuntime(encodeModel(model), feeds), 1e-6);
      expect(exactDifference.within).toBe(true);
      await expectIdempotent(model, EXACT);

      const batchNorms = opCounts(model).BatchNormalization ?? 0;
      const fusion = merged(await runToFixpoint(model, [...FUSIONS, ...EXACT]));
      const afterFusion = nodeCount(model);
      expect(errorsOf(model)).toEqual([]);
      expect(signature(model)).toEqual(interfaceBefore);
      const fusedDifference = compareOutputs(expected, await runOnnxRuntime(encodeModel(model), feeds), 1e-4);
      expect(fusedDifference.within).toBe(true);
      await expectIdempotent(model, [...FUSIONS, ...EXACT]);

      fired.set(id, [...exact, ...fusion]);
      console.log(
        `${id}: nodes ${original} -> ${afterLift} after ${liftConstants ? 'lift-constants' : 'lifting Constant nodes (test)'} ` +
          `${JSON.stringify(lifted)} -> ${afterExact} after cleanup -> ${afterFusion} after fusions; ` +
          `BatchNormalization ${batchNorms} -> ${opCounts(model).BatchNormalization ?? 0}; ` +
          `largest difference (relative / absolute) ${formatComparison(exactDifference)} after cleanup, ` +
          `${formatComparison(fusedDifference)} after fusions\n  ` +
          `cleanup: ${summary(exact) || 'nothing'}\n  fusions: ${summary(fusion) || 'nothing'}`,
      );
    },
  );

  it('fuse-batchnorm folds the classifier’s BatchNormalization nodes into its Convs', () => {
    const steps = fired.get('ocr-cls');
    expect(steps).toBeDefined();
    const fuse = steps!.find((step) => step.pass === 'fuse-batchnorm')!;
    expect(fuse.changed).toBe(true);
    expect(fuse.statistics.batchNormsFused).toBeGreaterThan(0);
    expect(fuse.statistics.intoConv).toBe(fuse.statistics.batchNormsFused);
  });
});

/** Operators the passes rewrite, as named in the conformance suite. */
const CONFORMANCE_PREFIXES = [
  'test_batchnorm',
  'test_cast_',
  'test_conv',
  'test_dropout',
  'test_flatten',
  'test_gemm',
  'test_identity',
  'test_matmul',
  'test_reshape',
  'test_squeeze',
  'test_transpose',
  'test_unsqueeze',
];

const SIGNED_FLOATS = new Set([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);

/**
 * Put a Neg between a float first input and its readers: the node under test then reads a node output, so that
 * removing it does not have to rename a graph output onto a graph input (which the passes refuse to do).
 */
function wrapFirstInput(model: Model): void {
  const input = model.graph.inputs[0];
  if (input?.type?.kind !== 'tensor' || !SIGNED_FLOATS.has(input.type.elementType)) return;
  if (model.graph.outputs.includes(input)) return;
  const negated = new Value(`${input.name}_negated`, input.type);
  const uses = [...input.uses];
  model.graph.insertBefore(model.graph.nodes[0]!, new Node({ opType: 'Neg', inputs: [input], outputs: [negated] }));
  for (const use of uses) use.node.setInput(use.index, negated);
}

describe('cleanup and fusion passes on conformance models', () => {
  const cases = conformanceCases(['node']).filter((testCase) =>
    CONFORMANCE_PREFIXES.some((prefix) => testCase.name.startsWith(prefix)),
  );

  it.skipIf(cases.length === 0)('keep ONNX Runtime outputs, with every input but the first frozen', async () => {
    let compared = 0;
    const changed: string[] = [];
    const failures: string[] = [];
    for (const testCase of cases) {
      const set = testCase.dataSets[0];
      if (!set || set.inputs.length === 0) continue;
      const model = readModel(testCase.modelPath).model;
      let feeds: OrtTensor[];
      let expected: Outputs;
      try {
        // Weights, shapes, axes and ratios fed as inputs become initializers, so that the passes see constants.
        const tensors = readDataSetInputs(set);
        const frozen = model.graph.inputs.splice(1);
        if (frozen.length !== tensors.length - 1) continue;
        for (const [index, value] of frozen.entries()) model.graph.addInitializer(tensors[index + 1]!, value);
        feeds = [tensorToOrt(tensors[0]!)];
        wrapFirstInput(model);
        expected = await runOnnxRuntime(encodeModel(model), feeds, QUIET);
      } catch {
        continue;
      }
      const interfaceBefore = signature(model);
      const steps = await runToFixpoint(model, [...EXACT, ...FUSIONS, ...EXACT]);
      await expectIdempotent(model, [...EXACT, ...FUSIONS]);
      if (steps.some((step) => step.changed)) changed.push(testCase.name);
      const errors = errorsOf(model);
      if (errors.length > 0) failures.push(`${testCase.id}: ${errors.map((error) => error.message).join('; ')}`);
      if (JSON.stringify(signature(model)) !== JSON.stringify(interfaceBefore))
        failures.push(`${testCase.id}: interface`);
      try {
        const actual = await runOnnxRuntime(encodeModel(model), feeds, QUIET);
        const comparison = compareOutputs(expected, actual, 1e-4);
        if (!comparison.within) failures.push(`${testCase.id}: outputs differ by ${comparison.relative}`);
      } catch (error) {
        failures.push(`${testCase.id}: ${(error as Error).message}`);
      }
      compared++;
    }
    console.log(`conformance: ${compared} models compared, changed by the passes: ${changed.join(', ')}`);
    expect(failures).toEqual([]);
    expect(compared).toBeGreaterThan(50);
    expect(changed.length).toBeGreaterThan(5);
  });
});
