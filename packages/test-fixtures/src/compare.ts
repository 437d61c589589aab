import type { OrtTensor, Outputs } from './ort.js';

/**
 * The largest difference between two sets of outputs, relative to each output's largest magnitude: 0 when
 * bit-identical, Infinity when names, types or dims differ, a NaN appears on one side only, or an integer, bool or
 * string output differs at all.
 */
export function relativeDifference(expected: Outputs, actual: Outputs, settings: CompareSettings = {}): number {
  const names = Object.keys(expected);
  if (names.join('\0') !== Object.keys(actual).join('\0')) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (const name of names) worst = Math.max(worst, tensorRelativeDifference(expected[name]!, actual[name]!, settings));
  return worst;
}

export interface CompareSettings {
  /**
   * The smallest magnitude an output is measured against. An output whose values are all near zero (a detector's
   * map on an input without text) would otherwise turn float rounding noise into a large relative error.
   */
  floor?: number;
}

export function tensorRelativeDifference(
  expected: OrtTensor,
  actual: OrtTensor,
  settings: CompareSettings = {},
): number {
  if (expected.type !== actual.type || expected.dims.join(',') !== actual.dims.join(','))
    return Number.POSITIVE_INFINITY;
  const a = expected.data as ArrayLike<number | bigint | string | boolean>;
  const b = actual.data as ArrayLike<number | bigint | string | boolean>;
  const floating = expected.type === 'float32' || expected.type === 'float64';
  if (!floating) {
    for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return Number.POSITIVE_INFINITY;
    return 0;
  }
  const left = a as ArrayLike<number>;
  const right = b as ArrayLike<number>;
  let scale = 0;
  for (let index = 0; index < left.length; index++) {
    if (Number.isFinite(left[index]!)) scale = Math.max(scale, Math.abs(left[index]!));
  }
  scale = Math.max(scale, settings.floor ?? 0);
  let worst = 0;
  for (let index = 0; index < left.length; index++) {
    const x = left[index]!;
    const y = right[index]!;
    if (Object.is(x, y) || x === y) continue;
    if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(x) || !Number.isFinite(y))
      return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, scale > 0 ? Math.abs(x - y) / scale : Number.POSITIVE_INFINITY);
  }
  return worst;
}
