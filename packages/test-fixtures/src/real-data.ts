/**
 * Real data for tests, made on this machine from Debian tools: text images rendered by ImageMagick (for the PP-OCR
 * detector, recognizer and direction classifier) and speech spoken by espeak-ng, resampled by sox (for the voice
 * detector and the wake-word front end), plus silence and noise clips as the voice detector's negative class.
 *
 * Everything is generated once into `packages/test-fixtures/.cache/` (or `$WHITTLE_REAL_DATA_CACHE`), in a folder
 * keyed by REAL_DATA_VERSION and a hash of the lists below, so editing a list regenerates. Generation writes to a
 * temporary folder and renames it into place, so test processes running side by side do not see half a cache.
 * Two splits, 'calibration' and 'evaluation', never share a text.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Random, seedOf } from './random.js';

/** Bump to regenerate every cache (the lists are hashed into the key as well). */
export const REAL_DATA_VERSION = '1';

export type DataSplit = 'calibration' | 'evaluation';
export const DATA_SPLITS: readonly DataSplit[] = ['calibration', 'evaluation'];

export type TextImageKind = 'recognizer' | 'classifier' | 'detector';

/** A line of text on a detector page: its text and box [x, y, width, height] in pixels (from the font metrics). */
export interface TextLine {
  text: string;
  box: [x: number, y: number, width: number, height: number];
}

export interface TextImage {
  /** Absolute path of the PNG (8-bit gray). */
  path: string;
  kind: TextImageKind;
  split: DataSplit;
  /** Ground truth: the text (detector pages: the lines joined with '\n'). */
  text: string;
  width: number;
  height: number;
  /** 'cjk' when the text is Chinese. */
  script: 'latin' | 'cjk';
  font: string;
  /** Classifier images: 0 upright, 180 upside down. Others: 0. */
  orientation: 0 | 180;
  /** Detector pages: every line with its box. */
  lines?: TextLine[];
}

export interface SpeechClip {
  id: string;
  /** Absolute path of the WAV (16 kHz, mono, 16-bit PCM). */
  path: string;
  split: DataSplit;
  /** Samples in [-1, 1] as read back from the WAV. */
  samples: Float32Array;
  sampleRate: number;
  /** true for spoken sentences, false for silence and noise. */
  speech: boolean;
  /** What is said ('' for silence and noise). */
  text: string;
  /** espeak-ng voice, or the kind of noise. */
  voice: string;
}

// ---- the texts ------------------------------------------------------------------------------------------------

/** Short words and phrases for the recognizer and the classifier (fit 320 px at height 48). */
const WORDS: Readonly<Record<DataSplit, readonly string[]>> = {
  calibration: [
    'Hello world',
    'Invoice 2024-118',
    'Total: 42.50',
    'OPEN 24 HOURS',
    'Main Street',
    'Quantization',
    'Exit',
    'Platform 9',
    'Coffee & Tea',
    'Page 17 of 240',
    'Model accuracy',
    'batch size 32',
    'Welcome home',
    'North Station',
    'Fresh bread',
    'Tel 555-0199',
    'Lot 7B',
    'Parking',
    'Room 204',
    'Keep left',
    'Order #83121',
    'Due 2025-03-14',
    'Return policy',
    'Sale 30% off',
    'Kitchen',
    'Monday to Friday',
    'Speed limit 50',
    'Library',
    'Ticket A12',
    'No smoking',
    'Receipt',
    'Gate B22',
    'Apples 1.99',
    'Emergency',
    'Chapter One',
    'version 1.30',
    'Ground floor',
    'Thank you',
    'Bus stop',
    'Delivery',
  ],
  evaluation: [
    'Good morning',
    'Account 55-0917',
    'Subtotal 18.75',
    'CLOSED SUNDAY',
    'River Road',
    'Calibration',
    'Entrance',
    'Track 4',
    'Juice Bar',
    'Section 3.2',
    'Test results',
    'learning rate',
    'See you soon',
    'Central Park',
    'Hot soup',
    'Fax 555-0143',
    'Unit 12C',
    'Loading zone',
    'Suite 310',
    'Stay right',
    'Invoice #40027',
    'Paid 2024-11-02',
    'Privacy notice',
    'Buy 2 get 1',
    'Bathroom',
    'Weekends only',
    'Slow down',
    'Museum',
    'Seat F08',
    'Quiet please',
    'Summary',
    'Terminal 2',
    'Pears 2.49',
    'First aid',
    'Part Two',
    'build 0.8.3',
    'Top floor',
    'Well done',
    'Taxi rank',
    'Pickup',
  ],
};

