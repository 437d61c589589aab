import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import {
  type CalibrationDataset,
  type CalibrationTable,
  calibrate,
  parseCalibrationTable,
  RANGE_METHODS,
  type RangeMethod,
  firstSample,
} from '@whittle/calibrate';
import { Pipeline } from '@whittle/core';
import { type Model, verifyModel } from '@whittle/ir';
import { compareLatency, type LatencyComparison } from '@whittle/evaluate';
import { readModel, writeFileAtomicallySync, writeModel } from '@whittle/onnx/node';
import { correctBiasesOnData, lowFidelityDiagnostic, type MeasuredBiasCorrectionResult } from '@whittle/quantize';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import { type Diagnostic, type PipelineStep, WhittleError } from '@whittle/spec';
import type { Command } from 'commander';
import { type CliIo, usageError } from '../cli-error.js';
import { collect, inputAndOutput, integerOption, oneOf } from '../cli-options.js';
import { formatBytes, formatCount, formatMilliseconds, formatTable } from '../format.js';
import { nodeCount, operatorCounts } from '../model-counts.js';
import { printOutcome } from '../print-outcome.js';
import { createRegistry, runPipeline, statisticsByPass } from '../registry.js';
import { ProgressBar } from '../progress.js';
import { addImageOptions, imageOptions, openCommandDataset } from './calibrate.js';

const MODES = ['static', 'dynamic', 'fp16', 'bf16', 'weight-only'] as const;
type Mode = (typeof MODES)[number];
/**
 * weights: quantize-static subtracts the shift weight rounding causes, from the table's channel means; measured (the
 * default): that, then the drift of each layer's channel means that remains, measured on --data
 * (correctBiasesOnData); off: neither.
 */
const BIAS_CORRECTIONS = ['measured', 'weights', 'off'] as const;
interface QuantizeCommandOptions {
  output: string;
  mode: string;
  data?: string;
  calibrationTable?: string;
  method: string;
  samples?: string;
  perChannel?: boolean;
  perTensor?: boolean;
  format: string;
  weightType?: string;
  activationType?: string;
  exclude: string[];
  blockSize: string;
  biasCorrection: string;
  latencyRuns: string;
  report?: string;
  json?: boolean;
  debug?: boolean;
  imageScale?: string;
  imageMean?: string;
  imageStd?: string;
  imageLayout?: string;
  imageChannels?: string;
}

/** The pipeline steps of a mode, from the command's options (the table for static mode comes separately). */
export function quantizeSteps(mode: Mode, options: QuantizeCommandOptions, table?: CalibrationTable): PipelineStep[] {
  const perChannel = options.perTensor ? false : options.perChannel;
  const exclude = options.exclude.length > 0 ? { exclude: options.exclude } : {};
  switch (mode) {
    case 'static': {
      const weightType = oneOf('--weight-type', options.weightType, ['int8', 'uint8'] as const);
      const activationType = oneOf('--activation-type', options.activationType, ['uint8', 'int8', 'int16'] as const);
      // Lowering to QOperator form comes after measured bias correction, which reads the QDQ form: see the action.
      return [
        [
          'quantize-static',
          {
            calibrationTable: table,
            ...(weightType ? { weightType } : {}),
            ...(activationType ? { activationType } : {}),
            ...(perChannel === undefined ? {} : { perChannel }),
            ...(options.biasCorrection === 'off' ? { biasCorrection: false } : {}),
            ...exclude,
          },
        ],
      ];
    }
    case 'dynamic': {
      const weightType = oneOf('--weight-type', options.weightType, ['int8', 'uint8'] as const);
      return [
        [
          'quantize-dynamic',
          { ...(weightType ? { weightType } : {}), ...(perChannel === undefined ? {} : { perChannel }), ...exclude },
        ],
      ];
    }
    case 'fp16':
    case 'bf16': {
      const convert: PipelineStep = [
        'convert-float16',
        {
          type: mode === 'fp16' ? 'float16' : 'bfloat16',
          ...(options.exclude.length > 0 ? { blockNodes: options.exclude } : {}),
        },
      ];
      // bfloat16 Cast needs opset 13; upgrade-opset leaves newer models as they are.
      return mode === 'bf16' ? ['upgrade-opset', convert] : [convert];
    }
    case 'weight-only': {
      const weightType = oneOf('--weight-type', options.weightType ?? 'int4', ['int4', 'int8'] as const);
      return [
        [
          'quantize-weights',
          { bits: weightType === 'int8' ? 8 : 4, blockSize: integerOption('--block-size', options.blockSize, 16) },
        ],
      ];
    }
  }
}

