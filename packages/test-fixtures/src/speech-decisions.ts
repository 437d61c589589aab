/**
 * How the speech models are fed and what they decide, for task-level checks of quantized models: Silero VAD v5
 * windows and its speech decision, the openWakeWord chain (melspectrogram -> embedding -> wake-word head) cut into
 * the windows each model takes, and the agreement of two sets of thresholded scores. Pure functions: running the
 * models is left to the caller.
 */

/** A tensor as runtimes return it (ORT tensors and Whittle's ExecutorTensor both fit). */
interface FloatTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** Silero VAD v5 at 16 kHz: 512 new samples per window (32 ms)... */
export const VAD_WINDOW = 512;
/** ...after the last 64 samples of the window before (zeros before the first): inputs of 576 samples. */
export const VAD_CONTEXT = 64;
/** Silero's recurrent state: [2, batch, 128]. */
export const VAD_STATE_SHAPE: readonly number[] = [2, 1, 128];

/**
 * The inputs of Silero VAD v5 for a clip, as its Python package streams it: every whole 512-sample window, each
 * preceded by the 64 samples before it (zeros for the first); a partial last window is dropped.
 */
export function vadWindows(samples: Float32Array): Float32Array[] {
  const windows: Float32Array[] = [];
  for (let start = 0; start + VAD_WINDOW <= samples.length; start += VAD_WINDOW) {
    const input = new Float32Array(VAD_CONTEXT + VAD_WINDOW);
    const from = Math.max(0, start - VAD_CONTEXT);
    input.set(samples.subarray(from, start + VAD_WINDOW), VAD_CONTEXT - (start - from));
    windows.push(input);
  }
  return windows;
}

/** openWakeWord's front end takes 16-bit sample values as float32. */
export const WAKE_WORD_SCALE = 32767;
/** Mel bins per frame; one frame per 160 samples (10 ms). */
export const MEL_BINS = 32;
/** The embedding model sees 76 mel frames and moves 8 frames (80 ms, one openWakeWord chunk) at a time. */
export const EMBEDDING_FRAMES = 76;
export const EMBEDDING_STEP = 8;
export const EMBEDDING_SIZE = 96;
/** The wake-word heads see the last 16 embeddings (about 1.3 s of audio beyond the embedding's own 0.76 s). */
export const CLASSIFIER_EMBEDDINGS = 16;

/**
 * A clip as openWakeWord's melspectrogram model takes it: scaled to 16-bit sample values, with `padSeconds` of
 * silence before and after, so that even a one-second clip fills several wake-word windows and a word at the very
 * end is still followed by the audio a streaming detector would see.
 */
export function wakeWordAudio(samples: Float32Array, padSeconds = 1, sampleRate = 16000): Float32Array {
  const pad = Math.round(padSeconds * sampleRate);
  const out = new Float32Array(samples.length + 2 * pad);
  for (let index = 0; index < samples.length; index++) out[pad + index] = samples[index]! * WAKE_WORD_SCALE;
  return out;
}

/**
 * The melspectrogram model's output ([1, 1, frames, 32]) as openWakeWord uses it: `x / 10 + 2`, frames in order.
 */
export function melFeatures(output: FloatTensor): { frames: number; data: Float32Array } {
  const data = output.data as Float32Array;
  const bins = output.dims[output.dims.length - 1];
  if (bins !== MEL_BINS || data.length % MEL_BINS !== 0) {
    throw new Error(`melFeatures: expected [..., frames, ${MEL_BINS}], got [${output.dims.join(', ')}]`);
  }
  return { frames: data.length / MEL_BINS, data: data.map((value) => value / 10 + 2) };
}

/** Windows of 76 mel frames every 8 frames (each [76, 32] flat, for an input of [1, 76, 32, 1]). */
export function embeddingWindows(mel: { frames: number; data: Float32Array }): Float32Array[] {
  const windows: Float32Array[] = [];
  for (let start = 0; start + EMBEDDING_FRAMES <= mel.frames; start += EMBEDDING_STEP) {
    windows.push(mel.data.slice(start * MEL_BINS, (start + EMBEDDING_FRAMES) * MEL_BINS));
  }
  return windows;
}

/** Windows of 16 consecutive embeddings, one per embedding after the 16th (each [16, 96] flat). */
export function classifierWindows(embeddings: readonly Float32Array[]): Float32Array[] {
  const windows: Float32Array[] = [];
  for (let end = CLASSIFIER_EMBEDDINGS; end <= embeddings.length; end++) {
    const window = new Float32Array(CLASSIFIER_EMBEDDINGS * EMBEDDING_SIZE);
    for (let index = 0; index < CLASSIFIER_EMBEDDINGS; index++) {
      const embedding = embeddings[end - CLASSIFIER_EMBEDDINGS + index]!;
      if (embedding.length !== EMBEDDING_SIZE) {
        throw new Error(`classifierWindows: an embedding has ${embedding.length} values, expected ${EMBEDDING_SIZE}`);
      }
      window.set(embedding, index * EMBEDDING_SIZE);
    }
    windows.push(window);
  }
  return windows;
}

/** How far two runs of scores (probabilities) agree once thresholded. */
export interface DecisionAgreement {
  /** Scores compared. */
  compared: number;
  /** Share of scores on the same side of the threshold (1 when nothing was compared). */
  agreement: number;
  /** Scores above the threshold in each run. */
  referencePositives: number;
  candidatePositives: number;
  meanAbsoluteDifference: number;
  maxAbsoluteDifference: number;
}

/** The speech or wake-word decision: score above the threshold (0.5 by default). */
export function decision(score: number, threshold = 0.5): boolean {
  return score > threshold;
}

/** Agreement of the thresholded decisions of two equally long runs of scores, and how far the scores differ. */
export function decisionAgreement(
  reference: ArrayLike<number>,
  candidate: ArrayLike<number>,
  threshold = 0.5,
): DecisionAgreement {
  if (reference.length !== candidate.length) {
    throw new Error(`decisionAgreement: ${reference.length} reference scores, ${candidate.length} candidate scores`);
  }
  let same = 0;
  let referencePositives = 0;
  let candidatePositives = 0;
  let sum = 0;
  let max = 0;
  for (let index = 0; index < reference.length; index++) {
    const expected = decision(reference[index]!, threshold);
    const actual = decision(candidate[index]!, threshold);
    if (expected === actual) same++;
    if (expected) referencePositives++;
    if (actual) candidatePositives++;
    const difference = Math.abs(reference[index]! - candidate[index]!);
    sum += difference;
    max = Math.max(max, difference);
  }
  const compared = reference.length;
  return {
    compared,
    agreement: compared === 0 ? 1 : same / compared,
    referencePositives,
    candidatePositives,
    meanAbsoluteDifference: compared === 0 ? 0 : sum / compared,
    maxAbsoluteDifference: max,
  };
}
