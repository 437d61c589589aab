import { describe, expect, it } from 'vitest';
import { ort, withSession } from './ort.js';
import { missingRealDataPackages, speechClips } from './real-data.js';
import { realModel } from './real-models.js';
import {
  CLASSIFIER_EMBEDDINGS,
  classifierWindows,
  decision,
  decisionAgreement,
  EMBEDDING_FRAMES,
  EMBEDDING_SIZE,
  EMBEDDING_STEP,
  embeddingWindows,
  MEL_BINS,
  melFeatures,
  VAD_CONTEXT,
  VAD_WINDOW,
  vadWindows,
  WAKE_WORD_SCALE,
  wakeWordAudio,
} from './speech-decisions.js';

const ramp = (length: number) => Float32Array.from({ length }, (_, index) => index);

describe('speech decisions: windows', () => {
  it('cuts Silero windows of 512 new samples after 64 of context, zeros before the first', () => {
    const windows = vadWindows(ramp(3 * VAD_WINDOW + 100));
    expect(windows).toHaveLength(3);
    for (const window of windows) expect(window).toHaveLength(VAD_CONTEXT + VAD_WINDOW);
    expect([...windows[0]!.subarray(0, VAD_CONTEXT)].every((value) => value === 0)).toBe(true);
    expect(windows[0]![VAD_CONTEXT]).toBe(0);
    expect(windows[0]![VAD_CONTEXT + VAD_WINDOW - 1]).toBe(VAD_WINDOW - 1);
    // The second window starts with the last 64 samples of the first.
    expect(windows[1]![0]).toBe(VAD_WINDOW - VAD_CONTEXT);
    expect(windows[1]![VAD_CONTEXT]).toBe(VAD_WINDOW);
    expect(windows[2]![VAD_CONTEXT + VAD_WINDOW - 1]).toBe(3 * VAD_WINDOW - 1);
    expect(vadWindows(new Float32Array(VAD_WINDOW - 1))).toEqual([]);
  });

  it('pads wake-word audio with silence and scales it to 16-bit values', () => {
    const audio = wakeWordAudio(Float32Array.from([0.5, -1]), 0.001, 16000);
    expect([...audio]).toEqual([
      ...new Array(16).fill(0),
      0.5 * WAKE_WORD_SCALE,
      -WAKE_WORD_SCALE,
      ...new Array(16).fill(0),
    ]);
  });

  it('turns mel output into openWakeWord features and cuts embedding windows every 8 frames', () => {
    const frames = EMBEDDING_FRAMES + 2 * EMBEDDING_STEP + 3;
    const mel = melFeatures({ dims: [1, 1, frames, MEL_BINS], data: ramp(frames * MEL_BINS) });
    expect(mel.frames).toBe(frames);
    expect(mel.data[MEL_BINS]).toBeCloseTo(MEL_BINS / 10 + 2, 5);
    const windows = embeddingWindows(mel);
    expect(windows).toHaveLength(3);
    for (const window of windows) expect(window).toHaveLength(EMBEDDING_FRAMES * MEL_BINS);
    expect(windows[1]![0]).toBeCloseTo((EMBEDDING_STEP * MEL_BINS) / 10 + 2, 3);
    expect(() => melFeatures({ dims: [1, 1, 4, 40], data: new Float32Array(160) })).toThrow(/expected/);
  });

  it('cuts head windows of 16 embeddings, one per embedding from the 16th on', () => {
    const embeddings = Array.from({ length: CLASSIFIER_EMBEDDINGS + 2 }, (_, index) =>
      new Float32Array(EMBEDDING_SIZE).fill(index),
    );
    const windows = classifierWindows(embeddings);
    expect(windows).toHaveLength(3);
    expect(windows[0]).toHaveLength(CLASSIFIER_EMBEDDINGS * EMBEDDING_SIZE);
    expect(windows[2]![0]).toBe(2);
    expect(windows[2]![CLASSIFIER_EMBEDDINGS * EMBEDDING_SIZE - 1]).toBe(CLASSIFIER_EMBEDDINGS + 1);
    expect(classifierWindows(embeddings.slice(0, CLASSIFIER_EMBEDDINGS - 1))).toEqual([]);
    expect(() => classifierWindows(new Array(CLASSIFIER_EMBEDDINGS).fill(new Float32Array(3)))).toThrow(/96/);
  });
});

describe('speech decisions: agreement', () => {
  it('compares thresholded decisions and score differences', () => {
    expect(decision(0.5)).toBe(false);
    expect(decision(0.51)).toBe(true);
    expect(decision(0.2, 0.1)).toBe(true);
    const result = decisionAgreement([0.1, 0.9, 0.6, 0.2], [0.2, 0.8, 0.4, 0.2]);
    expect(result.compared).toBe(4);
    expect(result.agreement).toBe(0.75);
    expect(result.referencePositives).toBe(2);
    expect(result.candidatePositives).toBe(1);
    expect(result.meanAbsoluteDifference).toBeCloseTo(0.1, 6);
    expect(result.maxAbsoluteDifference).toBeCloseTo(0.2, 6);
    expect(decisionAgreement([], []).agreement).toBe(1);
    expect(() => decisionAgreement([1], [])).toThrow(/1 reference scores, 0 candidate/);
  });
});

// CI installs the tools: there a missing one fails the tests; elsewhere the test skips.
const skip = missingRealDataPackages('speech').length > 0 && !process.env.CI;

describe.skipIf(skip)('speech decisions: the openWakeWord chain on real speech', () => {
  it('fires "hey jarvis" on the spoken wake word only', async () => {
    const clips = speechClips('evaluation');
    const tensor = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
    const best: Record<string, number> = {};
    await withSession(realModel('oww-melspectrogram').path, (mel) =>
      withSession(realModel('oww-embedding').path, (embedding) =>
        withSession(realModel('oww-hey-jarvis').path, async (head) => {
          for (const clip of clips) {
            const audio = wakeWordAudio(clip.samples);
            const features = melFeatures(Object.values(await mel.run({ input: tensor(audio, [1, audio.length]) }))[0]!);
            const embeddings: Float32Array[] = [];
            for (const window of embeddingWindows(features)) {
              const output = await embedding.run({ input_1: tensor(window, [1, EMBEDDING_FRAMES, MEL_BINS, 1]) });
              embeddings.push(Object.values(output)[0]!.data as Float32Array);
            }
            let score = 0;
            for (const window of classifierWindows(embeddings)) {
              const output = await head.run({ 'x.1': tensor(window, [1, CLASSIFIER_EMBEDDINGS, EMBEDDING_SIZE]) });
              score = Math.max(score, (Object.values(output)[0]!.data as Float32Array)[0]!);
            }
            best[clip.text || clip.voice] = score;
          }
        }),
      ),
    );
    for (const [clip, score] of Object.entries(best)) {
      expect(decision(score), `${clip}: ${score}`).toBe(clip.toLowerCase().startsWith('hey jarvis'));
    }
  });
});