/** The samples of --data, with --samples and the image options. */
function dataFor(model: Model, data: string, options: QuantizeCommandOptions, io: CliIo): CalibrationDataset {
  const limit = options.samples ? integerOption('--samples', options.samples, 1) : undefined;
  return openCommandDataset(model, data, { limit, image: imageOptions(options) }, io);
}

/** The calibration table (from --calibration-table, or made on --data), and the samples of --data if given. */
async function calibrationTableFor(
  model: Model,
  modelPath: string,
  options: QuantizeCommandOptions,
  io: CliIo,
): Promise<{ table: CalibrationTable; dataset?: CalibrationDataset }> {
  if (options.calibrationTable) {
    const file = resolve(io.cwd, options.calibrationTable);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw usageError(`cannot read the calibration table '${options.calibrationTable}'`);
    }
    const table = await parseCalibrationTable(text, { model });
    // With --data too, the ranges come from the table and the data serves the measured bias correction.
    return { table, ...(options.data ? { dataset: dataFor(model, options.data, options, io) } : {}) };
  }
  if (!options.data) {
    throw usageError(
      'static quantization needs activation ranges',
      `give --data <folder of samples> to calibrate on the way, or --calibration-table <file> from 'whittle calibrate ${modelPath} --data ...'`,
    );
  }
  const method = oneOf('--method', options.method, RANGE_METHODS) as RangeMethod;
  const dataset = dataFor(model, options.data, options, io);
  const progress = new ProgressBar('calibrate', 'samples', { write: io.stderr, interactive: io.interactive ?? false });
  const activationType = options.activationType ?? 'uint8';
  const table = await calibrate(model, dataset, {
    executors: ortExecutorFactory,
    method: { method, symmetric: false, bits: activationType === 'int16' ? 16 : 8 },
    // Bias correction reads the per-channel means of each weighted op's input.
    channelMeans: true,
    onProgress: ({ done, total }) => progress.update(done, total),
  });
  progress.finish(`calibrated ${Object.keys(table.tensors).length} tensors on ${table.samples} samples`);
  return { table, dataset };
}

/** Measured bias correction of a quantize-static result, with a progress bar. */
async function correctBiases(
  reference: Model,
  quantized: Model,
  dataset: CalibrationDataset,
  io: CliIo,
): Promise<MeasuredBiasCorrectionResult> {
  const progress = new ProgressBar('correct biases', 'passes', {
    write: io.stderr,
    interactive: io.interactive ?? false,
  });
  const result = await correctBiasesOnData(reference, quantized, dataset, {
    executors: ortExecutorFactory,
    onProgress: (done, total) => progress.update(done, total),
  });
  progress.finish(
    Number.isNaN(result.fidelityBefore)
      ? 'no float output to score bias corrections by: biases left as they were'
      : `corrected the biases of ${result.corrected} of ${result.layers} layers on ${result.samples} samples: ` +
          `output SQNR ${result.fidelityBefore.toFixed(1)} → ${result.fidelityAfter.toFixed(1)} dB on them`,
  );
  return result;
}

/**
 * Median latency of both models on the first sample, in alternating runs (compareLatency), or a warning when
 * ONNX Runtime cannot run them (timing is advice: it never fails the command).
 */
async function measureLatency(
  reference: Model,
  quantized: Model,
  dataset: CalibrationDataset,
  runs: number,
  io: CliIo,
): Promise<{ latency: LatencyComparison } | { failure: Diagnostic }> {
  const progress = new ProgressBar('time both models', 'runs', {
    write: io.stderr,
    interactive: io.interactive ?? false,
  });
  try {
    const sample = await firstSample(dataset);
    const latency = await compareLatency(reference, quantized, sample, { executors: ortExecutorFactory, runs });
    progress.finish(
      `latency ${formatMilliseconds(latency.referenceMilliseconds)} float → ` +
        `${formatMilliseconds(latency.candidateMilliseconds)} quantized (${latency.ratio.toFixed(2)}x, median of ` +
        `${latency.runs} runs)`,
    );
    return { latency };
  } catch (error) {
    progress.finish('could not time the models');
    const reason = error instanceof Error ? error.message : String(error);
    const message = `timing the models failed: ${reason}`;
    return { failure: { code: 'QUANTIZE_LATENCY_FAILED', severity: 'warning', message } };
  }
}

/** Slower than this, against the float model, is not noise: medians of 10 runs on one sample vary by a few %. */
const NOT_FASTER_RATIO = 1.05;

