/**
 * The ONNX 1.12 conformance suite (Debian libonnx-testdata: node, pytorch-converted, pytorch-operator, simple)
 * through a plain round trip: every model.onnx is read with readModel and written back with writeModel. Where
 * ONNX Runtime runs the original on test_data_set_0, the written file must run too and give the very same bits
 * as the original (compared with ORT on the original, not with output_N.pb); onnx.checker must accept every
 * written file whose original it accepts (one Python process for all files).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Model, verifyModel } from '@whittle/ir';
import {
  type ConformanceCase,
  conformanceCases,
  conformanceFeeds,
  onnxCheckerReport,
  onnxSameModel,
  type OrtTensor,
  type Outputs,
  outputsDifference,
  runOnnxRuntime,
} from '@whittle/test-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTensor } from './decode.js';
import { readModel, writeModel } from './node.js';

const cases = conformanceCases();
const quiet = { logSeverityLevel: 4 } as const;

interface Outcome {
  testCase: ConformanceCase;
  written?: string;
  /** Why ORT was not compared: the original does not run, or its inputs cannot be fed from JavaScript. */
  notRun?: string;
  ran?: boolean;
  identical?: boolean;
  /** The original itself gives different bits from one session to the next (random ops). */
  nondeterministic?: boolean;
}

type FailureKind = 'read' | 'verify' | 'write' | 'ort' | 'checker' | 'proto';
const failures: { kind: FailureKind; text: string }[] = [];
const fail = (kind: FailureKind, text: string) => failures.push({ kind, text });
const failuresOf = (kind: FailureKind) =>
  failures.filter((failure) => failure.kind === kind).map((failure) => failure.text);
const outcomes: Outcome[] = [];
const counts = {
  cases: 0,
  loaded: 0,
  verified: 0,
  written: 0,
  ran: 0,
  identical: 0,
  nondeterministic: 0,
  notRunOriginalFails: 0,
  notRunInputs: 0,
  checkerOriginalAccepted: 0,
  checkerWrittenAccepted: 0,
  sameModelProto: 0,
};
let checkerVersion: string | undefined;
let temp: string;
let started = 0;

const message = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);

