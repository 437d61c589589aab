/**
 * The WebAssembly kernels of weight quantization (weight-kernels.wat) and the memory they work in. Weights are
 * copied in a block at a time (about 256 KB: the block stays in cache between the copy and the kernel), so the
 * kernels never need a tensor copied whole, whatever the alignment of its bytes in the file. quantizeChannels here
 * serves static weights; the MatMulNBits loops in weight-only-blockwise.ts use the workspace and kernels directly.
 */
import { WEIGHT_KERNELS_BASE64 } from './weight-kernels-binary.js';

/** The WebAssembly API used here (neither the ES2022 library nor @types/node 20 declares it). */
interface WebAssemblyApi {
  Module: new (binary: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

interface KernelExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  magnitudeColumns(input: number, rows: number, columns: number, maxima: number): void;
  magnitudeRuns(input: number, runs: number, inner: number, channels: number, channel: number, maxima: number): void;
  quantizeColumns(...args: number[]): void;
  quantizeRuns(...args: number[]): void;
  codeColumns(...args: number[]): void;
  codeRuns(...args: number[]): void;
  symmetricScales(...args: number[]): void;
  scatterBlobs(blobs: number, columns: number, blobSize: number, target: number, stride: number): void;
}

let compiled: object | undefined;
let shared: KernelExports | undefined;

/** An instance of the kernels, with its own memory (a 2 KB module: synchronous compilation is allowed and quick). */
function instantiate(): KernelExports {
  const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  compiled ??= new Module(Uint8Array.from(atob(WEIGHT_KERNELS_BASE64), (character) => character.charCodeAt(0)));
  return new Instance(compiled).exports as KernelExports;
}

/**
 * The kernels for a workspace of `size` bytes. Workspaces up to SHARED_BYTES share one instance, whose memory lives
 * as long as the process; a larger one (MatMulNBits' B of a big weight) gets its own, freed with the workspace.
 */
function kernelsFor(size: number): KernelExports {
  if (size > SHARED_BYTES) return instantiate();
  shared ??= instantiate();
  return shared;
}

const PAGE_SIZE = 65536;
/** The most memory the shared instance keeps for the life of the process: 16 MB. */
const SHARED_BYTES = 16 * 1024 * 1024;
/** Float32 values per block copied in: 256 KB, well inside a core's L2 cache. */
export const BLOCK_VALUES = 65536;

/**
 * Named regions of the kernels' memory, laid out once (growing the memory as needed) for one quantization. Views
 * of a region stay valid until the next workspace is made: growing the memory detaches its old buffer, and every
 * caller is synchronous.
 */
export class KernelWorkspace {
  readonly kernels: KernelExports;
  private readonly offsets = new Map<string, number>();

  constructor(regions: Record<string, number>) {
    let end = 0;
    for (const [name, size] of Object.entries(regions)) {
      this.offsets.set(name, end);
      // 16-byte aligned: the kernels load and store whole vectors.
      end += Math.ceil(size / 16) * 16;
    }
    this.kernels = kernelsFor(end);
    const { memory } = this.kernels;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE_SIZE));
  }

  offset(name: string): number {
    const offset = this.offsets.get(name);
    if (offset === undefined) throw new Error(`no kernel region '${name}'`);
    return offset;
  }

  bytes(name: string, length: number): Uint8Array {
    return new Uint8Array(this.kernels.memory.buffer, this.offset(name), length);
  }

  floats(name: string, length: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, this.offset(name), length);
  }

  integers(name: string, length: number): Int32Array {
    return new Int32Array(this.kernels.memory.buffer, this.offset(name), length);
  }

  /** Copies float32 elements [start, start + length) of little-endian `source` bytes into region `name`. */
  load(name: string, source: Uint8Array, start: number, length: number): void {
    this.bytes(name, length * 4).set(source.subarray(start * 4, (start + length) * 4));
  }
}

/** Per-channel parameters as the kernels read them: the clamp bounds already have the zero points taken off. */
export interface ChannelParameters {
  scales: ArrayLike<number>;
  zeroPoints: ArrayLike<number>;
  lowest: number;
  highest: number;
}

/** The regions that hold a set of channel parameters, for KernelWorkspace. */
export function parameterRegions(channels: number): Record<string, number> {
  return { scales: channels * 4, zeroPoints: channels * 4, lows: channels * 4, highs: channels * 4 };
}

/** Writes channel parameters into the workspace's parameter regions. */
export function storeParameters(workspace: KernelWorkspace, parameters: ChannelParameters, channels: number): void {
  const scales = workspace.floats('scales', channels);
  const zeroPoints = workspace.integers('zeroPoints', channels);
  const lows = workspace.floats('lows', channels);
  const highs = workspace.floats('highs', channels);
  for (let channel = 0; channel < channels; channel++) {
    const zeroPoint = parameters.zeroPoints[channel]!;
    scales[channel] = parameters.scales[channel]!;
    zeroPoints[channel] = zeroPoint;
    lows[channel] = parameters.lowest - zeroPoint;
    highs[channel] = parameters.highest - zeroPoint;
  }
}

