/**
 * Where convert-float16 computes in half precision and where it keeps float32: a mode for every node that reads or
 * writes a float32 tensor, and from it the precision of every float32 value and the precision every use of it wants.
 * Nothing is changed here; float16-rewrite applies the plan.
 */
import { DataType, type Graph, type Model, type Node, topologicalOrder, type Value } from '@whittle/ir';
import {
  FLOAT16_FOLLOWER_OPS,
  type HalfType,
  inputRole,
  ortCpuHasHalfKernel,
  schemaAcceptsHalf,
} from './float16-ops.js';

/**
 * How a node runs: `half`; `exact`, float32 with its float32 inputs given exactly (blocked ops and nodes, ops with
 * no half type, shape arithmetic, control flow, unknown types); `runtime`, float32 because the target runtime has no
 * half kernel (its constant inputs may still be stored in half precision and cast up).
 */
export type NodeMode = 'half' | 'exact' | 'runtime';

export type Precision = 'half' | 'float';

/** What a use of a float32 value wants: half, float32 (exactly or not), or either. */
export type Want = { precision: 'half' } | { precision: 'float'; exact: boolean } | { precision: 'any' };

/** Why a node stays float32, for the report. */
export type KeptReason =
  | 'blocked'
  | 'schema'
  | 'runtime'
  | 'shape-arithmetic'
  | 'control-flow'
  | 'unknown-type'
  | 'domain';

export interface PlanSettings {
  type: HalfType;
  opset: number;
  keepIoTypes: boolean;
  blockOps: ReadonlySet<string>;
  isBlockedNode: (node: Node) => boolean;
  runtime: 'onnxruntime-cpu' | 'any';
}

type Fixed = NodeMode | 'follower' | 'source';

const MAX_LOOKAHEAD = 4;

export class Float16Plan {
  readonly modes = new Map<Node, NodeMode>();
  /** Nodes kept in float32 and why (followers and sources that chose float32 are not listed). */
  readonly kept = new Map<Node, KeptReason>();
  private readonly original = new Map<Value, DataType>();
  private readonly fixed = new Map<Node, Fixed>();
  private readonly shapeLike = new Map<Value, boolean>();
  private readonly mainGraph: Graph;

  constructor(
    model: Model,
    readonly settings: PlanSettings,
  ) {
    this.mainGraph = model.graph;
    for (const graph of model.graphs()) this.recordTypes(graph);
    this.classifyGraph(model.graph);
    this.resolveGraph(model.graph);
  }

  /** The element type a value had before the conversion (undefined: not a tensor, or unknown). */
  originalType(value: Value): DataType | undefined {
    return this.original.get(value);
  }

  isFloat(value: Value | undefined): value is Value {
    return value !== undefined && this.original.get(value) === DataType.FLOAT;
  }

  /** Precision of the model's (keepIoTypes) or a subgraph's (always float32) inputs and outputs. */
  interfacePrecision(graph: Graph): Precision {
    return graph === this.mainGraph && !this.settings.keepIoTypes ? 'half' : 'float';
  }

  /** The precision a float32 value has after the conversion; `constant` for constant initializers. */
  precisionOf(value: Value): Precision | 'constant' {
    if (value.constant) return 'constant';
    const producer = value.producer;
    if (!producer) return value.graph ? this.interfacePrecision(value.graph) : 'float';
    return this.modes.get(producer) === 'half' ? 'half' : 'float';
  }

  /** What the use of input `index` of `node` wants. */
  want(node: Node, index: number): Want {
    const mode = this.modes.get(node);
    if (mode === undefined) return { precision: 'any' };
    if (node.is('Cast')) return mode === 'exact' ? { precision: 'float', exact: true } : { precision: 'any' };
    const role = inputRole(node.opType, index);
    if (role === 'any-type') return { precision: 'any' };
    if (role === 'own-type') return { precision: 'float', exact: true };
    if (mode === 'half') return { precision: 'half' };
    return { precision: 'float', exact: mode === 'exact' };
  }

  private recordTypes(graph: Graph): void {
    const record = (value: Value | undefined) => {
      if (!value) return;
      if (value.type?.kind === 'tensor') this.original.set(value, value.type.elementType);
      else if (value.type === undefined && value.initializer) this.original.set(value, value.initializer.dataType);
    };
    for (const value of graph.inputs) record(value);
    for (const value of graph.initializers) record(value);
    for (const node of graph.nodes) for (const value of node.outputs) record(value);
  }

