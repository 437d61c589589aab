import { WhittleError } from '@whittle/spec';
import { type Attribute, decodeAttributeString, int64ToNumber } from './attribute.js';
import type { Tensor } from './tensor.js';
import type { Graph } from './graph.js';
import { Value } from './value.js';

export interface NodeInit {
  opType: string;
  domain?: string;
  name?: string;
  /** undefined entries are omitted optional inputs (written as an empty name). */
  inputs?: readonly (Value | undefined)[];
  /** Values to produce, or names for new values; undefined entries are omitted optional outputs. */
  outputs?: readonly (Value | string | undefined)[];
  attributes?: readonly Attribute[];
  docString?: string;
  overload?: string;
}

export class Node {
  opType: string;
  /** '' is the default ONNX domain (also written as `ai.onnx`). */
  domain: string;
  name: string;
  docString: string;
  overload: string;
  /** Attributes by name, in their original order. Subgraph attributes hold Graph objects. */
  readonly attributes: Map<string, Attribute>;
  /** Format-owned facts carried without interpretation (unknown fields, for example). */
  readonly carried: Record<string, unknown> = {};
  /** @internal set by Graph */
  ownerGraph: Graph | undefined;
  private readonly inputList: (Value | undefined)[] = [];
  private readonly outputList: (Value | undefined)[] = [];

  constructor(init: NodeInit) {
    this.opType = init.opType;
    this.domain = init.domain ?? '';
    this.name = init.name ?? '';
    this.docString = init.docString ?? '';
    this.overload = init.overload ?? '';
    this.attributes = new Map((init.attributes ?? []).map((attribute) => [attribute.name, attribute]));
    for (const input of init.inputs ?? []) this.appendInput(input);
    for (const output of init.outputs ?? []) {
      this.appendOutput(typeof output === 'string' ? new Value(output) : output);
    }
  }

  get graph(): Graph | undefined {
    return this.ownerGraph;
  }

  get inputs(): readonly (Value | undefined)[] {
    return this.inputList;
  }

  get outputs(): readonly (Value | undefined)[] {
    return this.outputList;
  }

  /** The input at `index`, or undefined when it is omitted or absent. */
  input(index: number): Value | undefined {
    return this.inputList[index];
  }

  output(index: number): Value | undefined {
    return this.outputList[index];
  }

  setInput(index: number, value: Value | undefined): void {
    if (index < 0 || index > this.inputList.length) throw new RangeError(`input index ${index} out of range`);
    this.inputList[index]?.removeUse(this, index);
    this.inputList[index] = value;
    value?.addUse(this, index);
  }

  appendInput(value: Value | undefined): void {
    this.inputList.push(value);
    value?.addUse(this, this.inputList.length - 1);
  }

  /** Remove trailing inputs from `count` on. */
  truncateInputs(count: number): void {
    while (this.inputList.length > count) {
      const index = this.inputList.length - 1;
      this.inputList[index]?.removeUse(this, index);
      this.inputList.pop();
    }
  }

  appendOutput(value: Value | undefined): void {
    if (value) {
      if (value.producerNode && value.producerNode !== this) {
        throw new WhittleError('IR_VALUE_HAS_PRODUCER', `value '${value.name}' is already produced by another node`);
      }
      value.producerNode = this;
      if (this.ownerGraph) value.ownerGraph = this.ownerGraph;
    }
    this.outputList.push(value);
  }

  /** Replace output `index` with a fresh value; the old value loses its producer. */
  setOutput(index: number, value: Value | undefined): void {
    const previous = this.outputList[index];
    if (previous) previous.producerNode = undefined;
    if (value) {
      value.producerNode = this;
      if (this.ownerGraph) value.ownerGraph = this.ownerGraph;
    }
    this.outputList[index] = value;
  }

  attribute(name: string): Attribute | undefined {
    return this.attributes.get(name);
  }

  /** An INT attribute as a number, or `fallback` when absent. Throws when present with another type. */
  intAttribute(name: string, fallback?: number): number | undefined {
    const attribute = this.attributes.get(name);
    if (!attribute) return fallback;
    if (attribute.type !== 'int') throw this.wrongType(name, 'int');
    return int64ToNumber(attribute.value);
  }

  floatAttribute(name: string, fallback?: number): number | undefined {
    const attribute = this.attributes.get(name);
    if (!attribute) return fallback;
    if (attribute.type !== 'float') throw this.wrongType(name, 'float');
    return attribute.value;
  }

  intsAttribute(name: string, fallback?: number[]): number[] | undefined {
    const attribute = this.attributes.get(name);
    if (!attribute) return fallback;
    if (attribute.type !== 'ints') throw this.wrongType(name, 'ints');
    return attribute.value.map(int64ToNumber);
  }

  floatsAttribute(name: string, fallback?: number[]): number[] | undefined {
    const attribute = this.attributes.get(name);
    if (!attribute) return fallback;
    if (attribute.type !== 'floats') throw this.wrongType(name, 'floats');
    return attribute.value;
  }

  stringAttribute(name: string, fallback?: string): string | undefined {
    const attribute = this.attributes.get(name);
    if (!attribute) return fallback;
    if (attribute.type !== 'string') throw this.wrongType(name, 'string');
    return decodeAttributeString(attribute.value);
  }

  tensorAttribute(name: string): Tensor | undefined {
    const attribute = this.attributes.get(name);
    if (!attribute) return undefined;
    if (attribute.type !== 'tensor') throw this.wrongType(name, 'tensor');
    return attribute.value;
  }

  /** True for an operator of the default ONNX domain (or another domain when given). */
  is(opType: string, domain = ''): boolean {
    const own = this.domain === 'ai.onnx' ? '' : this.domain;
    return this.opType === opType && own === (domain === 'ai.onnx' ? '' : domain);
  }

  private wrongType(name: string, expected: string): WhittleError {
    return new WhittleError(
      'IR_ATTRIBUTE_TYPE',
      `attribute '${name}' of ${this.describe()} is ${this.attributes.get(name)?.type}, not ${expected}`,
    );
  }

  setAttribute(attribute: Attribute): void {
    this.attributes.set(attribute.name, attribute);
    this.adoptSubgraphs();
  }

  /** Subgraphs held by this node's attributes. */
  subgraphs(): Graph[] {
    const graphs: Graph[] = [];
    for (const attribute of this.attributes.values()) {
      if (attribute.type === 'graph') graphs.push(attribute.value);
      else if (attribute.type === 'graphs') graphs.push(...attribute.value);
    }
    return graphs;
  }

  /** @internal make subgraphs point back at this node */
  adoptSubgraphs(): void {
    for (const graph of this.subgraphs()) graph.parentNode = this;
  }

  /** Detach every input use; the node is then free to drop. @internal */
  detachInputs(): void {
    this.inputList.forEach((value, index) => {
      value?.removeUse(this, index);
    });
  }

  /** `Conv 'conv1'` or `Conv #12` for messages. */
  describe(): string {
    const op = this.domain && this.domain !== 'ai.onnx' ? `${this.domain}::${this.opType}` : this.opType;
    return this.name ? `${op} '${this.name}'` : op;
  }
}
