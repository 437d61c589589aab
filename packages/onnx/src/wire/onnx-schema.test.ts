import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { knownFieldNumbers, ONNX_SCHEMA, type OnnxMessageType } from './onnx-schema.js';
import { onnxProtoEntry } from './test-support.js';

interface DecodedType {
  /** Every `case N:` number of the decode function. */
  cases: number[];
  /** The `case N:` blocks that call another type's decode, and that type. */
  messages: Record<number, string>;
}

/** Re-derives the schema from the `decode` functions of onnx-proto's generated dist/onnx.js. */
function parseGeneratedDecoders(source: string): Map<string, DecodedType> {
  const declaration = /(?:\bonnx\.(\w+)|\b(\w+)\.(\w+)) = \(function\(\) \{/g;
  const declarations: Array<{ at: number; name: string }> = [];
  for (const m of source.matchAll(declaration)) {
    declarations.push({ at: m.index, name: m[1] ?? `${m[2]}.${m[3]}` });
  }
  const types = new Map<string, DecodedType>();
  for (const m of source.matchAll(/(\w+)\.decode = function decode\(reader, length\) \{/g)) {
    // The decode function belongs to the nearest type declared above it (enums declared in between have no decoder).
    const owner = declarations.filter((d) => d.at < m.index).at(-1);
    if (owner === undefined || owner.name.split('.').at(-1) !== m[1]) {
      throw new Error(`cannot attribute ${m[1]}.decode at ${m.index} (nearest declaration: ${owner?.name})`);
    }
    const bodyEnd = source.indexOf('return message;', m.index);
    const body = source.slice(m.index, bodyEnd);
    const cases: number[] = [];
    const messages: Record<number, string> = {};
    const blocks = body.split(/\n\s*(?=case \d+:|default:)/);
    for (const block of blocks) {
      const c = /^case (\d+):/.exec(block);
      if (c === null) continue;
      const number = Number(c[1]);
      cases.push(number);
      const sub = /\$root\.onnx\.([\w.]+)\.decode\(/.exec(block);
      if (sub !== null) messages[number] = sub[1]!;
    }
    expect(types.has(owner.name), `duplicate decoder for ${owner.name}`).toBe(false);
    types.set(owner.name, { cases: cases.sort((a, b) => a - b), messages });
  }
  return types;
}

const generated = parseGeneratedDecoders(readFileSync(onnxProtoEntry, 'utf8'));
const names = Object.keys(ONNX_SCHEMA) as OnnxMessageType[];

describe('ONNX_SCHEMA', () => {
  it('covers exactly the message types that onnx-proto can decode', () => {
    expect(generated.size).toBe(21);
    expect([...names].sort()).toEqual([...generated.keys()].sort());
  });

  it.each(names)('%s has exactly the field numbers of its generated decoder', (name) => {
    const decoded = generated.get(name)!;
    expect(knownFieldNumbers(name)).toEqual(decoded.cases);
  });

  it.each(names)('%s maps sub-message fields to the types its generated decoder uses', (name) => {
    const decoded = generated.get(name)!;
    expect({ ...ONNX_SCHEMA[name].messages }).toEqual(decoded.messages);
  });

  it('lists no field twice', () => {
    for (const name of names) {
      const numbers = knownFieldNumbers(name);
      expect(new Set(numbers).size, name).toBe(numbers.length);
    }
  });

  it('does not know the fields added after ONNX 1.10.2', () => {
    expect(knownFieldNumbers('NodeProto')).not.toContain(9); // metadata_props (1.16)
    expect(knownFieldNumbers('FunctionProto')).not.toContain(11); // attribute_proto
    expect(knownFieldNumbers('GraphProto')).not.toContain(16); // metadata_props
  });
});
