/**
 * Shape inference against onnxruntime on the ONNX conformance suite and on the real models.
 *
 * Conformance: for every case whose inputs onnxruntime-node can take and whose original model it runs on
 * test_data_set_0, the inputs are fixed to that data set's shapes, every type the model records for node outputs is
 * removed (so inference has to find them itself), shapes are inferred, and each graph output's inferred element type
 * and shape is compared with the tensor onnxruntime produces: agree, unknown (fewer facts: allowed) or WRONG (never).
 * The same models with their recorded types kept must give no SHAPE_CONFLICT, and a second run changes nothing.
 *
 * Real models: inputs fixed to the fixtures' sizes, every value of every live graph gets a known element type and a
 * fully static shape; every value of the main graph (exposed as an extra output) matches onnxruntime; the written
 * model runs in onnxruntime with bit-identical outputs.
 */
import { DataType, type Graph, type Model, type Tensor, type Value, type ValueType } from '@whittle/ir';
import { encodeModel } from '@whittle/onnx';
import { readModel } from '@whittle/onnx/node';
import {
  type ConformanceCase,
  conformanceCases,
  type OrtTensor,
  type Outputs,
  ortTypeOf,
  outputsDifference,
  type RealModelId,
  realModels,
  runOnnxRuntime,
  tensorToOrt,
} from '@whittle/test-fixtures';
import type { Diagnostic } from '@whittle/spec';
import { beforeAll, describe, expect, it } from 'vitest';
import { setInputShapes } from './fix-input-shapes.js';
import { runShapeInference } from './infer-shapes.js';
import { ShapeInferenceCodes } from './shape-inference/codes.js';
import { loadRealModel, QUIET, readDataSetInputs } from './test-support.js';

const cases = conformanceCases();
type Verdict = 'agree' | 'unknown' | 'wrong';

const message = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);

function describeType(type: ValueType | undefined): string {
  if (type?.kind !== 'tensor') return type ? type.kind : 'unknown';
  const shape = type.shape ? `[${type.shape.map((dim) => (dim === null ? '?' : String(dim))).join(',')}]` : '';
  return `${ortTypeOf(type.elementType) ?? DataType[type.elementType]}${shape}`;
}

/** How an inferred type compares with the tensor onnxruntime produced. */
function judge(type: ValueType | undefined, tensor: OrtTensor): Verdict {
  const usable = type?.kind === 'tensor' ? type : undefined;
  if (!usable) return type && type.kind !== 'other' ? 'wrong' : 'unknown';
  let complete = true;
  if (usable.elementType === DataType.UNDEFINED) complete = false;
  else if (ortTypeOf(usable.elementType) !== tensor.type) return 'wrong';
  if (!usable.shape) return 'unknown';
  if (usable.shape.length !== tensor.dims.length) return 'wrong';
  for (let index = 0; index < usable.shape.length; index++) {
    const dim = usable.shape[index];
    if (typeof dim === 'number') {
      if (dim !== tensor.dims[index]) return 'wrong';
    } else complete = false;
  }
  return complete ? 'agree' : 'unknown';
}

/** The node outputs of every graph. */
function* nodeOutputs(model: Model): Generator<Value> {
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) for (const output of node.outputs) if (output) yield output;
  }
}

/** Forget every recorded type of a node output (value_info and output types), in every graph. */
function stripTypes(model: Model): void {
  for (const value of nodeOutputs(model)) value.type = undefined;
  for (const graph of model.graphs()) graph.valueInfo.length = 0;
}

/** Input shapes of a data set, by the names of the inputs the model declares (initializers aside). */
function inputShapes(model: Model, tensors: readonly OrtTensor[]): Record<string, number[]> {
  const inputs = model.graph.inputs.filter((value) => !value.initializer);
  const shapes: Record<string, number[]> = {};
  tensors.forEach((tensor, index) => {
    const input = inputs[index];
    if (input) shapes[input.name] = [...tensor.dims];
  });
  return shapes;
}

