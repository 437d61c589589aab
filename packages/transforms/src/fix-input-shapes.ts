/**
 * The `fix-input-shapes` pass: give graph inputs fixed (or renamed symbolic) dims, as the CLI's
 * `--input-shape name=1,3,640,640` asks. Symbolic dims that got a size are replaced by it wherever the model
 * uses the same name; when a dim that was already fixed changes, recorded shapes of other values may no longer
 * hold, so they are dropped (element types stay) for `infer-shapes` to recompute.
 */
import type { Dimension, Graph, Model, Value, ValueType } from '@whittle/ir';
import { type PassDefinition, WhittleError } from '@whittle/spec';
import { ShapeInferenceCodes } from './shape-inference/codes.js';

export interface FixInputShapesOptions {
  /** Input name to its dims: sizes (non-negative integers) or symbolic names. */
  shapes: Record<string, (number | string)[]>;
}

export interface FixInputShapesStatistics {
  inputsFixed: number;
  /** Dims of other values that became sizes because they used a symbol an input fixed. */
  dimsResolved: number;
  /** Values whose recorded shape was dropped because a fixed input dim changed size. */
  shapesCleared: number;
}

function describeShape(shape: readonly Dimension[] | undefined): string {
  return shape ? `[${shape.map((dim) => (dim === null ? '?' : String(dim))).join(', ')}]` : 'of unknown rank';
}

function checkDims(name: string, dims: unknown): (number | string)[] {
  if (!Array.isArray(dims)) {
    throw new WhittleError(
      ShapeInferenceCodes.FIX_INPUT_SHAPES_INVALID_DIM,
      `the shape given for input '${name}' is not a list of dims`,
      { location: { value: name }, hint: 'give dims as a list, for example [1, 3, 640, 640]' },
    );
  }
  dims.forEach((dim, index) => {
    const valid =
      (typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0) || (typeof dim === 'string' && dim !== '');
    if (!valid) {
      throw new WhittleError(
        ShapeInferenceCodes.FIX_INPUT_SHAPES_INVALID_DIM,
        `dim ${index} given for input '${name}' (${JSON.stringify(dim)}) is neither a size nor a symbol name`,
        { location: { value: name }, hint: 'sizes are non-negative integers; symbolic dims are non-empty names' },
      );
    }
  });
  return dims as (number | string)[];
}

/** Every value of a graph whose type the model records (inputs, outputs, value_info, node outputs). */
function* recordedValues(graph: Graph, includeInputs: boolean): Generator<Value> {
  const seen = new Set<Value>();
  const all = [
    ...(includeInputs ? graph.inputs : []),
    ...graph.outputs,
    ...graph.valueInfo,
    ...graph.nodes.flatMap((node) => node.outputs.filter((value): value is Value => value !== undefined)),
  ];
  for (const value of all) {
    if (seen.has(value) || value.constant) continue;
    seen.add(value);
    yield value;
  }
}

function mapTensorTypes(type: ValueType, map: (shape: Dimension[]) => Dimension[] | undefined): ValueType {
  switch (type.kind) {
    case 'tensor':
    case 'sparse-tensor': {
      if (!type.shape) return type;
      const shape = map(type.shape);
      const result = { ...type };
      if (shape === undefined) {
        delete result.shape;
        delete result.dimensionDenotations;
      } else result.shape = shape;
      return result;
    }
    case 'sequence':
    case 'optional':
      return type.elementType ? { ...type, elementType: mapTensorTypes(type.elementType, map) } : type;
    default:
      return type;
  }
}