/** Chinese words (every character is in PP-OCR's dictionary), used when a CJK font is installed. */
const CJK_WORDS: Readonly<Record<DataSplit, readonly string[]>> = {
  calibration: ['中文识别', '今天天气很好', '欢迎光临', '北京', '人工智能', '读书', '开门', '春夏秋冬', '电脑', '谢谢'],
  evaluation: ['上海', '我们学习', '机器人', '山水', '测试文字', '光明', '大学', '东西', '中国', '早上好'],
};

/** Lines for detector pages. */
const PAGE_LINES: Readonly<Record<DataSplit, readonly string[]>> = {
  calibration: [
    'The meeting starts at 10',
    'Please keep this door closed',
    'Fresh fruit and vegetables',
    'All trains stop here',
    'Batteries not included',
    'Store in a cool dry place',
    'Made with recycled paper',
    'Open Monday to Saturday',
    'Visitors must sign in',
    'Best before 12/2025',
    'Handle with care',
    'Turn off the lights',
    'Call 555-0100 for help',
    'Room 12 is on the left',
    'Price includes tax',
    'Wash hands before eating',
  ],
  evaluation: [
    'The office opens at 9',
    'Mind the gap please',
    'Local honey for sale',
    'Next bus in 5 minutes',
    'Recycle your bottles',
    'Keep out of reach',
    'Printed on 2024-06-30',
    'Closed for lunch',
    'Staff only beyond here',
    'Use by 03/2026',
    'Fragile glass inside',
    'Lift out of order',
    'Ask at the front desk',
    'Seats 1 to 40 upstairs',
    'Free entry on Sundays',
    'Shoes off at the door',
  ],
};

/** Sentences for speech clips. */
const SENTENCES: Readonly<Record<DataSplit, readonly string[]>> = {
  calibration: [
    'The quick brown fox jumps over the lazy dog.',
    'Please turn on the kitchen lights.',
    'What time does the next train leave?',
    'I would like a cup of coffee with milk.',
    'The weather will be sunny tomorrow afternoon.',
    'Remind me to call my sister at six.',
    'Hey Jarvis, play some quiet music.',
    'Alexa, what is on my calendar today?',
    'Seven hundred and twenty five apples.',
    'She sells sea shells by the sea shore.',
    'Open the window, it is getting warm in here.',
    'How far is it to the nearest station?',
    'Set a timer for fifteen minutes.',
    'The library closes at eight in the evening.',
    'Thank you very much for your help.',
    'Can you spell the word necessary?',
  ],
  evaluation: [
    'A journey of a thousand miles begins with a single step.',
    'Close the garage door, please.',
    'Where did I leave my keys this morning?',
    'Two tickets for the evening show, please.',
    'It might rain later, so take an umbrella.',
    'Send a message to the team about the meeting.',
    'Hey Jarvis, turn the volume down.',
    'Alexa, add bread to the shopping list.',
    'Three thousand four hundred and nine.',
    'Peter Piper picked a peck of pickled peppers.',
    'The museum is free on the first Sunday.',
    'Is there a pharmacy open near here?',
    'Wake me up at half past six.',
    'Our flight was delayed by two hours.',
    'Good night, and sleep well.',
    'Please repeat the last sentence slowly.',
  ],
};

const LATIN_FONTS = ['DejaVu-Sans', 'DejaVu-Serif', 'DejaVu-Sans-Mono', 'DejaVu-Sans-Bold', 'DejaVu-Serif-Bold'];
/** ImageMagick names of CJK fonts, in order of preference. */
const CJK_FONTS = ['Noto-Sans-CJK-SC', 'Noto-Sans-CJK-SC-Regular', 'Droid-Sans-Fallback', 'WenQuanYi-Zen-Hei'];
const INKS = ['#000000', '#1a1a1a', '#202040', '#303030'];
const PAPERS = ['#ffffff', '#f6f6f0', '#eeeeee', '#fafaff'];
const VOICES = ['en-us', 'en-gb', 'en-us+f2', 'en-gb-scotland', 'en-us+m3', 'en-029', 'en-gb+f4', 'en-us+klatt'];
const SPEEDS = [150, 165, 140, 175];

