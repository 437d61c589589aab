/**
 * The shape inference engine: walks every graph in topological order, asks each op's inferrer for the types (and
 * small data) of its outputs, refines them with what the model already declares, and finally writes the new facts
 * back to the values.
 */
import {
  DataType,
  type Dimension,
  type Graph,
  isTopologicallySorted,
  type Model,
  type Node,
  topologicalOrder,
  type Value,
  type ValueType,
} from '@whittle/ir';
import type { DiagnosticInput } from '@whittle/spec';
import { ShapeInferenceCodes } from './codes.js';
import {
  type InferenceContext,
  type Inferrer,
  makeTensorType,
  ShapeMismatch,
  type TensorFacts,
  tensorFactsOf,
} from './context.js';
import { numbersOf, type PartialTensor, partialFromTensor } from './data.js';
import { committableType, isFullyStatic, refineType, typeEquals, usableType } from './types.js';

export interface ShapeInferenceStatistics {
  /** Values whose type gained facts in this run. */
  valuesTyped: number;
  /** Values (graph inputs and node outputs, every graph) whose type is a tensor with every dim known. */
  valuesFullyStatic: number;
  /** Values with no usable type at all. */
  valuesUnknown: number;
  /** Inferred facts that contradicted declared ones (the declared ones were kept). */
  shapeConflicts: number;
  /** Nodes whose op has no shape inference here. */
  nodesNotInferred: number;
  /** Values of subgraphs that cannot run with these shapes (an If branch never taken); their types are left alone. */
  valuesInDeadBranches: number;
}

export interface ShapeInferenceOptions {
  report?: (diagnostic: DiagnosticInput) => void;
  /** Registry of inferrers by op type (default domain). */
  inferrers: ReadonlyMap<string, Inferrer>;
}

export class ShapeInferenceEngine {
  private readonly types = new Map<Value, ValueType | undefined>();
  private readonly data = new Map<Value, PartialTensor | undefined>();
  private readonly conflicts = new Map<Value, DiagnosticInput>();
  /** Nodes without an inferrer, by op (a loop body may be inferred several times: each node counts once). */
  private readonly unsupported = new Map<string, Set<Node>>();
  private readonly failures = new Map<Node, DiagnosticInput>();
  private readonly opsets = new Map<string, number>();
  /** Graphs that cannot run with the shapes they were given, and why. */
  private readonly mismatches = new Map<Graph, { node: Node; reason: string }>();

  constructor(
    readonly model: Model,
    private readonly options: ShapeInferenceOptions,
  ) {
    for (const entry of model.opsetImports) {
      this.opsets.set(entry.domain === 'ai.onnx' ? '' : entry.domain, entry.version);
    }
  }

  /** Infer every graph, write the facts to the model, report diagnostics, and count. */
  run(): { changed: boolean; statistics: ShapeInferenceStatistics } {
    this.inferGraph(this.model.graph);
    const dead = this.deadGraphs();
    const valuesTyped = this.commit(dead);
    const report = this.options.report;
    if (report) {
      for (const [value, diagnostic] of this.conflicts) {
        if (!value.graph || !dead.has(value.graph)) report(diagnostic);
      }
      const main = this.mismatches.get(this.model.graph);
      if (main) {
        report({
          code: ShapeInferenceCodes.SHAPE_MISMATCH,
          severity: 'warning',
          message: `the model cannot run with these input shapes: ${main.node.describe()}: ${main.reason}`,
          location: { graph: this.model.graph.name, node: main.node.name },
        });
      }
      for (const graph of dead) {
        const found = this.mismatches.get(graph);
        if (!found) continue;
        report({
          code: ShapeInferenceCodes.DEAD_BRANCH,
          // A warning: runtimes such as ONNX Runtime check every branch when loading and may refuse the model.
          severity: 'warning',
          message:
            `subgraph '${graph.name}' of ${graph.parentNode?.describe() ?? 'a node'} cannot run with these shapes ` +
            `(${found.node.describe()}: ${found.reason}); its values keep the types the model declares, and ` +
            'runtimes that check every branch at load time may refuse the model: fix fewer input dims',
          location: { graph: graph.name, node: found.node.name },
        });
      }
      for (const diagnostic of this.failures.values()) report(diagnostic);
      for (const [op, nodes] of this.unsupported) {
        const count = nodes.size;
        report({
          code: ShapeInferenceCodes.UNSUPPORTED_OP,
          severity: 'info',
          message: `no shape inference for ${op} (${count} node${count === 1 ? '' : 's'}): its outputs keep what the model declares`,
        });
      }
    }
    let valuesFullyStatic = 0;
    let valuesUnknown = 0;
    let valuesInDeadBranches = 0;
    for (const graph of this.model.graphs()) {
      for (const value of censusValues(graph, graph === this.model.graph)) {
        if (dead.has(graph)) {
          valuesInDeadBranches++;
          continue;
        }
        const type = usableType(value.type);
        if (isFullyStatic(type)) valuesFullyStatic++;
        if (!type || ((type.kind === 'tensor' || type.kind === 'sparse-tensor') && type.elementType === 0))
          valuesUnknown++;
      }
    }
    return {
      changed: valuesTyped > 0,
      statistics: {
        valuesTyped,
        valuesFullyStatic,
        valuesUnknown,
        shapeConflicts: [...this.conflicts.keys()].filter((value) => !value.graph || !dead.has(value.graph)).length,
        nodesNotInferred: [...this.unsupported.values()].reduce((sum, nodes) => sum + nodes.size, 0),
        valuesInDeadBranches,
      },
    };
  }

