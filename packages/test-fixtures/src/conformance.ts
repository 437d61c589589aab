import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Model, Tensor } from '@whittle/ir';
import { type OrtTensor, tensorToOrt } from './ort.js';

/** Where Debian's libonnx-testdata installs the ONNX 1.12 backend test data. */
export const CONFORMANCE_ROOT = '/usr/share/libonnx-testdata/data';
export const CONFORMANCE_SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'] as const;
export type ConformanceSuite = (typeof CONFORMANCE_SUITES)[number];

export interface ConformanceDataSet {
  /** `test_data_set_0`, ... */
  name: string;
  dir: string;
  /** `input_N.pb` files ordered by N (serialized TensorProto, or Sequence/Optional protos in a few tests). */
  inputs: string[];
  /** `output_N.pb` files ordered by N. */
  outputs: string[];
}

export interface ConformanceCase {
  /** `<suite>/<test>`, e.g. `node/test_abs`. */
  id: string;
  suite: ConformanceSuite;
  name: string;
  dir: string;
  modelPath: string;
  dataSets: ConformanceDataSet[];
}

function numbered(dir: string, prefix: string): string[] {
  const pattern = new RegExp(`^${prefix}_(\\d+)\\.pb$`);
  return readdirSync(dir)
    .map((file) => ({ file, match: pattern.exec(file) }))
    .filter((entry) => entry.match)
    .sort((a, b) => Number(a.match![1]) - Number(b.match![1]))
    .map((entry) => join(dir, entry.file));
}

/** True when the test data is installed. */
export function conformanceAvailable(root = CONFORMANCE_ROOT): boolean {
  return existsSync(root);
}

/**
 * Every test folder with a model.onnx under the given suites (all four by default), sorted by id, with its
 * test_data_set_* folders and their input/output files. Empty when the test data is not installed.
 */
export function conformanceCases(
  suites: readonly ConformanceSuite[] = CONFORMANCE_SUITES,
  root = CONFORMANCE_ROOT,
): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  for (const suite of suites) {
    const suiteDir = join(root, suite);
    if (!existsSync(suiteDir)) continue;
    for (const entry of readdirSync(suiteDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(suiteDir, entry.name);
      const modelPath = join(dir, 'model.onnx');
      if (!existsSync(modelPath)) continue;
      const dataSets = readdirSync(dir, { withFileTypes: true })
        .filter((child) => child.isDirectory() && /^test_data_set_\d+$/.test(child.name))
        .sort((a, b) => Number(a.name.slice('test_data_set_'.length)) - Number(b.name.slice('test_data_set_'.length)))
        .map((child) => {
          const setDir = join(dir, child.name);
          return {
            name: child.name,
            dir: setDir,
            inputs: numbered(setDir, 'input'),
            outputs: numbered(setDir, 'output'),
          };
        });
      cases.push({ id: `${suite}/${entry.name}`, suite, name: entry.name, dir, modelPath, dataSets });
    }
  }
  return cases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The inputs of a case's test_data_set_0 as ORT tensors, in declaration order, or the reason they cannot be fed
 * from JavaScript (sequence or optional inputs, types ORT's JS API lacks). `decodeTensor` reads a TensorProto file
 * (from @whittle/onnx, which this package cannot depend on).
 */
export function conformanceFeeds(
  testCase: ConformanceCase,
  model: Model,
  decodeTensor: (bytes: Uint8Array, options: { file: string }) => Tensor,
): OrtTensor[] | string {
  const declared = model.graph.inputs.filter((value) => !value.initializer);
  const nonTensor = declared.find((value) => value.type && value.type.kind !== 'tensor');
  if (nonTensor) return `input '${nonTensor.name}' is a ${nonTensor.type!.kind}`;
  const set = testCase.dataSets[0];
  if (!set) return 'no test data set';
  try {
    return set.inputs.map((file) => tensorToOrt(decodeTensor(new Uint8Array(readFileSync(file)), { file })));
  } catch (error) {
    return `inputs: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`;
  }
}