/** A warning when the quantized model is no faster than the float one on ONNX Runtime's CPU kernels. */
function notFasterDiagnostic(latency: LatencyComparison): Diagnostic | undefined {
  if (latency.ratio < NOT_FASTER_RATIO) return undefined;
  return {
    code: 'QUANTIZE_NOT_FASTER',
    severity: 'warning',
    message:
      `the quantized model takes ${latency.ratio.toFixed(2)}x the float model's time on ONNX Runtime's CPU kernels ` +
      `(median of ${latency.runs} runs on one sample): its integer kernels do not pay on this model. --mode fp16 ` +
      'halves the size without integer kernels; --exclude keeps chosen ops in float',
  };
}

function markdownReport(report: Record<string, unknown>, rows: string[][]): string {
  const correction = report.biasCorrection as MeasuredBiasCorrectionResult | undefined;
  const table = (cells: string[][]) => cells.map((row) => `| ${row.join(' | ')} |`).join('\n');
  return [
    `# whittle quantize: ${report.input}`,
    '',
    `Mode **${report.mode}**, written to \`${report.output}\`.`,
    '',
    ...(correction
      ? [
          `Bias correction measured on ${correction.samples} calibration samples: ${correction.corrected} of ` +
            `${correction.layers} layers corrected, output SQNR on those samples ${correction.fidelityBefore.toFixed(1)} → ` +
            `${correction.fidelityAfter.toFixed(1)} dB (held-out data: \`whittle compare\`).`,
          '',
        ]
      : []),
    table([['', 'before', 'after', 'ratio'], ['---', '---', '---', '---'], ...rows]),
    '',
  ].join('\n');
}