  /** Best-known type of a value so far. */
  typeOf(value: Value): ValueType | undefined {
    if (this.types.has(value)) return this.types.get(value);
    const constant = value.constant;
    if (constant) return makeTensorType(constant.dataType, constant.dims);
    const declared = usableType(value.type);
    if (!declared && value.initializer) return makeTensorType(value.initializer.dataType, undefined);
    return declared;
  }

  dataOf(value: Value): PartialTensor | undefined {
    if (this.data.has(value)) return this.data.get(value);
    const constant = value.constant;
    if (!constant) return undefined;
    const data = partialFromTensor(constant);
    this.data.set(value, data);
    return data;
  }

  opsetOf(node: Node): number {
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    return this.opsets.get(domain) ?? 1;
  }

  /** Why a graph cannot run with the shapes it was last inferred with, if it cannot. */
  mismatchOf(graph: Graph): string | undefined {
    const found = this.mismatches.get(graph);
    return found ? `${found.node.describe()}: ${found.reason}` : undefined;
  }

  /** Subgraphs that cannot run (or sit inside one that cannot): their inferred types are not written. */
  private deadGraphs(): Set<Graph> {
    const dead = new Set<Graph>();
    const visit = (graph: Graph, inDead: boolean) => {
      const isDead = inDead || (graph !== this.model.graph && this.mismatches.has(graph));
      if (isDead) dead.add(graph);
      for (const node of graph.nodes) for (const subgraph of node.subgraphs()) visit(subgraph, isDead);
    };
    visit(this.model.graph, false);
    return dead;
  }

  inferGraph(graph: Graph): void {
    this.mismatches.delete(graph);
    const order = isTopologicallySorted(graph) ? graph.nodes : (topologicalOrder(graph) ?? graph.nodes);
    for (const node of order) this.inferNode(node);
  }

  /** Set the types of a subgraph's inputs (refining what it declares), infer it, return its output types. */
  inferSubgraph(graph: Graph, inputTypes: readonly (ValueType | undefined)[]): (ValueType | undefined)[] {
    graph.inputs.forEach((input, index) => {
      this.assign(input, inputTypes[index], undefined, graph, undefined);
    });
    this.inferGraph(graph);
    return graph.outputs.map((output) => this.typeOf(output));
  }

  private inferNode(node: Node): void {
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    const inferrer = domain === '' ? this.options.inferrers.get(node.opType) : undefined;
    const context = new NodeContext(this, node);
    if (inferrer) {
      try {
        inferrer(context);
        this.failures.delete(node);
      } catch (error) {
        context.clear();
        if (error instanceof ShapeMismatch) {
          const graph = node.graph;
          if (graph && !this.mismatches.has(graph)) this.mismatches.set(graph, { node, reason: error.message });
        } else
          this.failures.set(node, {
            code: ShapeInferenceCodes.INFERENCE_FAILED,
            severity: 'info',
            message: `shape inference of ${node.describe()} failed: ${error instanceof Error ? error.message : String(error)}`,
            location: { graph: node.graph?.name ?? '', node: node.name },
          });
      }
    } else if (node.opType !== '') {
      const key = domain ? `${domain}::${node.opType}` : node.opType;
      const nodes = this.unsupported.get(key) ?? new Set<Node>();
      nodes.add(node);
      this.unsupported.set(key, nodes);
    }
    // Subgraphs the inferrer did not visit still get their own values inferred.
    for (const graph of node.subgraphs()) if (!context.visited.has(graph)) this.inferSubgraph(graph, []);
    node.outputs.forEach((output, index) => {
      if (!output) return;
      this.assign(output, context.outputTypes[index], context.outputData[index], node.graph, node);
    });
  }