const SIZES: Readonly<Record<TextImageKind, [width: number, height: number]>> = {
  recognizer: [320, 48],
  classifier: [192, 48],
  detector: [320, 320],
};

const PAGES_PER_SPLIT = 12;
export const SAMPLE_RATE = 16000;

// ---- tools ----------------------------------------------------------------------------------------------------

const TOOLS = {
  convert: { debian: 'imagemagick', probe: ['-version'] },
  'espeak-ng': { debian: 'espeak-ng', probe: ['--version'] },
  sox: { debian: 'sox', probe: ['--version'] },
} as const;
type Tool = keyof typeof TOOLS;

const availability = new Map<Tool, boolean>();
function toolAvailable(tool: Tool, env?: NodeJS.ProcessEnv): boolean {
  const probe = () => {
    const result = spawnSync(tool, TOOLS[tool].probe, { encoding: 'utf8', ...(env ? { env } : {}) });
    return !result.error && result.status === 0;
  };
  if (env) return probe();
  let known = availability.get(tool);
  if (known === undefined) {
    known = probe();
    availability.set(tool, known);
  }
  return known;
}

let fontList: string | undefined;
function imageMagickFonts(): string {
  fontList ??= run('convert', ['-list', 'font']).stdout;
  return fontList;
}

const hasFont = (name: string) =>
  new RegExp(`^\\s*Font: ${name.replace(/[-]/g, '\\-')}$`, 'm').test(imageMagickFonts());

/**
 * The Debian packages missing for generating text images ('images'), speech ('speech') or both: empty when all
 * is there. Tests can skip on a non-empty answer; the generators throw naming them.
 */
export function missingRealDataPackages(
  what: 'images' | 'speech' | 'all' = 'all',
  /** Probe with this environment (its PATH) instead of the process's; for tests. */
  env?: NodeJS.ProcessEnv,
): string[] {
  const missing: string[] = [];
  if (what !== 'speech') {
    if (!toolAvailable('convert', env)) missing.push(TOOLS.convert.debian);
    else if (!hasFont('DejaVu-Sans')) missing.push('fonts-dejavu-core');
  }
  if (what !== 'images') {
    for (const tool of ['espeak-ng', 'sox'] as const) if (!toolAvailable(tool, env)) missing.push(TOOLS[tool].debian);
  }
  return missing;
}

/** Throw an error naming the missing Debian packages for generating images or speech, if any. */
export function requireRealDataPackages(what: 'images' | 'speech', env?: NodeJS.ProcessEnv): void {
  const missing = missingRealDataPackages(what, env);
  if (missing.length > 0) {
    const purpose = what === 'images' ? 'render the text images' : 'speak the speech clips';
    throw new Error(
      `real test data: cannot ${purpose}: the Debian package${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed (apt-get install -y ${missing.join(' ')})`,
    );
  }
}

function run(tool: Tool, args: readonly string[]): { stdout: string; stderr: string } {
  const result = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new Error(`real test data: '${tool}' is not installed (Debian package ${TOOLS[tool].debian})`);
    }
    throw result.error;
  }
  if (result.status !== 0) {
    throw new Error(`real test data: ${tool} ${args.join(' ')} failed (exit ${result.status}): ${result.stderr}`);
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

// ---- cache ----------------------------------------------------------------------------------------------------

/** Where generated data lives: `$WHITTLE_REAL_DATA_CACHE`, else `packages/test-fixtures/.cache/`. */
export function realDataCacheDir(): string {
  return process.env.WHITTLE_REAL_DATA_CACHE ?? fileURLToPath(new URL('../.cache/', import.meta.url));
}

function specHash(spec: unknown): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 10);
}

interface Manifest<T> {
  version: string;
  key: string;
  /** Seconds the generation took. */
  seconds: number;
  entries: T[];
}

/**
 * The manifest of a generated folder: read from the cache, or generated into a temporary folder that is then
 * renamed into place (if another process got there first, its folder is used).
 */
