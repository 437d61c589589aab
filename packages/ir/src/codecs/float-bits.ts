/**
 * Bit-level helpers shared by the small float codecs. Every narrowing conversion starts from float32 bits, because
 * ONNX defines these casts from float32; rounding a float64 straight to the narrow type would round twice
 * differently for some inputs.
 */

// One scratch slot reused by the scalar conversions so they allocate nothing.
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** The IEEE 754 bits of `value` after rounding it to float32. */
export function float32ToBits(value: number): number {
  scratchFloat[0] = value;
  return scratchBits[0]!;
}

/** The float32 whose IEEE 754 bits are `bits` (read as an unsigned 32-bit integer). */
export function bitsToFloat32(bits: number): number {
  scratchBits[0] = bits;
  return scratchFloat[0]!;
}

/**
 * Float32 bits of every element: a view when the input already is a Float32Array (no copy, NaN payloads kept),
 * otherwise one float32 copy of the whole input.
 */
export function float32BitsOf(values: Float32Array | ArrayLike<number>): Uint32Array {
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  return new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
}

/** Shifts `value` right by `shift` (1..31) bits, rounding to nearest with ties to even. */
export function shiftRightRoundingToEven(value: number, shift: number): number {
  const kept = value >>> shift;
  // Adding just under one half, plus one more when the kept part is odd, turns exact halves into ties to even.
  return (value + ((1 << (shift - 1)) - 1) + (kept & 1)) >>> shift;
}

/**
 * Rounds a finite, non-negative float32 (given as bits with the sign cleared) to the nearest magnitude code of a
 * binary format with `mantissaBits` fraction bits and exponent bias `bias`, ties to even.
 *
 * The code is `exponentField << mantissaBits | fraction`, computed as if the exponent had no upper limit, so a
 * caller detects overflow by comparing it with its largest finite code. Codes are monotonic in the value, which
 * is why a round-up carry from fraction into exponent (or from subnormal into normal) needs no special case.
 */
export function roundFloat32Magnitude(magnitude: number, mantissaBits: number, bias: number): number {
  const droppedBits = 23 - mantissaBits;
  const exponent = magnitude >>> 23;
  // Float32 exponent field of the target's smallest normal number, 2^(1 - bias).
  const smallestNormalExponent = 128 - bias;
  if (exponent >= smallestNormalExponent) {
    // Rebiasing is a subtraction on the exponent field; the fraction bits are already in place.
    return shiftRightRoundingToEven(magnitude - ((127 - bias) << 23), droppedBits);
  }
  // Subnormal in the target: line the full significand up with the target's fixed subnormal step.
  const significand = exponent === 0 ? magnitude : (magnitude & 0x7fffff) | 0x800000;
  const shift = droppedBits + smallestNormalExponent - Math.max(exponent, 1);
  // The significand is below 2^24, so from a 25-bit shift on it is less than half a step.
  if (shift > 24) return 0;
  return shiftRightRoundingToEven(significand, shift);
}
