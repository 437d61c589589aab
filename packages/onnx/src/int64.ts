import type { Int64 } from '@whittle/ir';

/** protobufjs hands int64 fields over as Long objects (or numbers): keep them exact. */
export type LongLike = number | { low: number; high: number; unsigned?: boolean };

export function longToInt64(value: LongLike | null | undefined): Int64 {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  const high = value.high | 0;
  const low = value.low >>> 0;
  // Below 2^31 (dims, most attributes) `low | 0` is a small integer to V8: loops bounded by dims stay on the
  // integer path instead of deoptimising to doubles (1.5x slower weight loops).
  if (high === 0 && low <= 0x7fffffff) return low | 0;
  // Numbers are exact below 2^53: the common case stays a plain number.
  if ((high >= 0 && high < 0x200000) || (high < 0 && high >= -0x200000)) return high * 0x100000000 + low;
  const big = (BigInt(high) << 32n) | BigInt(low);
  return value.unsigned ? BigInt.asUintN(64, big) : BigInt.asIntN(64, big);
}

/** For sizes and versions: a number, throwing nothing; callers validate the range. */
export function longToNumber(value: LongLike | null | undefined): number {
  const exact = longToInt64(value);
  return typeof exact === 'bigint' ? Number(exact) : exact;
}

/** protobufjs encodes an int64 given as a number or as `{ low, high }` words; big values take the words. */
export function int64ToLong(value: Int64): number | { low: number; high: number; unsigned: boolean } {
  if (typeof value === 'number') return value;
  return bigIntToLong(value);
}

export function bigIntToLong(value: bigint, unsigned = false): { low: number; high: number; unsigned: boolean } {
  const masked = BigInt.asUintN(64, value);
  return { low: Number(masked & 0xffffffffn) | 0, high: Number(masked >> 32n) | 0, unsigned };
}