  private order(graph: Graph): readonly Node[] {
    return topologicalOrder(graph) ?? graph.nodes;
  }

  /** First pass: the modes that do not depend on neighbours, shape arithmetic found on the way (in order). */
  private classifyGraph(graph: Graph): void {
    for (const node of this.order(graph)) {
      this.noteShapeLike(node);
      const fixed = this.classify(node);
      if (fixed !== undefined) this.fixed.set(node, fixed);
      for (const subgraph of node.subgraphs()) this.classifyGraph(subgraph);
    }
  }

  private keep(node: Node, mode: NodeMode, reason: KeptReason): NodeMode {
    this.kept.set(node, reason);
    return mode;
  }

  private classify(node: Node): Fixed | undefined {
    const { settings } = this;
    const subgraphs = node.subgraphs();
    const unknown =
      node.inputs.some((value) => value !== undefined && !this.original.has(value)) ||
      node.outputs.some((value) => value?.isUsed && !this.original.has(value));
    const floatInputs = node.inputs.filter(
      (value, index) => this.isFloat(value) && (node.is('Cast') || inputRole(node.opType, index) !== 'any-type'),
    );
    const floatOutputs = node.outputs.filter((value) => this.isFloat(value));
    const relevant = floatInputs.length > 0 || floatOutputs.length > 0;
    if (!relevant && !unknown) return undefined;
    if (subgraphs.length > 0) return this.keep(node, 'exact', 'control-flow');
    if (unknown) return this.keep(node, 'exact', 'unknown-type');
    if (node.domain !== '' && node.domain !== 'ai.onnx') return this.keep(node, 'exact', 'domain');
    if (node.is('Cast')) {
      const to = node.intAttribute('to');
      const from = this.original.get(node.input(0)!);
      if (to === DataType.FLOAT) {
        // A cast out of half precision (one of ours, or the model's own) stays what it is.
        if (from === DataType.FLOAT16 || from === DataType.BFLOAT16) return 'runtime';
        return settings.isBlockedNode(node) ? this.keep(node, 'exact', 'blocked') : 'source';
      }
      // Float32 read as integers or booleans (shape arithmetic, masks): the value must not be rounded first.
      const integral =
        to !== undefined && to !== DataType.DOUBLE && to !== DataType.FLOAT16 && to !== DataType.BFLOAT16;
      return from === DataType.FLOAT && integral ? this.keep(node, 'exact', 'shape-arithmetic') : undefined;
    }
    if (settings.isBlockedNode(node) || settings.blockOps.has(node.opType)) return this.keep(node, 'exact', 'blocked');
    // No half type in the schema: float32 compute, but its weights may still be stored in half precision.
    if (!schemaAcceptsHalf(node.opType, settings.opset, settings.type)) return this.keep(node, 'runtime', 'schema');
    if (this.isShapeArithmetic(node)) return this.keep(node, 'exact', 'shape-arithmetic');
    if (settings.runtime === 'onnxruntime-cpu' && !ortCpuHasHalfKernel(node.opType, settings.opset, settings.type)) {
      return this.keep(node, 'runtime', 'runtime');
    }
    if (node.is('ConstantOfShape') || node.is('Constant')) return 'source';
    // On ONNX Runtime's CPU EP the few compute ops with half kernels (Clip, Max, Min, ...) gain nothing by
    // switching precision on their own: they follow their data like data movement ops do, so a float32 region is
    // not cut by casts (and float32 activations beyond the half range are not squeezed through one).
    if (FLOAT16_FOLLOWER_OPS.has(node.opType) || settings.runtime === 'onnxruntime-cpu') return 'follower';
    return 'half';
  }

