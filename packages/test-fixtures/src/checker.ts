import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's interpreter, which has onnx 1.12 (the `python3` on PATH may be another one without it). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface CheckerResult {
  ok: boolean;
  /** The checker's message when it rejected the file. */
  error?: string;
}

export interface CheckerReport {
  /** onnx version of the interpreter that checked. */
  onnxVersion: string;
  /** One result per path given, keyed by the path as given. */
  results: Map<string, CheckerResult>;
}

const PRELUDE = `
import json, sys
try:
    import onnx
    import onnx.checker
except Exception as error:
    print(json.dumps({"available": False, "reason": repr(error)}))
    sys.exit(0)
request = json.load(sys.stdin)
`;

const CHECK_SCRIPT = `${PRELUDE}
results = []
for path in request:
    try:
        onnx.checker.check_model(path)
        results.append({"ok": True})
    except Exception as error:
        results.append({"ok": False, "error": (type(error).__name__ + ": " + str(error))[:4000]})
print(json.dumps({"available": True, "version": onnx.__version__, "results": results}))
`;

const COMPARE_SCRIPT = `${PRELUDE}
from google.protobuf.descriptor import FieldDescriptor as FD

def normalize(message):
    # A scalar explicitly set to its default value (domain: "", name: "") means the same as an absent one.
    for field, value in list(message.ListFields()):
        if field.label == FD.LABEL_REPEATED:
            if field.type == FD.TYPE_MESSAGE:
                for item in value:
                    normalize(item)
        elif field.type == FD.TYPE_MESSAGE:
            normalize(value)
        elif value == field.default_value:
            message.ClearField(field.name)
    return message

def first_difference(a, b, path):
    left = {field.name: value for field, value in a.ListFields()}
    right = {field.name: value for field, value in b.ListFields()}
    for name in sorted(set(left) | set(right)):
        if name not in left or name not in right:
            side = "original" if name in left else "written"
            return "%s.%s only in the %s: %r" % (path, name, side, str(left.get(name, right.get(name)))[:200])
        x, y = left[name], right[name]
        if x == y:
            continue
        field = a.DESCRIPTOR.fields_by_name[name]
        if field.label == FD.LABEL_REPEATED:
            if len(x) != len(y):
                return "%s.%s: %d entries vs %d" % (path, name, len(x), len(y))
            if field.type == FD.TYPE_MESSAGE:
                for index, (p, q) in enumerate(zip(x, y)):
                    if p != q:
                        return first_difference(p, q, "%s.%s[%d]" % (path, name, index))
            return "%s.%s: %r vs %r" % (path, name, str(x)[:200], str(y)[:200])
        if field.type == FD.TYPE_MESSAGE:
            return first_difference(x, y, path + "." + name)
        return "%s.%s: %r vs %r" % (path, name, str(x)[:200], str(y)[:200])
    return "messages differ"

results = []
for original, written in request:
    try:
        a = normalize(onnx.load(original, load_external_data=False))
        b = normalize(onnx.load(written, load_external_data=False))
        results.append({"ok": True} if a == b else {"ok": False, "error": first_difference(a, b, "model")})
    except Exception as error:
        results.append({"ok": False, "error": (type(error).__name__ + ": " + str(error))[:4000]})
print(json.dumps({"available": True, "version": onnx.__version__, "results": results}))
`;

type Answer = { available: false; reason: string } | { available: true; version: string; results: CheckerResult[] };

/** Run one script in one Python process with a JSON request on stdin; undefined when onnx cannot be imported. */
function runPython(
  script: string,
  request: unknown[],
  python: string,
): { version: string; results: CheckerResult[] } | undefined {
  if (!existsSync(python)) return undefined;
  const run = spawnSync(python, ['-c', script], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
    timeout: 10 * 60_000,
  });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`onnx script failed (exit ${run.status}): ${run.stderr}`);
  const answer = JSON.parse(run.stdout) as Answer;
  if (!answer.available) return undefined;
  if (answer.results.length !== request.length) {
    throw new Error(`onnx script answered for ${answer.results.length} of ${request.length} files`);
  }
  return answer;
}

/**
 * Run `onnx.checker.check_model(path)` on every file in one Python process (external data is found beside each
 * file). Returns undefined when the system interpreter or its `onnx` module is missing, so callers can skip.
 */
export function onnxCheckerReport(paths: readonly string[], python = SYSTEM_PYTHON): CheckerReport | undefined {
  const answer = runPython(CHECK_SCRIPT, [...paths], python);
  if (!answer) return undefined;
  const results = new Map<string, CheckerResult>();
  paths.forEach((path, index) => {
    results.set(path, answer.results[index]!);
  });
  return { onnxVersion: answer.version, results };
}

/** Pass/fail of `onnx.checker` per file (one Python process for the batch), or undefined when onnx is unavailable. */
export function onnxChecker(paths: readonly string[], python = SYSTEM_PYTHON): Map<string, CheckerResult> | undefined {
  return onnxCheckerReport(paths, python)?.results;
}

let availability: boolean | undefined;

/** True when the system interpreter can import onnx (asked once per process). */
export function onnxCheckerAvailable(python = SYSTEM_PYTHON): boolean {
  availability ??= onnxCheckerReport([], python) !== undefined;
  return availability;
}

/**
 * Compare pairs of model files as ONNX's own protobuf classes parse them (external data not loaded), in one Python
 * process: `ok` when the ModelProtos are equal once scalars explicitly set to their default value are treated as
 * unset; otherwise `error` names the first differing field. Encoding details (packed or not, field order on the
 * wire) do not count. Results are in the order of the pairs; undefined when onnx is unavailable.
 */
export function onnxSameModel(
  pairs: readonly (readonly [original: string, written: string])[],
  python = SYSTEM_PYTHON,
): CheckerResult[] | undefined {
  return runPython(
    COMPARE_SCRIPT,
    pairs.map((pair) => [...pair]),
    python,
  )?.results;
}