async function tryRun(path: string, feeds: OrtTensor[]): Promise<Outputs | Error> {
  try {
    return await runOnnxRuntime(path, feeds, quiet);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

beforeAll(async () => {
  started = performance.now();
  temp = mkdtempSync(join(tmpdir(), 'whittle-conformance-'));
  counts.cases = cases.length;
  for (const testCase of cases) {
    const outcome: Outcome = { testCase };
    outcomes.push(outcome);
    let model: Model;
    try {
      model = readModel(testCase.modelPath).model;
      counts.loaded++;
    } catch (error) {
      fail('read', `${testCase.id}: readModel: ${message(error)}`);
      continue;
    }
    const errors = verifyModel(model).filter((diagnostic) => diagnostic.severity === 'error');
    if (errors.length === 0) counts.verified++;
    else fail('verify', `${testCase.id}: verifyModel: ${errors.map((diagnostic) => diagnostic.message).join('; ')}`);
    const folder = join(temp, testCase.suite, testCase.name);
    mkdirSync(folder, { recursive: true });
    const written = join(folder, 'model.onnx');
    try {
      writeModel(model, written);
      outcome.written = written;
      counts.written++;
    } catch (error) {
      fail('write', `${testCase.id}: writeModel: ${message(error)}`);
      continue;
    }
    const feeds = conformanceFeeds(testCase, model, decodeTensor);
    if (typeof feeds === 'string') {
      outcome.notRun = feeds;
      counts.notRunInputs++;
      continue;
    }
    const expected = await tryRun(testCase.modelPath, feeds);
    if (expected instanceof Error) {
      outcome.notRun = `ORT rejects the original: ${message(expected)}`;
      counts.notRunOriginalFails++;
      continue;
    }
    outcome.ran = true;
    counts.ran++;
    const actual = await tryRun(written, feeds);
    if (actual instanceof Error) {
      fail('ort', `${testCase.id}: ORT runs the original but not the written file: ${message(actual)}`);
      continue;
    }
    const difference = outputsDifference(expected, actual);
    if (!difference) {
      outcome.identical = true;
      counts.identical++;
      continue;
    }
    // Only now pay for a second session on the original: random ops differ from one session to the next.
    const again = await tryRun(testCase.modelPath, feeds);
    if (!(again instanceof Error) && outputsDifference(expected, again)) {
      outcome.nondeterministic = true;
      counts.nondeterministic++;
      continue;
    }
    fail('ort', `${testCase.id}: outputs differ after the round trip: ${difference}`);
  }

  // One Python process checks every original and every written file.
  const pairs = outcomes.filter((outcome) => outcome.written);
  const report = onnxCheckerReport(pairs.flatMap((outcome) => [outcome.testCase.modelPath, outcome.written!]));
  if (report) {
    checkerVersion = report.onnxVersion;
    for (const outcome of pairs) {
      const original = report.results.get(outcome.testCase.modelPath)!;
      const written = report.results.get(outcome.written!)!;
      if (original.ok) counts.checkerOriginalAccepted++;
      if (written.ok) counts.checkerWrittenAccepted++;
      if (original.ok && !written.ok) {
        fail(
          'checker',
          `${outcome.testCase.id}: onnx.checker accepts the original but rejects the written file: ${written.error}`,
        );
      }
    }
    // Lossless: ONNX's own classes parse the written file to the same ModelProto (explicit defaults aside).
    const same = onnxSameModel(pairs.map((outcome) => [outcome.testCase.modelPath, outcome.written!] as const))!;
    same.forEach((result, index) => {
      if (result.ok) counts.sameModelProto++;
      else fail('proto', `${pairs[index]!.testCase.id}: the written ModelProto differs: ${result.error}`);
    });
  }
}, 600_000);

afterAll(() => {
  if (temp) rmSync(temp, { recursive: true, force: true });
});

describe.skipIf(cases.length === 0)('ONNX conformance suite round trip', () => {
  it('reports its counts', () => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const bySuite = Object.fromEntries(
      ['node', 'pytorch-converted', 'pytorch-operator', 'simple'].map((suite) => [
        suite,
        outcomes.filter((outcome) => outcome.testCase.suite === suite && outcome.identical).length +
          '/' +
          outcomes.filter((outcome) => outcome.testCase.suite === suite).length,
      ]),
    );
    console.log(
      [
        `conformance round trip (${seconds} s): ${counts.cases} models, ${counts.loaded} loaded, ${counts.verified} verified, ${counts.written} written`,
        `  ORT: ${counts.ran} ran on the original, ${counts.identical} bit-identical after the round trip, ` +
          `${counts.nondeterministic} nondeterministic in ORT itself; not run: ${counts.notRunOriginalFails} rejected by ORT, ` +
          `${counts.notRunInputs} with inputs ORT's JS API cannot take`,
        `  identical by suite: ${JSON.stringify(bySuite)}`,
        checkerVersion
          ? `  onnx.checker ${checkerVersion}: ${counts.checkerOriginalAccepted} originals and ${counts.checkerWrittenAccepted} written files accepted; ` +
            `${counts.sameModelProto} written files parse to the same ModelProto as their original`
          : '  onnx.checker: skipped (/usr/bin/python3 has no onnx)',
        `  failures: ${failures.length}`,
        ...failures.slice(0, 50).map((failure) => `    ${failure.text}`),
      ].join('\n'),
    );
    expect(counts.cases).toBe(cases.length);
  });

  it('reads every model', () => {
    expect(failuresOf('read')).toEqual([]);
    expect(counts.loaded).toBe(cases.length);
  });

  it('finds no verifier error in any model it loads', () => {
    expect(failuresOf('verify')).toEqual([]);
    expect(counts.verified).toBe(counts.loaded);
  });

  it('writes every model back', () => {
    expect(failuresOf('write')).toEqual([]);
    expect(counts.written).toBe(cases.length);
  });

  it('gives bit-identical ONNX Runtime outputs wherever the original runs', () => {
    expect(counts.ran).toBeGreaterThan(800);
    expect(failuresOf('ort')).toEqual([]);
    expect(counts.identical + counts.nondeterministic).toBe(counts.ran);
  });

  it('keeps every file onnx.checker accepted acceptable to it', () => {
    if (!checkerVersion) return;
    expect(failuresOf('checker')).toEqual([]);
    expect(counts.checkerWrittenAccepted).toBeGreaterThanOrEqual(counts.checkerOriginalAccepted);
  });

  it('writes files that parse to the same ModelProto as the original (onnx Python, explicit defaults aside)', () => {
    if (!checkerVersion) return;
    expect(failuresOf('proto')).toEqual([]);
    expect(counts.sameModelProto).toBe(counts.written);
  });

  it('has no failure of any kind', () => {
    expect(failures.map((failure) => failure.text)).toEqual([]);
  });
});