export function addQuantizeCommand(program: Command, io: CliIo): void {
  const command = program
    .command('quantize')
    .description('Quantize a model: static int8/int16 (QDQ or QOperator), dynamic, fp16/bf16 or weight-only int4/int8')
    .argument('<model>', 'ONNX model file (never modified)')
    .requiredOption('-o, --output <file>', 'where to write the quantized model')
    .option('--mode <mode>', MODES.join(' | '), 'static')
    .option(
      '--data <path>',
      'static: samples to calibrate on (folder of .npy/.npz, test_data_set folders, images); with --calibration-table, for bias correction',
    )
    .option('--calibration-table <file>', "static: a table from 'whittle calibrate'")
    // Percentile by default: on held-out data it beat min-max on the OCR classifier (36 vs 26 dB) and recognizer
    // (94% vs 47% same text), where a few outlier activations stretch min-max ranges (bench/quantization.mjs).
    .option('--method <method>', `static with --data: range method (${RANGE_METHODS.join(', ')})`, 'percentile')
    .option('--samples <count>', 'static with --data: calibrate on at most this many samples')
    .option('--per-channel', 'one weight scale per output channel (the default for static)')
    .option('--per-tensor', 'one weight scale per tensor')
    .option('--format <format>', 'static: qdq | qoperator', 'qdq')
    .option('--weight-type <type>', 'int8 | uint8 (static, dynamic); int4 | int8 (weight-only)')
    .option('--activation-type <type>', 'static: uint8 | int8 | int16')
    .option(
      '--exclude <op|name|pattern>',
      'leave these op types, node names or globs in float (repeatable)',
      collect,
      [],
    )
    .option('--block-size <size>', 'weight-only: elements per quantization block', '32')
    .option(
      '--bias-correction <mode>',
      'static: measured (also the drift of channel means measured on --data) | weights (weight rounding only) | off',
      'measured',
    )
    .option(
      '--latency-runs <count>',
      'static with --data: time both models this many runs each on one sample (ONNX Runtime CPU); 0 skips',
      '10',
    )
    .option('--report <file>', 'also write a report (.json or .md)')
    .option('--debug', 'run the IR verifier after every pass')
    .option('--json', 'print the report as JSON');
  addImageOptions(command).action(async (modelPath: string, options: QuantizeCommandOptions) => {
    const mode = oneOf('--mode', options.mode, MODES)!;
    oneOf('--format', options.format, ['qdq', 'qoperator'] as const);
    oneOf('--bias-correction', options.biasCorrection, BIAS_CORRECTIONS);
    const latencyRuns = integerOption('--latency-runs', options.latencyRuns);
    if (options.perChannel && options.perTensor) throw usageError('--per-channel and --per-tensor exclude each other');
    if (options.report && !['.json', '.md'].includes(extname(options.report))) {
      throw usageError('--report writes a .json or a .md file');
    }
    const { input, output } = inputAndOutput(io.cwd, modelPath, options.output);
    const loaded = readModel(input);
    const nodesBefore = nodeCount(loaded.model);
    const operatorsBefore = operatorCounts(loaded.model);
    const calibration = mode === 'static' ? await calibrationTableFor(loaded.model, modelPath, options, io) : undefined;
    // With --data: the samples to correct biases on and to time the models on, against the float model (read again:
    // the pipeline changes `loaded.model` in place).
    const dataset = calibration?.dataset;
    const correcting = dataset !== undefined && options.biasCorrection === 'measured';
    const timing = dataset !== undefined && latencyRuns > 0;
    const reference = correcting || timing ? readModel(input).model : undefined;
    const registry = await createRegistry([]);
    const run = (model: Model, steps: PipelineStep[]) =>
      runPipeline(registry, model, Pipeline.fromSteps(steps, registry), options.debug);
    const started = performance.now();
    const results = [await run(loaded.model, quantizeSteps(mode, options, calibration?.table))];
    let biasCorrection: MeasuredBiasCorrectionResult | undefined;
    if (reference && dataset && correcting) {
      biasCorrection = await correctBiases(reference, results[0]!.model, dataset, io);
      // The correction runs outside the pipeline: --debug verifies its result as the pipeline does a pass's.
      const problem = options.debug
        ? verifyModel(results[0]!.model).find((diagnostic) => diagnostic.severity === 'error')
        : undefined;
      if (problem) {
        throw new WhittleError(
          'QUANTIZE_CORRECTION_BROKE_MODEL',
          `bias correction broke the model: ${problem.message}`,
        );
      }
    }
    if (mode === 'static' && options.format === 'qoperator') {
      results.push(await run(results[0]!.model, ['lower-qoperator']));
    }
    const result = results.at(-1)!;
    const written = writeModel(result.model, output);
    const bytesAfter = written.modelBytes + written.externalBytes;
    const statistics: Record<string, number> = Object.assign({}, ...results.map((each) => statisticsByPass(each)));
    // The passes and the measured bias correction (calibration reports its own time, timing the models is not).
    const milliseconds = performance.now() - started;
    // Timing is advice: the model is written first, and a failure to run it is a warning.
    const timed =
      reference && dataset && timing
        ? await measureLatency(reference, result.model, dataset, latencyRuns, io)
        : undefined;
    const latency = timed && 'latency' in timed ? timed.latency : undefined;
    const report = {
      input: modelPath,
      output: options.output,
      mode,
      bytes: { before: loaded.fileSize, after: bytesAfter, ratio: bytesAfter / loaded.fileSize },
      nodes: { before: nodesBefore, after: nodeCount(result.model) },
      operators: { before: operatorsBefore, after: operatorCounts(result.model) },
      statistics,
      ...(biasCorrection ? { biasCorrection } : {}),
      ...(latency ? { latency } : {}),
      milliseconds,
      diagnostics: [
        ...loaded.diagnostics,
        ...results.flatMap((each) => each.diagnostics),
        ...[
          biasCorrection && lowFidelityDiagnostic(biasCorrection),
          latency && notFasterDiagnostic(latency),
          timed && 'failure' in timed ? timed.failure : undefined,
        ].filter((each) => each !== undefined),
      ],
    };
    const rows = [
      ['file size', formatBytes(loaded.fileSize), formatBytes(bytesAfter), `${report.bytes.ratio.toFixed(2)}x`],
      [
        'nodes',
        formatCount(nodesBefore),
        formatCount(report.nodes.after),
        `${(report.nodes.after / nodesBefore).toFixed(2)}x`,
      ],
      ...(latency
        ? [
            [
              `latency (median of ${latency.runs})`,
              formatMilliseconds(latency.referenceMilliseconds),
              formatMilliseconds(latency.candidateMilliseconds),
              `${latency.ratio.toFixed(2)}x`,
            ],
          ]
        : []),
    ];
    if (options.report) {
      const file = resolve(io.cwd, options.report);
      writeFileAtomicallySync(
        file,
        file.endsWith('.md') ? markdownReport(report, rows) : `${JSON.stringify(report, null, 2)}\n`,
      );
    }
    const { diagnostics, ...summary } = report;
    printOutcome(io, options.json, summary, diagnostics, () =>
      io.stdout(
        `${[
          formatTable([['', 'before', 'after', 'ratio'], ...rows]),
          formatTable(
            Object.entries(statistics)
              .filter(([, value]) => value !== 0)
              .map(([key, value]) => [`  ${key}`, formatCount(value)]),
          ),
          `wrote ${options.output} (${mode}) in ${formatMilliseconds(milliseconds)}`,
        ]
          .filter(Boolean)
          .join('\n')}\n`,
      ),
    );
  });
}