function cached<T>(name: string, key: string, generate: (dir: string) => T[]): { dir: string; manifest: Manifest<T> } {
  const root = realDataCacheDir();
  const dir = join(root, `${name}-v${REAL_DATA_VERSION}-${key}`);
  const manifestPath = join(dir, 'manifest.json');
  const read = () => JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest<T>;
  if (existsSync(manifestPath)) return { dir, manifest: read() };
  mkdirSync(root, { recursive: true });
  const temporary = `${dir}.tmp-${process.pid}-${Date.now()}`;
  rmSync(temporary, { recursive: true, force: true });
  mkdirSync(temporary);
  try {
    const started = performance.now();
    const entries = generate(temporary);
    const manifest: Manifest<T> = {
      version: REAL_DATA_VERSION,
      key,
      seconds: Math.round((performance.now() - started) / 10) / 100,
      entries,
    };
    writeFileSync(join(temporary, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    try {
      renameSync(temporary, dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(manifestPath)) throw error;
    }
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
  return { dir, manifest: read() };
}

// ---- text images ----------------------------------------------------------------------------------------------

interface Metrics {
  text: string;
  width: number;
  ascent: number;
  descent: number;
}

const METRICS = /Metrics: text: (.*?); width: ([\d.]+); height: [\d.]+; ascent: ([-\d.]+); descent: ([-\d.]+);/g;

/** ImageMagick's font metrics for each annotate of a run with `-debug annotate`, in order. */
function parseMetrics(stderr: string): Metrics[] {
  return [...stderr.matchAll(METRICS)].map((match) => ({
    text: match[1]!,
    width: Number(match[2]),
    ascent: Number(match[3]),
    descent: Number(match[4]),
  }));
}

/** Widths of texts at pointsize 100 in a font, measured in one ImageMagick run. */
function measure(font: string, texts: readonly string[]): Map<string, number> {
  const args = ['-debug', 'annotate', '-size', '1x1', 'xc:white', '-font', font, '-pointsize', '100'];
  for (const text of texts) args.push('-annotate', '+0+0', text);
  args.push('null:');
  const metrics = parseMetrics(run('convert', args).stderr);
  const widths = new Map<string, number>();
  for (const entry of metrics) if (!widths.has(entry.text)) widths.set(entry.text, entry.width);
  for (const text of texts) {
    if (!widths.has(text)) throw new Error(`real test data: ImageMagick reported no metrics for '${text}' in ${font}`);
  }
  return widths;
}

/** The largest pointsize up to `preferred` at which the text fits `room` pixels. */
function fitting(widthAt100: number, preferred: number, room: number): number {
  return Math.max(10, Math.min(preferred, Math.floor((100 * room) / Math.max(widthAt100, 1))));
}

/** The ImageMagick name of an installed CJK font, if any. */
function cjkFont(): string | undefined {
  return CJK_FONTS.find(hasFont);
}

/** A text image as the manifest stores it (path relative to the cache folder). */
export type StoredTextImage = Omit<TextImage, 'path' | 'split' | 'kind'> & {
  file: string;
  split: DataSplit;
  kind: TextImageKind;
};

/** @internal Render every text image into `dir` (exported for the determinism test). */
export function generateTextImages(dir: string, cjk: string | undefined): StoredTextImage[] {
  const out: StoredTextImage[] = [];
  const widths = new Map<string, Map<string, number>>();
  const allWords = DATA_SPLITS.flatMap((split) => WORDS[split]);
  const allLines = DATA_SPLITS.flatMap((split) => PAGE_LINES[split]);
  for (const font of LATIN_FONTS) widths.set(font, measure(font, [...allWords, ...allLines]));
  if (cjk)
    widths.set(
      cjk,
      measure(
        cjk,
        DATA_SPLITS.flatMap((split) => CJK_WORDS[split]),
      ),
    );
  const widthOf = (font: string, text: string) => widths.get(font)!.get(text)!;

  for (const split of DATA_SPLITS) {
    const words = [
      ...WORDS[split].map((text, index) => ({
        text,
        font: LATIN_FONTS[index % LATIN_FONTS.length]!,
        script: 'latin' as const,
      })),
      ...(cjk ? CJK_WORDS[split].map((text) => ({ text, font: cjk, script: 'cjk' as const })) : []),
    ];
    // Recognizer crops (320x48) and classifier crops (192x48, every other one upside down).
    for (const kind of ['recognizer', 'classifier'] as const) {
      const [width, height] = SIZES[kind];
      words.forEach((word, index) => {
        const orientation: 0 | 180 = kind === 'classifier' && index % 2 === 1 ? 180 : 0;
        const left = 4 + (index % 3) * 2;
        const pointsize = fitting(widthOf(word.font, word.text), 30 - (index % 4), width - left - 4);
        const file = `${kind}-${split}-${String(index).padStart(3, '0')}.png`;
        const args = [
          '-size',
          `${width}x${height}`,
          `xc:${PAPERS[index % PAPERS.length]}`,
          '-font',
          word.font,
          '-pointsize',
          String(pointsize),
          '-fill',
          INKS[index % INKS.length]!,
          '-gravity',
          'west',
          '-annotate',
          `+${left}+0`,
          word.text,
          ...(orientation === 180 ? ['-rotate', '180'] : []),
          '-colorspace',
          'Gray',
          '-depth',
          '8',
          join(dir, file),
        ];
        run('convert', args);
        out.push({
          file,
          kind,
          split,
          text: word.text,
          width,
          height,
          script: word.script,
          font: word.font,
          orientation,
        });
      });
    }
    // Detector pages (320x320): 3 to 5 lines at different sizes and offsets.
    const random = new Random(seedOf(`detector-${split}`, 1));
    const [width, height] = SIZES.detector;
    for (let page = 0; page < PAGES_PER_SPLIT; page++) {
      const font = LATIN_FONTS[page % LATIN_FONTS.length]!;
      const count = random.integer(3, 6);
      const args = ['-debug', 'annotate', '-size', `${width}x${height}`, `xc:${PAPERS[page % PAPERS.length]}`];
      args.push('-font', font, '-fill', INKS[page % INKS.length]!);
      const placed: { text: string; x: number; baseline: number }[] = [];
      let top = random.integer(10, 40);
      for (let line = 0; line < count; line++) {
        const text = PAGE_LINES[split][(page * 5 + line * 3) % PAGE_LINES[split].length]!;
        const x = random.integer(8, 40);
        const pointsize = fitting(widthOf(font, text), random.integer(16, 27), width - x - 8);
        const baseline = top + Math.round(pointsize * 0.95);
        if (baseline + pointsize * 0.3 > height - 8) break;
        args.push('-pointsize', String(pointsize), '-annotate', `+${x}+${baseline}`, text);
        placed.push({ text, x, baseline });
        top = baseline + Math.round(pointsize * 0.3) + random.integer(16, 72);
      }
      const file = `detector-${split}-${String(page).padStart(3, '0')}.png`;
      args.push('-colorspace', 'Gray', '-depth', '8', join(dir, file));
      const metrics = parseMetrics(run('convert', args).stderr);
      if (metrics.length < placed.length) throw new Error('real test data: ImageMagick reported too few metrics');
      const lines: TextLine[] = placed.map((line, index) => {
        const size = metrics[index]!;
        return {
          text: line.text,
          box: [line.x, line.baseline - size.ascent, size.width, size.ascent - size.descent],
        };
      });
      out.push({
        file,
        kind: 'detector',
        split,
        text: lines.map((line) => line.text).join('\n'),
        width,
        height,
        script: 'latin',
        font,
        orientation: 0,
        lines,
      });
    }
  }
  return out;
}

let textImageCache: { dir: string; entries: StoredTextImage[]; seconds: number } | undefined;

function textImageSet(): { dir: string; entries: StoredTextImage[]; seconds: number } {
  if (textImageCache) return textImageCache;
  requireRealDataPackages('images');
  const cjk = cjkFont();
  const key = specHash({
    WORDS,
    CJK_WORDS: cjk ? CJK_WORDS : null,
    PAGE_LINES,
    LATIN_FONTS,
    cjk,
    INKS,
    PAPERS,
    SIZES,
    layout: 2,
  });
  const { dir, manifest } = cached(`text-images-${cjk ? 'cjk' : 'latin'}`, key, (target) =>
    generateTextImages(target, cjk),
  );
  textImageCache = { dir, entries: manifest.entries, seconds: manifest.seconds };
  return textImageCache;
}

/**
 * Text images of one kind and split, generated on first use: 'recognizer' crops 320x48 and 'classifier' crops
 * 192x48 (every other one rotated 180°) of 40 English words and phrases per split, plus 10 Chinese words when a
 * CJK font is installed; 'detector' pages 320x320 with 3-5 lines each (12 per split). Gray PNGs, dark on light.
 * Throws naming the Debian package when ImageMagick or the DejaVu fonts are missing.
 */
export function textImages(kind: TextImageKind, split: DataSplit): TextImage[] {
  const { dir, entries } = textImageSet();
  return entries
    .filter((entry) => entry.kind === kind && entry.split === split)
    .map(({ file, ...entry }) => ({ ...entry, path: join(dir, file) }));
}

/**
 * A new temporary folder holding the first `count` text images of a kind and split: what dataset readers and the CLI
 * take (a folder of images).
 */
export function textImageFolder(kind: TextImageKind, split: DataSplit, count: number): string {
  const folder = mkdtempSync(join(tmpdir(), `whittle-${kind}-${split}-`));
  for (const image of textImages(kind, split).slice(0, count))
    copyFileSync(image.path, join(folder, basename(image.path)));
  return folder;
}

// ---- speech ---------------------------------------------------------------------------------------------------

/** A decoded WAV file. */
export interface Wav {
  sampleRate: number;
  channels: number;
  /** Samples in [-1, 1], channels interleaved. */
  samples: Float32Array;
}

/** Read a RIFF/WAVE file with 8/16/24/32-bit integer or 32-bit float PCM. */
export function decodeWav(bytes: Uint8Array, name = 'WAV'): Wav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error(`${name}: not a RIFF/WAVE file`);
  let format: { code: number; channels: number; sampleRate: number; bits: number } | undefined;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      let code = view.getUint16(body, true);
      if (code === 0xfffe && size >= 26) code = view.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw new Error(`${name}: data chunk before the fmt chunk`);
      const length = Math.min(size, bytes.length - body); // streaming writers leave the size at 0xffffffff
      const width = format.bits / 8;
      const count = Math.floor(length / width);
      const samples = new Float32Array(count);
      for (let index = 0; index < count; index++) {
        const offset = body + index * width;
        if (format.code === 3 && format.bits === 32) samples[index] = view.getFloat32(offset, true);
        else if (format.code !== 1) throw new Error(`${name}: unsupported WAV encoding ${format.code}`);
        else if (format.bits === 16) samples[index] = view.getInt16(offset, true) / 32768;
        else if (format.bits === 8) samples[index] = (view.getUint8(offset) - 128) / 128;
        else if (format.bits === 24) {
          const value = view.getUint8(offset) | (view.getUint8(offset + 1) << 8) | (view.getInt8(offset + 2) << 16);
          samples[index] = value / 8388608;
        } else if (format.bits === 32) samples[index] = view.getInt32(offset, true) / 2147483648;
        else throw new Error(`${name}: unsupported sample size ${format.bits} bits`);
      }
      return { sampleRate: format.sampleRate, channels: format.channels, samples };
    }
    at = body + size + (size % 2);
  }
  throw new Error(`${name}: no data chunk`);
}

