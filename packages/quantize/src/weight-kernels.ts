/**
 * The WebAssembly kernels of weight quantization (weight-kernels.wat) and the memory they work in. Weights are
 * copied in a block at a time (a few hundred kilobytes: the block stays in cache between the copy and the kernel),
 * so a tensor is never copied whole, whatever the alignment of its bytes in the file.
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
 * as long as the process; a larger one (B of a big MatMulNBits weight) gets its own, freed with the workspace.
 */
function kernelsFor(size: number): KernelExports {
  if (size > SHARED_BYTES) return instantiate();
  shared ??= instantiate();
  return shared;
}

const PAGE_SIZE = 65536;
/** The most memory the shared instance keeps: 64 MB. */
const SHARED_BYTES = 64 * 1024 * 1024;
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

/**
 * The chunks of a [outer, channels, inner] tensor of `length` elements that are copied in one at a time: whole rows
 * of channels when the channel axis is last (`inner` 1), else whole runs of one channel.
 */
function* chunks(length: number, channels: number, inner: number): Generator<{ start: number; count: number }> {
  const unit = inner === 1 ? channels : inner;
  const step = Math.max(1, Math.floor(BLOCK_VALUES / unit)) * unit;
  for (let start = 0; start < length; start += step) yield { start, count: Math.min(step, length - start) };
}

/** The largest block the chunks of a tensor need. */
function chunkSize(length: number, channels: number, inner: number): number {
  const unit = inner === 1 ? channels : inner;
  return Math.min(length, Math.max(1, Math.floor(BLOCK_VALUES / unit)) * unit);
}

/**
 * Per channel, the float32 bit pattern of the largest magnitude of a [outer, channels, inner] float32 tensor given
 * as little-endian bytes. Patterns above infinity's mean the channel holds a NaN.
 */
export function channelMagnitudeBits(bytes: Uint8Array, channels: number, inner: number): Int32Array {
  const length = bytes.byteLength / 4;
  const workspace = new KernelWorkspace({ maxima: channels * 4, input: chunkSize(length, channels, inner) * 4 });
  workspace.integers('maxima', channels).fill(0);
  const input = workspace.offset('input');
  const maxima = workspace.offset('maxima');
  for (const { start, count } of chunks(length, channels, inner)) {
    workspace.load('input', bytes, start, count);
    if (inner === 1) workspace.kernels.magnitudeColumns(input, count / channels, channels, maxima);
    else workspace.kernels.magnitudeRuns(input, count / inner, inner, channels, (start / inner) % channels, maxima);
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
  const size = chunkSize(length, channels, inner);
  const workspace = new KernelWorkspace({ ...parameterRegions(channels), input: size * 4, output: size * width });
  storeParameters(workspace, parameters, channels);
  const channelParameters = ['scales', 'zeroPoints', 'lows', 'highs'].map((name) => workspace.offset(name));
  const input = workspace.offset('input');
  const result = workspace.offset('output');
  const target = new Uint8Array(output.buffer, output.byteOffset, output.byteLength);
  for (const { start, count } of chunks(length, channels, inner)) {
    workspace.load('input', bytes, start, count);
    if (inner === 1) {
      workspace.kernels.quantizeColumns(input, count / channels, channels, ...channelParameters, result, width, bias);
    } else {
      const channel = (start / inner) % channels;
      const runs = [input, count / inner, inner, channels, channel];
      workspace.kernels.quantizeRuns(...runs, ...channelParameters, result, width, bias);
    }
    target.set(workspace.bytes('output', count * width), start * width);
  }
}