interface Judged {
  output: string;
  verdict: Verdict;
  inferred: string;
  actual: string;
}

interface CaseOutcome {
  id: string;
  /** Graph outputs. */
  verdicts: Judged[];
  /** Values inside the main graph, exposed as extra outputs. */
  intermediate: Judged[];
  /** Graph outputs and main-graph values when the input values are known (inputs turned into initializers). */
  folded: Judged[];
}

const outcomes: CaseOutcome[] = [];
const notes: string[] = [];
const problems: string[] = [];
const conflicts: string[] = [];
const notIdempotent: string[] = [];
const rewritten: string[] = [];
const notExposed: string[] = [];
let skipped = 0;
let conformanceSeconds = 0;

/** test_data_set_0's inputs as IR tensors and as ORT tensors, or undefined when ORT's JS API cannot take them. */
function inputsOf(testCase: ConformanceCase, model: Model): { tensors: Tensor[]; feeds: OrtTensor[] } | undefined {
  const declared = model.graph.inputs.filter((value) => !value.initializer);
  if (declared.some((value) => value.type && value.type.kind !== 'tensor')) return undefined;
  const set = testCase.dataSets[0];
  if (!set) return undefined;
  try {
    const tensors = readDataSetInputs(set);
    return { tensors, feeds: tensors.map(tensorToOrt) };
  } catch {
    return undefined;
  }
}