/** Read a WAV file (see decodeWav). */
export function readWav(path: string): Wav {
  return decodeWav(readFileSync(path), path);
}

/** 16-bit PCM mono WAV bytes for samples in [-1, 1] (clipped). */
export function encodeWav(samples: Float32Array, sampleRate = SAMPLE_RATE): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(out.buffer);
  const text = (at: number, value: string) => {
    for (let index = 0; index < value.length; index++) out[at + index] = value.charCodeAt(index);
  };
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  for (let index = 0; index < samples.length; index++) {
    const value = Math.max(-1, Math.min(1, samples[index]!));
    view.setInt16(44 + index * 2, Math.round(value * 32767), true);
  }
  return out;
}

type NoiseKind = 'silence' | 'quiet-noise' | 'white-noise' | 'brown-noise' | 'hum' | 'fan';
const NOISES: readonly NoiseKind[] = ['silence', 'quiet-noise', 'white-noise', 'brown-noise', 'hum', 'fan'];

/** A deterministic non-speech clip. */
function noiseClip(kind: NoiseKind, seconds: number, random: Random): Float32Array {
  const count = Math.round(seconds * SAMPLE_RATE);
  const out = new Float32Array(count);
  let brown = 0;
  let low = 0;
  const mains = random.next() < 0.5 ? 50 : 60;
  for (let index = 0; index < count; index++) {
    const white = random.normal();
    switch (kind) {
      case 'silence':
        break;
      case 'quiet-noise':
        out[index] = 0.003 * white;
        break;
      case 'white-noise':
        out[index] = 0.05 * white;
        break;
      case 'brown-noise':
        brown = 0.995 * brown + 0.02 * white;
        out[index] = 0.3 * brown;
        break;
      case 'hum': {
        const t = index / SAMPLE_RATE;
        out[index] =
          0.05 * Math.sin(2 * Math.PI * mains * t) + 0.02 * Math.sin(2 * Math.PI * 3 * mains * t) + 0.002 * white;
        break;
      }
      case 'fan':
        low = 0.9 * low + 0.1 * white;
        out[index] = 0.15 * low;
        break;
    }
  }
  return out;
}

