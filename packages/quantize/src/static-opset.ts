/**
 * Which QuantizeLinear/DequantizeLinear the model's opsets allow, and the one opset change the pass makes.
 *
 * ONNX Q/DQ exist from opset 10, per-tensor only; `axis` (per-channel) comes at 13, int16/uint16 at 21. Where the
 * default opset is older, ONNX Runtime's contrib ops `com.microsoft` QuantizeLinear/DequantizeLinear (version 1:
 * axis, 8- and 16-bit types, int32 input to DQ) are used for every pair, so per-channel is never dropped.
 *
 * ONNX Runtime fuses DQ → Conv → Q into the default-domain QLinearConv (and MatMul into QLinearMatMul), ops of
 * opset 10; on an opset-9 model the fused graph is invalid and the session fails to load at the default
 * optimization level. So an opset-9 model is raised to opset 10, rewriting the two ops whose form changed between
 * 9 and 10 that can be rewritten exactly (Slice: attributes to inputs; TopK: `k` to an input). Upsample (replaced
 * by Resize at 10) blocks the upgrade; older opsets are left alone. Both cases are reported.
 */
import {
  type Attribute,
  DataType,
  type Graph,
  type Model,
  type NameGenerator,
  type Node,
  Tensor,
  tensorType,
  Value,
} from '@whittle/ir';
import { CONTRIB_DOMAIN } from './static-qat.js';

/** Opsets where ONNX's own Q/DQ can say what the pass writes. */
export const ONNX_QDQ_OPSET = 10;
export const ONNX_PER_CHANNEL_OPSET = 13;
export const ONNX_SIXTEEN_BIT_OPSET = 21;

export interface QdqDomainPlan {
  /** Domain of every Q/DQ the pass writes. */
  domain: '' | typeof CONTRIB_DOMAIN;
  /** The default opset, and the opset it takes when the pass raises it (9 → 10). */
  opset: number;
  /** Set when the model is at opset 9 and can be raised to 10. */
  upgrade: boolean;
  /** Ops that keep an opset-9 (or older) model from being raised; empty otherwise. */
  upgradeBlockers: string[];
}

export function defaultOpset(model: Model): number {
  return model.opsetVersion('') ?? 1;
}

/** Default-domain op types of a model (every graph) that keep it from opset 10, as `Upsample`. */
export function opset10Blockers(model: Model): string[] {
  const blockers = new Set<string>();
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) {
      if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
      if (node.opType === 'Upsample') blockers.add(node.opType);
    }
  }
  return [...blockers];
}

export function planQdqDomain(model: Model, needs: { perChannel: boolean; sixteenBit: boolean }): QdqDomainPlan {
  const opset = defaultOpset(model);
  const required = needs.sixteenBit
    ? ONNX_SIXTEEN_BIT_OPSET
    : needs.perChannel
      ? ONNX_PER_CHANNEL_OPSET
      : ONNX_QDQ_OPSET;
  const upgradeBlockers = opset < ONNX_QDQ_OPSET ? (opset === 9 ? opset10Blockers(model) : ['opset < 9']) : [];
  return {
    domain: opset >= required ? '' : CONTRIB_DOMAIN,
    opset,
    upgrade: opset === 9 && upgradeBlockers.length === 0,
    upgradeBlockers,
  };
}

/** Import `com.microsoft` version 1 when the model does not already. */
export function importContribDomain(model: Model): void {
  if (model.opsetVersion(CONTRIB_DOMAIN) === undefined) model.opsetImports.push({ domain: CONTRIB_DOMAIN, version: 1 });
}

function int64Initializer(graph: Graph, names: NameGenerator, base: string, values: readonly number[]): Value {
  const name = names.fresh(base);
  const tensor = Tensor.fromArray(name, DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));
  return graph.addInitializer(tensor, new Value(name, tensorType(DataType.INT64, [values.length])));
}

function dropAttributes(node: Node, names: readonly string[]): void {
  for (const name of names) node.attributes.delete(name);
}

function intsOf(attribute: Attribute | undefined): number[] | undefined {
  return attribute?.type === 'ints' ? attribute.value.map(Number) : undefined;
}

/**
 * Raise a model from opset 9 to 10: Slice-1's starts/ends/axes attributes become int64 inputs, TopK-1's `k`
 * becomes a [1] input. Every other op of opset 9 means the same at 10. Call only when `opset10Blockers` is empty.
 */
export function upgradeOpset9To10(model: Model, names: NameGenerator): void {
  for (const graph of model.graphs()) {
    for (const node of graph.nodes) {
      if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
      const base = node.name || node.opType;
      if (node.opType === 'Slice') {
        const starts = intsOf(node.attribute('starts')) ?? [];
        const ends = intsOf(node.attribute('ends')) ?? [];
        const axes = intsOf(node.attribute('axes'));
        node.truncateInputs(1);
        node.appendInput(int64Initializer(graph, names, `${base}_starts`, starts));
        node.appendInput(int64Initializer(graph, names, `${base}_ends`, ends));
        if (axes) node.appendInput(int64Initializer(graph, names, `${base}_axes`, axes));
        dropAttributes(node, ['starts', 'ends', 'axes']);
      } else if (node.opType === 'TopK') {
        const k = node.intAttribute('k', 1) ?? 1;
        node.truncateInputs(1);
        node.appendInput(int64Initializer(graph, names, `${base}_k`, [k]));
        dropAttributes(node, ['k']);
      }
    }
  }
  for (const entry of model.opsetImports) {
    if (entry.domain === '' || entry.domain === 'ai.onnx') entry.version = Math.max(entry.version, ONNX_QDQ_OPSET);
  }
}