/** A part of a [outer, channels, inner] tensor copied in at once: elements [start, start + count). */
interface Chunk {
  start: number;
  count: number;
  /** Runs of `runLength` elements of one channel each (the runs layout), the first of them of channel `channel`. */
  runs: number;
  runLength: number;
  channel: number;
}

/**
 * The chunks of a [outer, channels, inner] tensor of `length` elements, copied in one at a time: whole rows of
 * channels when the channel axis is last (`inner` 1), else whole runs of one channel, or pieces of a run longer
 * than a block (one scale for the tensor: `inner` is its length).
 */
function chunksOf(length: number, channels: number, inner: number): { chunks: Chunk[]; largest: number } {
  const chunks: Chunk[] = [];
  if (length === 0) return { chunks, largest: 0 };
  if (inner <= BLOCK_VALUES) {
    const unit = inner === 1 ? channels : inner;
    const step = Math.max(1, Math.floor(BLOCK_VALUES / unit)) * unit;
    for (let start = 0; start < length; start += step) {
      const count = Math.min(step, length - start);
      chunks.push({ start, count, runs: count / inner, runLength: inner, channel: (start / inner) % channels });
    }
    return { chunks, largest: Math.min(step, length) };
  }
  for (let runStart = 0; runStart < length; runStart += inner) {
    const channel = (runStart / inner) % channels;
    const runEnd = Math.min(length, runStart + inner);
    for (let start = runStart; start < runEnd; start += BLOCK_VALUES) {
      const count = Math.min(BLOCK_VALUES, runEnd - start);
      chunks.push({ start, count, runs: 1, runLength: count, channel });
    }
  }
  return { chunks, largest: Math.min(BLOCK_VALUES, length) };
}

/**
 * Per channel, the float32 bit pattern of the largest magnitude of a [outer, channels, inner] float32 tensor given
 * as little-endian bytes. Patterns above infinity's mean the channel holds a NaN.
 */
export function channelMagnitudeBits(bytes: Uint8Array, channels: number, inner: number): Int32Array {
  const length = bytes.byteLength / 4;
  const { chunks, largest } = chunksOf(length, channels, inner);
  const workspace = new KernelWorkspace({ maxima: channels * 4, input: largest * 4 });
  workspace.integers('maxima', channels).fill(0);
  const input = workspace.offset('input');
  const maxima = workspace.offset('maxima');
  for (const { start, count, runs, runLength, channel } of chunks) {
    workspace.load('input', bytes, start, count);
    if (inner === 1) workspace.kernels.magnitudeColumns(input, count / channels, channels, maxima);
    else workspace.kernels.magnitudeRuns(input, runs, runLength, channels, channel, maxima);
  }
  return Int32Array.from(workspace.integers('maxima', channels));
}

/**
 * Quantizes a [outer, channels, inner] float32 tensor given as little-endian bytes into `output` (1- or 2-byte
 * integers), each channel with its own parameters.
 */
export function quantizeChannels(
  bytes: Uint8Array,
  channels: number,
  inner: number,
  parameters: ChannelParameters,
  output: Int8Array | Uint8Array | Int16Array | Uint16Array,
): void {
  const length = bytes.byteLength / 4;
  const width = output.BYTES_PER_ELEMENT;
  const signed = output instanceof Int8Array || output instanceof Int16Array;
  // Unsigned values pass the kernels' signed narrowing offset by half their range (see storeVector).
  const bias = signed ? 0 : 2 ** (8 * width - 1);
  const { chunks, largest } = chunksOf(length, channels, inner);
  const workspace = new KernelWorkspace({ ...parameterRegions(channels), input: largest * 4, output: largest * width });
  storeParameters(workspace, parameters, channels);
  const channelParameters = ['scales', 'zeroPoints', 'lows', 'highs'].map((name) => workspace.offset(name));
  const input = workspace.offset('input');
  const result = workspace.offset('output');
  const target = new Uint8Array(output.buffer, output.byteOffset, output.byteLength);
  for (const { start, count, runs, runLength, channel } of chunks) {
    workspace.load('input', bytes, start, count);
    if (inner === 1) {
      workspace.kernels.quantizeColumns(input, count / channels, channels, ...channelParameters, result, width, bias);
    } else {
      const layout = [input, runs, runLength, channels, channel];
      workspace.kernels.quantizeRuns(...layout, ...channelParameters, result, width, bias);
    }
    target.set(workspace.bytes('output', count * width), start * width);
  }
}

/** All float32 values of little-endian bytes: a view when they are aligned, else a copy. */
export function floatsOfBytes(bytes: Uint8Array): Float32Array {
  const aligned = bytes.byteOffset % Float32Array.BYTES_PER_ELEMENT === 0 ? bytes : new Uint8Array(bytes);
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / Float32Array.BYTES_PER_ELEMENT);
}
