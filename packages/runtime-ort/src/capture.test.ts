import { DataType } from '@whittle/ir';
import { describe, expect, it } from 'vitest';
import { hasUsableType, resolveCaptures, withExtraOutputs } from './capture.js';
import { ExecutorCodes } from './codes.js';
import { expectCode, fingerprint, smallModel } from './test-support.js';

describe('resolveCaptures', () => {
  it('keeps the order asked, drops duplicates and the model outputs', () => {
    const model = smallModel();
    const values = resolveCaptures(model, ['shape', 'y', 'w', 'x', 'shape', 'sum']);
    expect(values.map((value) => value.name)).toEqual(['shape', 'w', 'x', 'sum']);
  });

  it('names every unknown value in one EXECUTOR_UNKNOWN_VALUE error', async () => {
    const error = await expectCode(
      () => resolveCaptures(smallModel(), ['sum', 'a', 'b', 'a']),
      ExecutorCodes.UNKNOWN_VALUE,
    );
    expect(error.message).toBe("cannot capture 'a', 'b': not values of the main graph");
    expect(error.location?.value).toBe('a');
  });
});

describe('withExtraOutputs', () => {
  it('adds outputs for the serialization only, and restores the model even when the serialization throws', () => {
    const model = smallModel();
    const before = fingerprint(model);
    const extra = resolveCaptures(model, ['sum', 'relu']);
    const seen = withExtraOutputs(model, extra, () => model.graph.outputs.map((value) => value.name));
    expect(seen).toEqual(['y', 'sum', 'relu']);
    expect(() =>
      withExtraOutputs(model, extra, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(fingerprint(model).equals(before)).toBe(true);
    expect(model.graph.outputs.map((value) => value.name)).toEqual(['y']);
  });

  it('writes values with an UNDEFINED element type untyped for the duration, then puts the type back', () => {
    const model = smallModel();
    const relu = model.graph.findValue('relu')!;
    const broken = { kind: 'tensor', elementType: DataType.UNDEFINED } as const;
    relu.type = broken;
    expect(hasUsableType(relu)).toBe(false);
    expect(hasUsableType(model.graph.findValue('sum')!)).toBe(false);
    expect(hasUsableType(model.graph.findValue('y')!)).toBe(true);
    const during = withExtraOutputs(model, [relu], () => relu.type);
    expect(during).toBeUndefined();
    expect(relu.type).toBe(broken);
  });
});
