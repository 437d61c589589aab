import { resolve } from 'node:path';
import { type CalibrationDataset, calibrate, RANGE_METHODS, serializeCalibrationTable } from '@whittle/calibrate';
import { type ImagePreprocessing, openDataset } from '@whittle/calibrate/node';
import type { Model } from '@whittle/ir';
import { readModel, writeFileAtomicallySync } from '@whittle/onnx/node';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import type { Command } from 'commander';
import { type CliIo, usageError } from '../cli-error.js';
import { integerOption, oneOf } from '../cli-options.js';
import { formatBytes, formatMilliseconds } from '../format.js';
import { ProgressBar } from '../progress.js';

interface CalibrateCommandOptions {
  data: string;
  output: string;
  method: string;
  percentile?: string;
  samples?: string;
  bits: string;
  symmetric?: boolean;
  movingAverage?: boolean;
  moments?: boolean;
  channelMeans?: boolean;
  imageScale?: string;
  imageMean?: string;
  imageStd?: string;
  imageLayout?: string;
  imageChannels?: string;
  json?: boolean;
}

function numberList(option: string, text: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isFinite(value)))
    throw usageError(`${option} takes numbers separated by commas, not '${text}'`);
  return values;
}

/** Image preprocessing from the --image-* options (undefined when none was given: the readers' defaults apply). */
/** The --image-* options as commander hands them over. */
export interface ImageCommandOptions {
  imageScale?: string;
  imageMean?: string;
  imageStd?: string;
  imageLayout?: string;
  imageChannels?: string;
}

export function imageOptions(options: ImageCommandOptions): ImagePreprocessing | undefined {
  const image: Record<string, unknown> = {};
  if (options.imageScale) image.scale = numberList('--image-scale', options.imageScale)[0];
  if (options.imageMean) image.mean = numberList('--image-mean', options.imageMean);
  if (options.imageStd) image.std = numberList('--image-std', options.imageStd);
  if (options.imageLayout) image.layout = oneOf('--image-layout', options.imageLayout, ['NCHW', 'NHWC'] as const);
  if (options.imageChannels) {
    image.channels = oneOf('--image-channels', options.imageChannels, ['RGB', 'BGR', 'gray'] as const);
  }
  return Object.keys(image).length > 0 ? (image as ImagePreprocessing) : undefined;
}

/** The samples of --data for `model`: at most `limit` of them, images read with the image options. */
export function openCommandDataset(
  model: Model,
  data: string,
  options: { limit: number | undefined; image: ImagePreprocessing | undefined },
  io: CliIo,
): CalibrationDataset {
  return openDataset(resolve(io.cwd, data), model, {
    ...(options.limit ? { limit: options.limit } : {}),
    ...(options.image ? { image: options.image } : {}),
  });
}

export function addImageOptions(command: Command): Command {
  return command
    .option('--image-scale <number>', 'images: multiply pixel values (0-255) by this (default 1/255)')
    .option('--image-mean <numbers>', 'images: per-channel mean subtracted after scaling, as in 0.5,0.5,0.5')
    .option('--image-std <numbers>', 'images: per-channel standard deviation divided by, as in 0.5,0.5,0.5')
    .option('--image-layout <layout>', 'images: NCHW or NHWC (default: from the model input)')
    .option('--image-channels <order>', 'images: RGB, BGR or gray (default RGB)');
}

export function addCalibrateCommand(program: Command, io: CliIo): void {
  const command = program
    .command('calibrate')
    .description('Run real data through a model and write the range of every activation to a calibration table')
    .argument('<model>', 'ONNX model file')
    .requiredOption('--data <path>', 'samples: a folder of .npy/.npz files, test_data_set folders, or images')
    .requiredOption('-o, --output <file>', 'the calibration table to write (JSON)')
    .option('--method <method>', `range method: ${RANGE_METHODS.join(', ')}`, 'minmax')
    .option('--percentile <value>', 'for --method percentile: the percentile kept (default 99.999)')
    .option('--samples <count>', 'use at most this many samples')
    .option('--bits <bits>', 'bit width the ranges are chosen for (8 or 16)', '8')
    .option('--symmetric', 'symmetric ranges (-max, max)')
    .option('--moving-average', 'for --method minmax: moving averages of the batch extremes')
    .option('--moments', 'for --method minmax: also record the mean and standard deviation of each tensor')
    .option('--channel-means', 'record the per-channel means of Conv, Gemm and MatMul inputs (for bias correction)')
    .option('--json', 'print a summary as JSON');
  addImageOptions(command).action(async (modelPath: string, options: CalibrateCommandOptions) => {
    const method = oneOf('--method', options.method, RANGE_METHODS)!;
    const bits = integerOption('--bits', options.bits, 2);
    const samples = options.samples ? integerOption('--samples', options.samples, 1) : undefined;
    const percentile = options.percentile === undefined ? undefined : Number(options.percentile);
    if (percentile !== undefined && !(percentile > 0 && percentile <= 100)) {
      throw usageError(`--percentile must be in (0, 100], not '${options.percentile}'`);
    }
    const image = imageOptions(options);
    const { model } = readModel(resolve(io.cwd, modelPath));
    const dataset = openCommandDataset(model, options.data, { limit: samples, image }, io);
    const progress = new ProgressBar('calibrate', 'samples', {
      write: io.stderr,
      interactive: io.interactive ?? false,
    });
    const started = performance.now();
    const table = await calibrate(model, dataset, {
      executors: ortExecutorFactory,
      method: {
        method,
        symmetric: options.symmetric ?? false,
        bits,
        ...(percentile !== undefined ? { percentile } : {}),
        ...(options.movingAverage ? { movingAverage: true } : {}),
      },
      ...(options.moments ? { moments: true } : {}),
      ...(options.channelMeans ? { channelMeans: true } : {}),
      onProgress: ({ done, total }) => progress.update(done, total),
    });
    const milliseconds = performance.now() - started;
    const text = serializeCalibrationTable(table);
    writeFileAtomicallySync(resolve(io.cwd, options.output), text);
    const tensors = Object.keys(table.tensors).length;
    progress.finish(`calibrated ${tensors} tensors on ${table.samples} samples in ${formatMilliseconds(milliseconds)}`);
    const summary = {
      model: modelPath,
      output: options.output,
      data: dataset.description,
      method: table.method,
      samples: table.samples,
      tensors,
      milliseconds,
      bytes: Buffer.byteLength(text),
    };
    if (options.json) {
      io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    const methodText = `${table.method.name}${table.method.name === 'percentile' ? ` ${table.method.percentile}` : ''}, ${table.method.symmetric ? 'symmetric' : 'asymmetric'}, ${table.method.bits}-bit`;
    io.stdout(
      `calibrated ${tensors} tensors of ${modelPath} on ${table.samples} samples from ${dataset.description}\n` +
        `method ${methodText}; ${(table.samples / (milliseconds / 1000)).toFixed(1)} samples/s\n` +
        `wrote ${options.output} (${formatBytes(summary.bytes)})\n`,
    );
  });
}