  /**
   * Values computed from shapes or other integers (a Shape cast to float, scaled, cast back): arithmetic on them
   * stays float32, where integers up to 2^24 are exact (float16 stops at 2048).
   */
  private noteShapeLike(node: Node): void {
    let shapeLike: boolean;
    if (node.is('Cast')) {
      const from = node.input(0) ? this.original.get(node.input(0)!) : undefined;
      shapeLike = from !== undefined && from !== DataType.FLOAT && !isHalfOrDouble(from);
    } else if (node.subgraphs().length > 0) {
      shapeLike = false;
    } else {
      const variable = node.inputs.filter((value): value is Value => value !== undefined && !value.constant);
      const fromIntegers = variable.length > 0 && variable.every((value) => this.isShapeLike(value));
      // Float data looked up or made from integers (an embedding Gather, ConstantOfShape) is not shape arithmetic:
      // only float values that are themselves shape-like carry it on.
      shapeLike = fromIntegers && variable.some((value) => this.isFloat(value));
      for (const output of node.outputs) {
        if (output) this.shapeLike.set(output, this.isFloat(output) ? shapeLike : fromIntegers);
      }
      return;
    }
    for (const output of node.outputs) if (output) this.shapeLike.set(output, shapeLike);
  }

  private isShapeLike(value: Value): boolean {
    const type = this.original.get(value);
    if (type !== DataType.FLOAT && type !== undefined && !isHalfOrDouble(type)) return true;
    return this.shapeLike.get(value) ?? false;
  }

  private isShapeArithmetic(node: Node): boolean {
    const variable = node.inputs.filter((value): value is Value => value !== undefined && !value.constant);
    return (
      variable.some((value) => this.isFloat(value)) &&
      variable.every((value) => this.isShapeLike(value)) &&
      !FLOAT16_FOLLOWER_OPS.has(node.opType)
    );
  }

  /** Second pass, in order: followers take the precision of their data, sources the one their readers want. */
  private resolveGraph(graph: Graph): void {
    for (const node of this.order(graph)) {
      const fixed = this.fixed.get(node);
      if (fixed === 'follower' || fixed === 'source') {
        this.modes.set(node, this.resolve(node, fixed) === 'half' ? 'half' : 'runtime');
      } else if (fixed !== undefined) {
        this.modes.set(node, fixed);
      }
      for (const subgraph of node.subgraphs()) this.resolveGraph(subgraph);
    }
  }

  private get preferred(): Precision {
    return this.settings.runtime === 'any' ? 'half' : 'float';
  }

  private resolve(node: Node, fixed: 'follower' | 'source'): Precision {
    if (fixed === 'follower') {
      let half = 0;
      let float = 0;
      node.inputs.forEach((value, index) => {
        if (!this.isFloat(value) || value.constant || inputRole(node.opType, index) !== 'main') return;
        if (this.precisionOf(value) === 'half') half++;
        else float++;
      });
      if (half !== float) return half > float ? 'half' : 'float';
      if (half > 0) return this.preferred;
    }
    return this.readersWant(node, 0);
  }

  /** The precision most readers of a node's float32 outputs want (looking through followers and sources). */
  private readersWant(node: Node, depth: number): Precision {
    let half = 0;
    let float = 0;
    const vote = (precision: Precision | undefined) => {
      if (precision === 'half') half++;
      else if (precision === 'float') float++;
    };
    for (const output of node.outputs) {
      if (!this.isFloat(output)) continue;
      for (const use of output.uses) {
        const fixed = this.fixed.get(use.node);
        if (fixed === undefined) continue;
        if (fixed === 'follower' || fixed === 'source') {
          if (depth < MAX_LOOKAHEAD && inputRole(use.node.opType, use.index) === 'main' && !use.node.is('Cast')) {
            vote(this.readersWant(use.node, depth + 1));
          }
          continue;
        }
        if (use.node.is('Cast')) {
          if (fixed === 'exact') vote('float');
          continue;
        }
        const role = inputRole(use.node.opType, use.index);
        if (role === 'any-type') continue;
        vote(role === 'own-type' || fixed !== 'half' ? 'float' : 'half');
      }
      const graph = output.graph;
      if (graph) {
        for (const returning of graph.allGraphs()) {
          if (returning.outputs.includes(output)) vote(this.interfacePrecision(returning));
        }
      }
    }
    if (half === float) return this.preferred;
    return half > float ? 'half' : 'float';
  }
}

function isHalfOrDouble(type: DataType): boolean {
  return type === DataType.FLOAT16 || type === DataType.BFLOAT16 || type === DataType.DOUBLE;
}
