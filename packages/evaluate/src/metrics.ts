import type { ExecutorTensor } from '@whittle/spec';

/** How far a candidate output is from the reference, accumulated over samples. */
export interface ErrorMetrics {
  /** Signal-to-quantization-noise ratio in dB: 10·log10(Σ ref² / Σ (ref − candidate)²); Infinity when equal. */
  sqnr: number;
  /** Cosine similarity of the two outputs taken as one long vector; 1 when parallel. */
  cosineSimilarity: number;
  maxAbsoluteError: number;
  meanAbsoluteError: number;
  /** Elements compared. */
  elements: number;
}

function numbersOf(tensor: ExecutorTensor): ArrayLike<number> | undefined {
  const data = tensor.data;
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  if (
    data instanceof Int8Array ||
    data instanceof Uint8Array ||
    data instanceof Int16Array ||
    data instanceof Int32Array ||
    data instanceof Uint32Array
  ) {
    return data;
  }
  if (data instanceof Uint16Array && tensor.type !== 'float16') return data;
  return undefined;
}

/** Sums that give the metrics; add sample after sample, memory stays constant. */
export class ErrorAccumulator {
  private signal = 0;
  private noise = 0;
  private dot = 0;
  private candidateEnergy = 0;
  private absoluteSum = 0;
  private maxAbsolute = 0;
  private count = 0;
  /** Set when the two tensors could not be compared (shape or type differs), with the reason. */
  mismatch: string | undefined;

  add(reference: ExecutorTensor, candidate: ExecutorTensor): void {
    if (reference.dims.join(',') !== candidate.dims.join(',')) {
      this.mismatch ??= `dims differ: [${reference.dims.join(',')}] vs [${candidate.dims.join(',')}]`;
      return;
    }
    const left = numbersOf(reference);
    const right = numbersOf(candidate);
    if (!left || !right) {
      this.mismatch ??= `cannot compare ${reference.type} with ${candidate.type}`;
      return;
    }
    for (let index = 0; index < left.length; index++) {
      const a = left[index]!;
      const b = right[index]!;
      const difference = a - b;
      this.signal += a * a;
      this.noise += difference * difference;
      this.dot += a * b;
      this.candidateEnergy += b * b;
      const absolute = Math.abs(difference);
      this.absoluteSum += absolute;
      if (absolute > this.maxAbsolute || Number.isNaN(absolute)) this.maxAbsolute = absolute;
    }
    this.count += left.length;
  }

  result(): ErrorMetrics {
    const norms = Math.sqrt(this.signal) * Math.sqrt(this.candidateEnergy);
    return {
      sqnr: this.noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(this.signal / this.noise),
      cosineSimilarity: norms === 0 ? (this.signal === this.candidateEnergy ? 1 : 0) : this.dot / norms,
      maxAbsoluteError: this.maxAbsolute,
      meanAbsoluteError: this.count === 0 ? 0 : this.absoluteSum / this.count,
      elements: this.count,
    };
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
