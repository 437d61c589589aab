import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { openDataset } from '@whittle/calibrate/node';
import { type ComparisonReport, compareModels } from '@whittle/evaluate';
import { readModel } from '@whittle/onnx/node';
import { ortExecutorFactory } from '@whittle/runtime-ort';
import type { Command } from 'commander';
import type { CliIo } from '../cli-error.js';
import { integerOption } from '../cli-options.js';
import { formatBytes, formatMilliseconds, formatTable } from '../format.js';
import { ProgressBar } from '../progress.js';
import { addImageOptions, type ImageCommandOptions, imageOptions } from './calibrate.js';

interface CompareCommandOptions extends ImageCommandOptions {
  data: string;
  samples?: string;
  perLayer?: boolean;
  top: string;
  runs: string;
  json?: boolean;
}

function decibels(value: number): string {
  return value === Number.POSITIVE_INFINITY ? 'identical' : `${value.toFixed(1)} dB`;
}

/** The noise a layer adds, as the SQNR it alone would give. */
function addedNoiseText(addedNoise: number): string {
  if (addedNoise === Number.POSITIVE_INFINITY) return 'no signal';
  return addedNoise > 0 ? decibels(-10 * Math.log10(addedNoise)) : '-';
}

function fileSize(path: string): number {
  // A model with external data counts its data file too.
  const own = statSync(path).size;
  try {
    return own + statSync(`${path}.data`).size;
  } catch {
    return own;
  }
}

export function renderComparison(report: ComparisonReport, sizes: [number, number], top: number): string {
  const lines = [
    `compared on ${report.samples} sample(s)`,
    formatTable([
      ['output', 'SQNR', 'cosine', 'max |error|', 'mean |error|'],
      ...report.outputs.map((output) =>
        output.mismatch
          ? [output.name, `not compared: ${output.mismatch}`, '', '', '']
          : [
              output.name,
              decibels(output.sqnr),
              output.cosineSimilarity.toFixed(6),
              output.maxAbsoluteError.toPrecision(3),
              output.meanAbsoluteError.toPrecision(3),
            ],
      ),
    ]),
    '',
    `size: ${formatBytes(sizes[0])} -> ${formatBytes(sizes[1])} (${(sizes[1] / sizes[0]).toFixed(2)}x)`,
  ];
  if (report.latency) {
    const { referenceMilliseconds, candidateMilliseconds, ratio, runs } = report.latency;
    lines.push(
      `latency (median of ${runs} runs): ${formatMilliseconds(referenceMilliseconds)} -> ${formatMilliseconds(candidateMilliseconds)} (${ratio.toFixed(2)}x)`,
    );
  }
  if (report.layers) {
    const worst = [...report.layers].sort((a, b) => b.addedNoise - a.addedNoise).slice(0, top);
    lines.push(
      '',
      `where error enters (top ${worst.length} of ${report.layers.length} layers, by the noise each adds; 'adds' is`,
      'that noise alone as an SQNR):',
      formatTable([
        ['value', 'op', 'node', 'SQNR', 'inputs', 'adds'],
        ...worst.map((layer) => [
          layer.name,
          layer.opType,
          layer.node,
          decibels(layer.sqnr),
          decibels(layer.inputSqnr),
          addedNoiseText(layer.addedNoise),
        ]),
      ]),
    );
  }
  return lines.join('\n');
}

export function addCompareCommand(program: Command, io: CliIo): void {
  const command = program
    .command('compare')
    .description(
      'Compare a candidate model with its reference: output fidelity, size and latency, per layer on request',
    )
    .argument('<reference>', 'the reference model (say, float32)')
    .argument('<candidate>', 'the model to judge (say, quantized)')
    .requiredOption('--data <path>', 'samples: a folder of .npy/.npz files, test_data_set folders, or images')
    .option('--samples <count>', 'compare at most this many samples')
    .option('--per-layer', 'compare every value both models share and rank where error enters')
    .option('--top <count>', 'layers listed with --per-layer', '10')
    .option('--runs <count>', 'timed runs per model for latency (0: skip)', '20')
    .option('--json', 'print the report as JSON');
  addImageOptions(command).action(
    async (referencePath: string, candidatePath: string, options: CompareCommandOptions) => {
      // Numbers first: a typo is a usage error, found before any work.
      const latencyRuns = integerOption('--runs', options.runs);
      const top = integerOption('--top', options.top, 1);
      const samples = options.samples ? integerOption('--samples', options.samples, 1) : undefined;
      const referenceFile = resolve(io.cwd, referencePath);
      const candidateFile = resolve(io.cwd, candidatePath);
      const reference = readModel(referenceFile).model;
      const candidate = readModel(candidateFile).model;
      const image = imageOptions(options);
      const dataset = openDataset(resolve(io.cwd, options.data), reference, image ? { image } : {});
      const progress = new ProgressBar('compare', 'samples', {
        write: io.stderr,
        interactive: io.interactive ?? false,
      });
      const report = await compareModels(reference, candidate, dataset, {
        executors: ortExecutorFactory,
        perLayer: options.perLayer ?? false,
        latencyRuns,
        ...(samples ? { samples } : {}),
        onProgress: (done, total) => progress.update(done, total),
      });
      const sizes: [number, number] = [fileSize(referenceFile), fileSize(candidateFile)];
      progress.finish(`compare: ${report.samples} sample(s) done`);
      if (options.json) {
        io.stdout(
          `${JSON.stringify({ reference: referencePath, candidate: candidatePath, bytes: sizes, ...report }, jsonNumbers, 2)}\n`,
        );
        return;
      }
      io.stdout(`${renderComparison(report, sizes, top)}\n`);
    },
  );
}

/** JSON has no Infinity: identical outputs report an SQNR of "Infinity". */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}