async function tryRun(model: string | Uint8Array, feeds: readonly OrtTensor[] | Record<string, OrtTensor>) {
  try {
    return await runOnnxRuntime(model, feeds, QUIET);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function inferFixed(model: Model, shapes: Record<string, number[]>): { diagnostics: Diagnostic[]; changed: boolean } {
  setInputShapes(model, shapes);
  const diagnostics: Diagnostic[] = [];
  const { changed } = runShapeInference(model, {
    report: (diagnostic) => diagnostics.push({ severity: 'warning', ...diagnostic }),
  });
  return { diagnostics, changed };
}

async function checkCase(testCase: ConformanceCase): Promise<void> {
  let model: Model;
  try {
    model = readModel(testCase.modelPath).model;
  } catch {
    skipped++;
    return;
  }
  const inputs = inputsOf(testCase, model);
  if (!inputs) {
    skipped++;
    return;
  }
  const feeds = inputs.feeds;
  const expected = await tryRun(testCase.modelPath, feeds);
  if (expected instanceof Error) {
    skipped++;
    return;
  }
  const shapes = inputShapes(model, feeds);

  // Recorded types kept: inference must agree with them, a second run must change nothing, and the written
  // model must run with the same outputs.
  try {
    const { diagnostics } = inferFixed(model, shapes);
    for (const diagnostic of diagnostics) {
      if (diagnostic.code === ShapeInferenceCodes.SHAPE_CONFLICT)
        conflicts.push(`${testCase.id}: ${diagnostic.message}`);
    }
    const again = runShapeInference(model);
    if (again.changed) notIdempotent.push(testCase.id);
    const actual = await tryRun(encodeModel(model), feeds);
    if (actual instanceof Error) rewritten.push(`${testCase.id}: the written model does not run: ${message(actual)}`);
    else if (outputsDifference(expected, actual)) {
      const reference = await tryRun(testCase.modelPath, feeds);
      const nondeterministic = !(reference instanceof Error) && outputsDifference(expected, reference) !== undefined;
      if (!nondeterministic) {
        rewritten.push(`${testCase.id}: the written model gives other outputs: ${outputsDifference(expected, actual)}`);
      }
    }
  } catch (error) {
    problems.push(`${testCase.id}: ${message(error)}`);
  }

  // Recorded types stripped: inference on its own, compared with what onnxruntime produces.
  const stripped = readModel(testCase.modelPath).model;
  stripTypes(stripped);
  let diagnostics: Diagnostic[];
  try {
    diagnostics = inferFixed(stripped, shapes).diagnostics;
  } catch (error) {
    problems.push(`${testCase.id}: ${message(error)}`);
    return;
  }
  for (const diagnostic of diagnostics) {
    if (
      diagnostic.code === ShapeInferenceCodes.INFERENCE_FAILED ||
      diagnostic.code === ShapeInferenceCodes.SHAPE_MISMATCH
    )
      problems.push(`${testCase.id}: ${diagnostic.message}`);
    if (diagnostic.code === ShapeInferenceCodes.UNSUPPORTED_OP) notes.push(`${testCase.id}: ${diagnostic.message}`);
  }
  const outcome: CaseOutcome = { id: testCase.id, verdicts: [], intermediate: [], folded: [] };
  for (const output of stripped.graph.outputs) {
    const tensor = (expected as Outputs)[output.name];
    if (!tensor) continue;
    outcome.verdicts.push({
      output: output.name,
      verdict: judge(output.type, tensor),
      inferred: describeType(output.type),
      actual: `${tensor.type}[${tensor.dims.join(',')}]`,
    });
  }
  outcomes.push(outcome);

  // Intermediate values of the main graph, exposed as outputs (those inference typed as tensors).
  outcome.intermediate.push(...(await judgeEverything(testCase, stripped, feeds)));

  // Input values known: the test data become initializers, so shapes computed from input values are known too.
  const folded = readModel(testCase.modelPath).model;
  stripTypes(folded);
  const declared = folded.graph.inputs.filter((value) => !value.initializer);
  if (inputs.tensors.length !== declared.length) return;
  inputs.tensors.forEach((tensor, index) => {
    const input = declared[index]!;
    folded.graph.inputs.splice(folded.graph.inputs.indexOf(input), 1);
    input.type = undefined;
    folded.graph.addInitializer(tensor, input);
  });
  runShapeInference(folded);
  outcome.folded.push(...(await judgeEverything(testCase, folded, [])));
}

/** Expose every typed main-graph value as an output, run onnxruntime, judge each (and the graph outputs too). */
async function judgeEverything(testCase: ConformanceCase, model: Model, feeds: OrtTensor[]): Promise<Judged[]> {
  const exposed = model.graph.nodes.flatMap((node) =>
    node.outputs.filter(
      (value): value is Value =>
        value !== undefined && value.type?.kind === 'tensor' && !model.graph.outputs.includes(value),
    ),
  );
  const outputs = [...model.graph.outputs];
  model.graph.outputs.push(...exposed);
  const all = await tryRun(encodeModel(model), feeds);
  if (all instanceof Error) {
    notExposed.push(`${testCase.id}: ${message(all)}`);
    return [];
  }
  const judged: Judged[] = [];
  for (const value of [...(feeds.length === 0 ? outputs : []), ...exposed]) {
    const tensor = all[value.name];
    if (!tensor) continue;
    judged.push({
      output: value.name,
      verdict: judge(value.type, tensor),
      inferred: describeType(value.type),
      actual: `${tensor.type}[${tensor.dims.join(',')}]`,
    });
  }
  return judged;
}

beforeAll(async () => {
  const started = performance.now();
  for (const testCase of cases) await checkCase(testCase);
  conformanceSeconds = (performance.now() - started) / 1000;
}, 600_000);

describe.skipIf(cases.length === 0)('infer-shapes on the ONNX conformance suite', () => {
  it('never infers a wrong element type or shape for a graph output', () => {
    const verdicts = outcomes.flatMap((outcome) => outcome.verdicts.map((verdict) => ({ ...verdict, id: outcome.id })));
    const count = (kind: Verdict) => verdicts.filter((verdict) => verdict.verdict === kind).length;
    const agree = count('agree');
    const unknown = count('unknown');
    const wrong = verdicts.filter((verdict) => verdict.verdict === 'wrong');
    const casesAgreeing = outcomes.filter(
      (outcome) => outcome.verdicts.length > 0 && outcome.verdicts.every((verdict) => verdict.verdict === 'agree'),
    ).length;
    const inner = outcomes.flatMap((outcome) =>
      outcome.intermediate.map((verdict) => ({ ...verdict, id: outcome.id })),
    );
    const innerAgree = inner.filter((verdict) => verdict.verdict === 'agree').length;
    const innerWrong = inner.filter((verdict) => verdict.verdict === 'wrong');
    const folded = outcomes.flatMap((outcome) => outcome.folded.map((verdict) => ({ ...verdict, id: outcome.id })));
    const foldedAgree = folded.filter((verdict) => verdict.verdict === 'agree').length;
    const foldedWrong = folded.filter((verdict) => verdict.verdict === 'wrong');
    const unknownList = verdicts
      .filter((verdict) => verdict.verdict === 'unknown')
      .map((verdict) => `${verdict.id} ${verdict.output}: inferred ${verdict.inferred}, actual ${verdict.actual}`);
    console.log(
      [
        `infer-shapes conformance (${conformanceSeconds.toFixed(1)} s): ${outcomes.length} cases compared with onnxruntime, ${skipped} skipped (inputs ORT's JS API cannot take, or ORT rejects the model)`,
        `  graph outputs: ${verdicts.length}, agree ${agree} (${((100 * agree) / Math.max(1, verdicts.length)).toFixed(1)}%), unknown ${unknown}, WRONG ${wrong.length}`,
        `  cases with every output agreeing: ${casesAgreeing}/${outcomes.length}`,
        `  intermediate values (main graph, exposed as outputs): ${inner.length}, agree ${innerAgree}, WRONG ${innerWrong.length}; ${notExposed.length} runs could not expose them`,
        `  with input values known too (inputs as initializers), outputs and intermediate values: ${folded.length}, agree ${foldedAgree} (${((100 * foldedAgree) / Math.max(1, folded.length)).toFixed(1)}%), WRONG ${foldedWrong.length}`,
        ...folded
          .filter((verdict) => verdict.verdict === 'unknown')
          .slice(0, 80)
          .map(
            (verdict) =>
              `    unknown with values known: ${verdict.id} ${verdict.output}: inferred ${verdict.inferred}, actual ${verdict.actual}`,
          ),
        `  with recorded types kept: ${conflicts.length} SHAPE_CONFLICT, ${notIdempotent.length} not idempotent, ${rewritten.length} written models that do not run the same`,
        `  unknown outputs (${unknownList.length}):`,
        ...unknownList.slice(0, 40).map((line) => `    ${line}`),
        `  ops without inference: ${notes.length}`,
        ...notes.slice(0, 20).map((line) => `    ${line}`),
      ].join('\n'),
    );
    expect(outcomes.length).toBeGreaterThan(800);
    expect(
      wrong.map((verdict) => `${verdict.id} ${verdict.output}: inferred ${verdict.inferred}, actual ${verdict.actual}`),
    ).toEqual([]);
    expect(
      [...innerWrong, ...foldedWrong].map(
        (verdict) => `${verdict.id} ${verdict.output}: inferred ${verdict.inferred}, actual ${verdict.actual}`,
      ),
    ).toEqual([]);
    // Outputs whose shape depends on input values (a Reshape target fed as an input) are unknown from shapes alone;
    // with the values known, only data-dependent outputs (NonZero, Unique, NonMaxSuppression...) stay unknown.
    expect(agree / verdicts.length).toBeGreaterThan(0.85);
    expect(foldedAgree / folded.length).toBeGreaterThan(0.97);
  });

  it('runs without failures or false mismatches', () => {
    expect(problems).toEqual([]);
  });

  it('agrees with the types the models record, and a second run changes nothing', () => {
    expect(conflicts).toEqual([]);
    expect(notIdempotent).toEqual([]);
  });

  it('writes models that onnxruntime runs with the same outputs', () => {
    expect(rewritten).toEqual([]);
  });
});

/** Every value of every graph that is not a dead branch: graph inputs of subgraphs and node outputs. */
function liveValues(model: Model, dead: ReadonlySet<string>): { graph: Graph; value: Value }[] {
  const found: { graph: Graph; value: Value }[] = [];
  const visit = (graph: Graph) => {
    if (dead.has(graph.name)) return;
    if (graph !== model.graph) for (const value of graph.inputs) found.push({ graph, value });
    for (const node of graph.nodes) {
      for (const value of node.outputs) if (value) found.push({ graph, value });
      for (const subgraph of node.subgraphs()) visit(subgraph);
    }
  };
  visit(model.graph);
  return found;
}

const isStaticTensor = (type: ValueType | undefined) =>
  type?.kind === 'tensor' &&
  type.elementType !== DataType.UNDEFINED &&
  type.shape?.every((dim) => typeof dim === 'number') === true;

describe('infer-shapes on the real models', () => {
  const coverage: string[] = [];

  it.each(realModels.map((fixture) => [fixture.id, fixture] as const))(
    '%s: every live value fully static, matching onnxruntime; idempotent; the written model runs unchanged',
    async (id: RealModelId, fixture) => {
      const { model, feeds, expected } = await loadRealModel(fixture);
      const shapes = Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, [...tensor.dims]]));
      const diagnostics: Diagnostic[] = [];
      setInputShapes(model, shapes);
      const result = runShapeInference(model, {
        report: (diagnostic) => diagnostics.push({ severity: 'warning', ...diagnostic }),
      });
      expect(result.changed).toBe(true);
      expect(diagnostics.filter((diagnostic) => diagnostic.code !== ShapeInferenceCodes.DEAD_BRANCH)).toEqual([]);
      const dead = new Set(
        diagnostics
          .filter((diagnostic) => diagnostic.code === ShapeInferenceCodes.DEAD_BRANCH)
          .map((diagnostic) => diagnostic.location?.graph ?? ''),
      );

      // Every value of every live graph: known element type, fully static shape.
      const values = liveValues(model, dead);
      const notStatic = values
        .filter(({ value }) => !isStaticTensor(value.type))
        .map(({ graph, value }) => `${graph.name}/${value.name}: ${describeType(value.type)}`);
      expect(notStatic).toEqual([]);
      coverage.push(
        `${id}: ${values.length - notStatic.length}/${values.length} values fully static` +
          (dead.size > 0 ? ` (+${result.statistics.valuesInDeadBranches} in ${dead.size} dead branches)` : ''),
      );

      // Graph outputs match onnxruntime.
      for (const output of model.graph.outputs) {
        expect(judge(output.type, expected[output.name]!), output.name).toBe('agree');
      }

      // Every main-graph value, exposed as an output, matches onnxruntime.
      const probe = readModel(fixture.path).model;
      setInputShapes(probe, shapes);
      runShapeInference(probe);
      const exposed = probe.graph.nodes.flatMap((node) =>
        node.outputs.filter((value): value is Value => value !== undefined && !probe.graph.outputs.includes(value)),
      );
      probe.graph.outputs.push(...exposed);
      const all = await runOnnxRuntime(encodeModel(probe), feeds);
      const wrong = exposed
        .filter((value) => all[value.name] && judge(value.type, all[value.name]!) !== 'agree')
        .map(
          (value) =>
            `${value.name}: inferred ${describeType(value.type)}, actual ${all[value.name]!.type}[${all[value.name]!.dims}]`,
        );
      expect(wrong).toEqual([]);

      // Idempotent.
      const again = runShapeInference(model);
      expect(again.changed).toBe(false);
      expect(again.statistics.valuesTyped).toBe(0);

      // The written model runs, with the very same outputs.
      const actual = await runOnnxRuntime(encodeModel(model), feeds);
      expect(outputsDifference(expected, actual)).toBeUndefined();
    },
  );

  it('reports coverage', () => {
    console.log(`infer-shapes real-model coverage:\n  ${coverage.join('\n  ')}`);
    expect(coverage).toHaveLength(realModels.length);
  });
});