/** A speech clip as the manifest stores it. */
export type StoredSpeechClip = Omit<SpeechClip, 'path' | 'samples'> & { file: string };

/** @internal Speak every clip into `dir` (exported for the determinism test). */
export function generateSpeech(dir: string): StoredSpeechClip[] {
  const out: StoredSpeechClip[] = [];
  for (const split of DATA_SPLITS) {
    SENTENCES[split].forEach((text, index) => {
      const voice = VOICES[(index + (split === 'evaluation' ? 3 : 0)) % VOICES.length]!;
      const speed = SPEEDS[index % SPEEDS.length]!;
      const id = `speech-${split}-${String(index).padStart(3, '0')}`;
      const raw = join(dir, `${id}.raw.wav`);
      const file = `${id}.wav`;
      run('espeak-ng', ['-v', voice, '-s', String(speed), '-w', raw, text]);
      // -D: no dither, so the output is the same on every run.
      run('sox', ['-D', raw, '-r', String(SAMPLE_RATE), '-c', '1', '-b', '16', join(dir, file)]);
      rmSync(raw);
      out.push({ id, file, split, sampleRate: SAMPLE_RATE, speech: true, text, voice });
    });
    NOISES.forEach((kind, index) => {
      const id = `noise-${split}-${String(index).padStart(3, '0')}`;
      const random = new Random(seedOf(id, 1));
      const seconds = 1 + 0.25 * ((index + (split === 'evaluation' ? 2 : 0)) % 4);
      const file = `${id}.wav`;
      writeFileSync(join(dir, file), encodeWav(noiseClip(kind, seconds, random)));
      out.push({ id, file, split, sampleRate: SAMPLE_RATE, speech: false, text: '', voice: kind });
    });
  }
  return out;
}

