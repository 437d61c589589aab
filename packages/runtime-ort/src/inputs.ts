/** The inputs a model declares, and checking what a caller feeds against them before onnxruntime sees it. */
import { type Dimension, dataTypeName, formatValueType, type Model, type ValueType } from '@whittle/ir';
import type { ExecutorTensor, ExecutorValueInfo } from '@whittle/spec';
import { WhittleError } from '@whittle/spec';
import type * as ort from 'onnxruntime-node';
import { ExecutorCodes } from './codes.js';
import { toOrtTensor } from './tensor-conversion.js';

/** One input the executor accepts. */
export interface InputSpec {
  readonly name: string;
  /** Element type name as onnxruntime spells it; for a non-tensor input, its printed type. */
  readonly type: string;
  /** undefined when the rank is unknown (any rank is accepted). */
  readonly shape: readonly Dimension[] | undefined;
  /** A tensor input whose element type and shape are checked. */
  readonly checked: boolean;
}

function specOf(name: string, type: ValueType | undefined): InputSpec {
  if (type?.kind === 'tensor') return { name, type: dataTypeName(type.elementType), shape: type.shape, checked: true };
  return { name, type: formatValueType(type), shape: undefined, checked: false };
}

/**
 * The inputs a caller feeds: the main graph's inputs that are not initializers. (An initializer listed as an input
 * could in principle be overridden, but onnxruntime-node only feeds the session's own inputs: it would silently
 * ignore such a feed, so the executor refuses it instead.)
 */
export function inputSpecs(model: Model): InputSpec[] {
  return model.graph.inputs.filter((value) => !value.initializer).map((value) => specOf(value.name, value.type));
}

/**
 * The declared inputs as the Executor contract lists them (initializers left out); `dims` is undefined when the
 * rank is unknown.
 */
export function executorInputs(specs: readonly InputSpec[]): ExecutorValueInfo[] {
  return specs.map((spec) => ({ name: spec.name, type: spec.type, dims: spec.shape ? [...spec.shape] : undefined }));
}

const formatDims = (dims: readonly (Dimension | undefined)[]): string =>
  `[${dims.map((dim) => (dim === null || dim === undefined ? '?' : String(dim))).join(',')}]`;

function shapeError(spec: InputSpec, tensor: ExecutorTensor, what: string): WhittleError {
  return new WhittleError(
    ExecutorCodes.INPUT_SHAPE,
    `input '${spec.name}': ${what}: expected ${spec.type}${formatDims(spec.shape ?? [])}, got dims ${formatDims(tensor.dims)}`,
    { location: { value: spec.name } },
  );
}

/** Check one fed tensor against its declaration: element type, rank, fixed dims. */
function checkInput(spec: InputSpec, tensor: ExecutorTensor): void {
  if (typeof tensor !== 'object' || tensor === null || !Array.isArray(tensor.dims)) {
    throw new WhittleError(
      ExecutorCodes.INPUT_TYPE,
      `input '${spec.name}': expected a tensor ({ type, dims, data }), got ${tensor === null ? 'null' : typeof tensor}`,
      { location: { value: spec.name } },
    );
  }
  if (!spec.checked) return;
  if (tensor.type !== spec.type) {
    throw new WhittleError(
      ExecutorCodes.INPUT_TYPE,
      `input '${spec.name}': expected element type ${spec.type}, got ${tensor.type}`,
      { location: { value: spec.name } },
    );
  }
  const shape = spec.shape;
  if (!shape) return;
  if (tensor.dims.length !== shape.length) {
    throw shapeError(spec, tensor, `expected rank ${shape.length}, got rank ${tensor.dims.length}`);
  }
  shape.forEach((dim, index) => {
    if (typeof dim === 'number' && tensor.dims[index] !== dim) {
      throw shapeError(spec, tensor, `dim ${index} is fixed at ${dim}, got ${tensor.dims[index]}`);
    }
  });
}

/**
 * Check the feeds against the declared inputs and turn them into onnxruntime tensors (the data is not copied).
 * Problems are coded errors naming the input: EXECUTOR_UNKNOWN_INPUT, EXECUTOR_MISSING_INPUT, EXECUTOR_INPUT_TYPE,
 * EXECUTOR_INPUT_SHAPE.
 */
export function prepareFeeds(
  specs: readonly InputSpec[],
  feeds: Readonly<Record<string, ExecutorTensor>>,
  /** Initializers listed as graph inputs, named in the hint when one is fed. */
  initializerInputs: ReadonlySet<string> = new Set(),
): Record<string, ort.Tensor> {
  if (typeof feeds !== 'object' || feeds === null) {
    throw new WhittleError(ExecutorCodes.MISSING_INPUT, 'run expects an object of input tensors by name');
  }
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const required = specs.map((spec) => spec.name);
  const given = Object.keys(feeds).filter((name) => feeds[name] !== undefined);
  const unknown = given.filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    throw new WhittleError(
      ExecutorCodes.UNKNOWN_INPUT,
      `the model has no input named ${unknown.map((name) => `'${name}'`).join(', ')}; its inputs are ${required.map((name) => `'${name}'`).join(', ') || 'none'}`,
      {
        location: { value: unknown[0]! },
        ...(unknown.some((name) => initializerInputs.has(name))
          ? { hint: 'initializers listed as graph inputs cannot be overridden through onnxruntime-node' }
          : {}),
      },
    );
  }
  const missing = required.filter((name) => feeds[name] === undefined);
  if (missing.length > 0) {
    throw new WhittleError(
      ExecutorCodes.MISSING_INPUT,
      `missing input ${missing.map((name) => `'${name}'`).join(', ')}: the model expects ${required.map((name) => `'${name}'`).join(', ')}, got ${given.map((name) => `'${name}'`).join(', ') || 'none'}`,
      { location: { value: missing[0]! } },
    );
  }
  const prepared: Record<string, ort.Tensor> = {};
  for (const name of given) {
    const tensor = feeds[name]!;
    checkInput(byName.get(name)!, tensor);
    prepared[name] = toOrtTensor(tensor, name);
  }
  return prepared;
}