  private assign(
    value: Value,
    inferred: ValueType | undefined,
    data: PartialTensor | undefined,
    graph: Graph | undefined,
    node: Node | undefined,
  ): void {
    const declared = usableType(value.type);
    const refined = refineType(declared, inferred);
    this.types.set(value, refined.type);
    if (refined.conflict) {
      this.conflicts.set(value, {
        code: ShapeInferenceCodes.SHAPE_CONFLICT,
        severity: 'warning',
        message: `'${value.name}' is declared ${describe(declared)} but inference gives ${describe(inferred)} (${refined.conflict}); the declared type is kept`,
        location: { graph: graph?.name ?? '', ...(node ? { node: node.name } : {}), value: value.name },
      });
      this.data.delete(value);
      return;
    }
    this.conflicts.delete(value);
    if (data && dataFits(data, refined.type)) this.data.set(value, data);
    else this.data.delete(value);
  }

  /** Write refined types to the values; returns how many values gained facts. */
  private commit(dead: ReadonlySet<Graph>): number {
    let typed = 0;
    for (const graph of this.model.graphs()) {
      if (dead.has(graph)) continue;
      const isMain = graph === this.model.graph;
      const listed = new Set([...graph.inputs, ...graph.outputs, ...graph.valueInfo]);
      for (const value of censusValues(graph, isMain)) {
        if (!this.types.has(value)) continue;
        const type = committableType(this.types.get(value));
        if (!type || typeEquals(type, value.type)) continue;
        value.type = structuredClone(type);
        typed++;
        if (!listed.has(value) && value.initializer === undefined) {
          graph.valueInfo.push(value);
          listed.add(value);
        }
      }
    }
    return typed;
  }
}

function describe(type: ValueType | undefined): string {
  if (!type) return 'unknown';
  if (type.kind !== 'tensor') return type.kind;
  const shape = type.shape ? `[${type.shape.map((dim) => (dim === null ? '?' : String(dim))).join(',')}]` : '';
  return `${DataType[type.elementType] ?? type.elementType}${shape}`;
}

/** Data is kept only when it agrees with the type's shape. */
function dataFits(data: PartialTensor, type: ValueType | undefined): boolean {
  if (type?.kind !== 'tensor' || !type.shape) return true;
  if (type.shape.length !== data.dims.length) return false;
  return type.shape.every((dim, index) => typeof dim !== 'number' || dim === data.dims[index]);
}

/** Graph inputs (subgraphs only; the main graph's inputs are the user's) and node outputs. */
function* censusValues(graph: Graph, isMain: boolean): Generator<Value> {
  if (!isMain) yield* graph.inputs;
  else for (const input of graph.inputs) if (!input.initializer) yield input;
  for (const node of graph.nodes) for (const output of node.outputs) if (output) yield output;
}

class NodeContext implements InferenceContext {
  readonly opset: number;
  readonly outputTypes: (ValueType | undefined)[] = [];
  readonly outputData: (PartialTensor | undefined)[] = [];
  readonly visited = new Set<Graph>();

  constructor(
    private readonly engine: ShapeInferenceEngine,
    readonly node: Node,
  ) {
    this.opset = engine.opsetOf(node);
  }

  get outputCount(): number {
    return this.node.outputs.length;
  }

  clear(): void {
    this.outputTypes.length = 0;
    this.outputData.length = 0;
  }

  has(index: number): boolean {
    return this.node.input(index) !== undefined;
  }

  type(index: number): ValueType | undefined {
    const value = this.node.input(index);
    return value ? this.engine.typeOf(value) : undefined;
  }

  tensor(index: number): TensorFacts | undefined {
    return tensorFactsOf(this.type(index));
  }

  shape(index: number): Dimension[] | undefined {
    return this.tensor(index)?.shape;
  }

  rank(index: number): number | undefined {
    return this.shape(index)?.length;
  }

  elementType(index: number): DataType {
    return this.tensor(index)?.elementType ?? DataType.UNDEFINED;
  }

  data(index: number): PartialTensor | undefined {
    const value = this.node.input(index);
    return value ? this.engine.dataOf(value) : undefined;
  }

  numbers(index: number): number[] | undefined {
    return numbersOf(this.data(index));
  }

  setType(index: number, type: ValueType | undefined, data?: PartialTensor): void {
    if (index >= this.node.outputs.length) return;
    this.outputTypes[index] = type;
    this.outputData[index] = data;
  }

  setTensor(index: number, elementType: DataType, shape: readonly Dimension[] | undefined, data?: PartialTensor): void {
    if (elementType === DataType.UNDEFINED && shape === undefined) return;
    this.setType(index, makeTensorType(elementType, shape), data);
  }

  inferSubgraph(graph: Graph, inputTypes: readonly (ValueType | undefined)[]): (ValueType | undefined)[] {
    this.visited.add(graph);
    return this.engine.inferSubgraph(graph, inputTypes);
  }

  subgraphOutputData(graph: Graph, index: number): PartialTensor | undefined {
    const output = graph.outputs[index];
    return output ? this.engine.dataOf(output) : undefined;
  }

  subgraphMismatch(graph: Graph): string | undefined {
    return this.engine.mismatchOf(graph);
  }
}