let speechCache: { dir: string; entries: StoredSpeechClip[]; seconds: number } | undefined;

function speechSet(): { dir: string; entries: StoredSpeechClip[]; seconds: number } {
  if (speechCache) return speechCache;
  requireRealDataPackages('speech');
  const key = specHash({ SENTENCES, VOICES, SPEEDS, NOISES, SAMPLE_RATE });
  const { dir, manifest } = cached('speech', key, generateSpeech);
  speechCache = { dir, entries: manifest.entries, seconds: manifest.seconds };
  return speechCache;
}

/**
 * Speech clips of a split, generated on first use: 16 English sentences spoken by espeak-ng in several voices
 * (resampled by sox to 16 kHz mono 16-bit), then 6 non-speech clips (silence, quiet and white noise, brown noise,
 * mains hum, fan-like noise) of 1-1.75 s. Samples are read from the WAV files. Throws naming the Debian package
 * when espeak-ng or sox is missing.
 */
export function speechClips(split: DataSplit): SpeechClip[] {
  const { dir, entries } = speechSet();
  return entries
    .filter((entry) => entry.split === split)
    .map(({ file, ...entry }) => {
      const path = join(dir, file);
      const wav = readWav(path);
      if (wav.channels !== 1 || wav.sampleRate !== SAMPLE_RATE) {
        throw new Error(`${path}: expected 16 kHz mono, found ${wav.sampleRate} Hz with ${wav.channels} channels`);
      }
      return { ...entry, path, samples: wav.samples, sampleRate: wav.sampleRate };
    });
}

/** Where the generated data is, and how long generating it took (recorded when it ran, perhaps in an earlier process). */
export function realDataInfo(): {
  textImages: { dir: string; seconds: number };
  speech: { dir: string; seconds: number };
} {
  const images = textImageSet();
  const speech = speechSet();
  return {
    textImages: { dir: images.dir, seconds: images.seconds },
    speech: { dir: speech.dir, seconds: speech.seconds },
  };
}
