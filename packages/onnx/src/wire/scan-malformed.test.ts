import { Random } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { WireFormatError } from './errors.js';
import { fieldSlices, messageAt, scanUnknownFields } from './scan.js';
import { RICH_PATHS, richModelBytes } from './test-fixture.js';
import { appendAt, concat, ldField, replaceAt, tag, topFields, varintField } from './test-support.js';

const u8 = (...bytes: number[]) => new Uint8Array(bytes);

/** Runs `fn` and returns the WireFormatError it throws, failing the test on success or on any other error. */
function wireError(fn: () => unknown): WireFormatError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WireFormatError);
    return error as WireFormatError;
  }
  throw new Error('expected a WireFormatError');
}

describe('malformed input', () => {
  it('reports the offending byte offset for each kind of damage', () => {
    const cases: Array<[bytes: Uint8Array, offset: number, message: RegExp]> = [
      [u8(0x80), 0, /truncated varint/],
      [u8(0x08), 1, /truncated varint/],
      [u8(0x08, 0x96), 1, /truncated varint/],
      [concat(u8(0x08), new Uint8Array(10).fill(0xff), u8(0x01)), 1, /longer than 10 bytes/],
      [u8(0xff, 0xff, 0xff, 0xff, 0x7f), 0, /32 bits/],
      [u8(0x88, 0x80, 0x80, 0x80, 0x80, 0x00), 0, /32 bits/],
      [u8(0x00), 0, /field number 0/],
      [u8(0x08, 0x01, 0x3a, 0x05, 0x01), 2, /field 7 declares 5 bytes but only 1 remain/],
      [u8(0x3a, 0x80), 1, /truncated varint/],
      [concat(u8(0x3a), new Uint8Array(9).fill(0xff), u8(0x01)), 0, /declares/],
      [u8(0x09, 1, 2, 3), 0, /fixed64 field 1 is truncated/],
      [u8(0x0d, 1, 2, 3), 0, /fixed32 field 1 is truncated/],
      [u8(0x08, 0x01, 0x0b, 0x0c), 2, /group wire type 3/],
      [u8(0x0c), 0, /group wire type 4/],
      [u8(0x0e), 0, /invalid wire type 6/],
      [u8(0x0f, 0x00), 0, /invalid wire type 7/],
      // A node whose length runs past the end of its graph (but not past the buffer).
      [concat(u8(0x3a, 0x03), u8(0x0a, 0x05, 0x00), new Uint8Array(5)), 2, /field 1 declares 5 bytes/],
      // A varint that starts inside a sub-message and continues past its end.
      [concat(u8(0x3a, 0x02), u8(0x10, 0x80), u8(0x00)), 3, /truncated varint/],
      // Damage deep inside: an attribute of a node of the graph.
      [ldField(7, ldField(1, ldField(5, concat(ldField(1, u8(97)), u8(0x13))))), 9, /group wire type 3/],
    ];
    for (const [bytes, offset, message] of cases) {
      const error = wireError(() => scanUnknownFields(bytes));
      expect(error.offset, `${[...bytes]}`).toBe(offset);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(`at byte ${offset}`);
    }
  });

  it('rejects a group in an unknown field (it cannot be skipped without parsing groups)', () => {
    const error = wireError(() => scanUnknownFields(concat(varintField(1, 8), tag(99, 3), tag(99, 4))));
    expect(error.offset).toBe(2);
  });

  it('throws (never crashes) for every truncation of a model', () => {
    const boundaries = new Set([0, ...topFields(richModelBytes).map((f) => f.end)]);
    for (let n = 0; n < richModelBytes.length; n++) {
      const prefix = richModelBytes.subarray(0, n);
      if (boundaries.has(n)) {
        expect(scanUnknownFields(prefix).size).toBe(0);
      } else {
        const error = wireError(() => scanUnknownFields(prefix));
        expect(error.offset).toBeLessThanOrEqual(n);
        wireError(() => fieldSlices(prefix, 7));
      }
    }
  });

  it.each(['7:0', '7:0/1:1', '7:0/1:2/5:0/6:0', '7:0/5:3', '20:0', '25:0'])(
    'throws for every truncation of the message at %s inside a well-formed model',
    (path) => {
      const payload = messageAt(richModelBytes, path)!;
      const boundaries = new Set([0, ...topFields(payload).map((f) => f.end)]);
      for (let n = 0; n < payload.length; n++) {
        const model = replaceAt(richModelBytes, path, (p) => p.subarray(0, n));
        if (boundaries.has(n)) {
          expect(scanUnknownFields(model).size).toBe(0);
        } else {
          wireError(() => scanUnknownFields(model));
        }
      }
    },
  );

  it('either scans or throws WireFormatError for randomly damaged models', () => {
    const random = new Random(12345);
    const base = appendAt(richModelBytes, RICH_PATHS[5]![0], varintField(99, 1));
    let thrown = 0;
    for (let i = 0; i < 5000; i++) {
      const damaged = base.slice();
      const edits = random.integer(1, 5);
      for (let e = 0; e < edits; e++) damaged[random.integer(0, damaged.length)] = random.integer(0, 256);
      try {
        const scan = scanUnknownFields(damaged);
        for (const entry of scan.values()) for (const f of entry.fields) expect(f.buffer).toBe(damaged.buffer);
      } catch (error) {
        expect(error).toBeInstanceOf(WireFormatError);
        thrown++;
      }
    }
    expect(thrown).toBeGreaterThan(0);
    for (let i = 0; i < 2000; i++) {
      const noise = random.bytes(random.integer(1, 65));
      try {
        scanUnknownFields(noise);
      } catch (error) {
        expect(error).toBeInstanceOf(WireFormatError);
      }
    }
  });
});