/** Set input shapes of `model` (in place); throws a coded WhittleError on an unknown input or a rank mismatch. */
export function setInputShapes(
  model: Model,
  shapes: Readonly<Record<string, readonly (number | string)[]>>,
): { changed: boolean; statistics: FixInputShapesStatistics } {
  const graph = model.graph;
  const plan: { input: Value; dims: (number | string)[] }[] = [];
  for (const [name, given] of Object.entries(shapes)) {
    const dims = checkDims(name, given);
    const input = graph.inputs.find((value) => value.name === name);
    if (!input) {
      const names = graph.inputs.filter((value) => !value.initializer).map((value) => `'${value.name}'`);
      throw new WhittleError(ShapeInferenceCodes.FIX_INPUT_SHAPES_UNKNOWN_INPUT, `the model has no input '${name}'`, {
        location: { graph: graph.name, value: name },
        hint: names.length > 0 ? `its inputs are ${names.join(', ')}` : 'the model has no inputs',
      });
    }
    const type = input.type;
    if (type?.kind !== 'tensor') {
      throw new WhittleError(
        ShapeInferenceCodes.FIX_INPUT_SHAPES_NOT_A_TENSOR,
        `input '${name}' is ${type ? `a ${type.kind}` : 'untyped'}, not a tensor: its shape cannot be fixed`,
        { location: { graph: graph.name, value: name } },
      );
    }
    if (type.shape && type.shape.length !== dims.length) {
      throw new WhittleError(
        ShapeInferenceCodes.FIX_INPUT_SHAPES_RANK_MISMATCH,
        `input '${name}' has rank ${type.shape.length} (${describeShape(type.shape)}), ${dims.length} dims were given`,
        {
          location: { graph: graph.name, value: name },
          hint: `give ${type.shape.length} dims for '${name}'`,
        },
      );
    }
    plan.push({ input, dims });
  }

  // What the new dims say about symbols, and whether a fixed size changes.
  const symbols = new Map<string, number | undefined>();
  let sizeChanged = false;
  let inputsFixed = 0;
  for (const { input, dims } of plan) {
    const type = input.type as Extract<ValueType, { kind: 'tensor' }>;
    const before = type.shape;
    before?.forEach((dim, index) => {
      const after = dims[index]!;
      if (typeof dim === 'number' && dim !== after) sizeChanged = true;
      if (typeof dim === 'string' && typeof after === 'number') {
        symbols.set(dim, symbols.has(dim) && symbols.get(dim) !== after ? undefined : after);
      }
    });
    const same = before && before.length === dims.length && before.every((dim, index) => dim === dims[index]);
    if (same) continue;
    const next = { ...type, shape: [...dims] };
    if (next.dimensionDenotations && next.dimensionDenotations.length !== dims.length) delete next.dimensionDenotations;
    input.type = next;
    inputsFixed++;
  }

  const fixed = new Set(plan.map((entry) => entry.input));
  let dimsResolved = 0;
  let shapesCleared = 0;
  for (const nested of model.graphs()) {
    const isMain = nested === graph;
    for (const value of recordedValues(nested, !isMain)) {
      if (fixed.has(value) || !value.type) continue;
      if (isMain && graph.inputs.includes(value)) continue;
      if (sizeChanged) {
        value.type = mapTensorTypes(value.type, () => {
          shapesCleared++;
          return undefined;
        });
        continue;
      }
      value.type = mapTensorTypes(value.type, (shape) =>
        shape.map((dim) => {
          const size = typeof dim === 'string' ? symbols.get(dim) : undefined;
          if (size === undefined) return dim;
          dimsResolved++;
          return size;
        }),
      );
    }
  }
  return {
    changed: inputsFixed + dimsResolved + shapesCleared > 0,
    statistics: { inputsFixed, dimsResolved, shapesCleared },
  };
}

export const fixInputShapes: PassDefinition<FixInputShapesOptions, Model> = {
  name: 'fix-input-shapes',
  description:
    'Fix the dims of graph inputs (as in --input-shape name=1,3,640,640); symbolic dims fixed on an input are ' +
    'resolved wherever the model uses them. Run infer-shapes after it to propagate the sizes.',
  options: {
    type: 'object',
    properties: {
      shapes: {
        type: 'object',
        description: 'input name to its dims: sizes, or names for symbolic dims',
        additionalProperties: {
          type: 'array',
          items: {
            anyOf: [
              { type: 'integer', minimum: 0 },
              { type: 'string', minLength: 1 },
            ],
          },
        },
        default: {},
      },
    },
    additionalProperties: false,
  },
  create(options) {
    const shapes = options.shapes ?? {};
    return {
      name: 'fix-input-shapes',
      run(model) {
        const { changed, statistics } = setInputShapes(model, shapes);
        return { model, changed, statistics: { ...statistics } };
      },
    };
  },
};
