import { Pipeline } from '@whittle/core';
import { readModel, writeModel } from '@whittle/onnx/node';
import type { PipelineStep } from '@whittle/spec';
import type { Command } from 'commander';
import { type CliIo, usageError } from '../cli-error.js';
import { collect, inputAndOutput } from '../cli-options.js';
import { formatBytes, formatCount, formatMilliseconds, formatTable } from '../format.js';
import { printOutcome } from '../print-outcome.js';
import { nodeCount } from '../model-counts.js';
import { createRegistry, runPipeline, statisticsByPass } from '../registry.js';

interface OptimizeCommandOptions {
  output: string;
  inputShape: string[];
  json?: boolean;
  debug?: boolean;
}

/** `name=1,3,640,640` → ['name', [1, 3, 640, 640]]; a dim may stay symbolic (`batch`). */
export function parseInputShape(text: string): [string, (number | string)[]] {
  const separator = text.lastIndexOf('=');
  if (separator <= 0) throw usageError(`--input-shape takes name=dims, as in x=1,3,640,640; got '${text}'`);
  const name = text.slice(0, separator);
  const dims = text
    .slice(separator + 1)
    .split(',')
    .map((dim) => dim.trim());
  if (dims.some((dim) => dim === '')) throw usageError(`--input-shape '${text}' has an empty dimension`);
  return [name, dims.map((dim) => (/^\d+$/.test(dim) ? Number(dim) : dim))];
}

export function addOptimizeCommand(program: Command, io: CliIo): void {
  program
    .command('optimize')
    .description('Clean up and fuse a model with the default optimization passes, run until nothing changes')
    .argument('<model>', 'ONNX model file (never modified)')
    .requiredOption('-o, --output <file>', 'where to write the optimized model')
    .option('--input-shape <name=dims>', 'fix a dynamic input, as in x=1,3,640,640 (repeatable)', collect, [])
    .option('--debug', 'run the IR verifier after every pass')
    .option('--json', 'print what changed as JSON')
    .action(async (modelPath: string, options: OptimizeCommandOptions) => {
      const { input, output } = inputAndOutput(io.cwd, modelPath, options.output);
      const shapes = Object.fromEntries(options.inputShape.map(parseInputShape));
      const registry = await createRegistry([]);
      const steps: PipelineStep[] = [];
      if (Object.keys(shapes).length > 0) steps.push(['fix-input-shapes', { shapes }]);
      steps.push('optimize');
      const pipeline = Pipeline.fromSteps(steps, registry);
      const loaded = readModel(input);
      const nodesBefore = nodeCount(loaded.model);
      const result = await runPipeline(registry, loaded.model, pipeline, options.debug);
      const nodesAfter = nodeCount(result.model);
      const written = writeModel(result.model, output);
      const statistics = statisticsByPass(result, ['optimize']);
      const fired = Object.entries(statistics)
        .filter(([key, value]) => key.endsWith('.changedRounds') && value > 0)
        .map(([key]) => key.slice(0, -'.changedRounds'.length));
      const report = {
        input: modelPath,
        output: options.output,
        nodes: { before: nodesBefore, after: nodesAfter },
        bytes: { before: loaded.fileSize, after: written.modelBytes + written.externalBytes },
        passesFired: fired,
        statistics,
        milliseconds: result.milliseconds,
      };
      printOutcome(io, options.json, report, [...loaded.diagnostics, ...result.diagnostics], () => {
        const rows = Object.entries(statistics)
          .filter(([key, value]) => value !== 0 && !key.endsWith('.changedRounds') && key !== 'rounds')
          .map(([key, value]) => [`  ${key}`, formatCount(value)]);
        io.stdout(
          `nodes ${formatCount(nodesBefore)} -> ${formatCount(nodesAfter)}; size ${formatBytes(loaded.fileSize)} -> ${formatBytes(written.modelBytes + written.externalBytes)}\n`,
        );
        io.stdout(
          `passes that changed the model: ${fired.length > 0 ? fired.join(', ') : 'none'} (${statistics.rounds ?? 0} rounds)\n`,
        );
        if (rows.length > 0) io.stdout(`${formatTable(rows)}\n`);
        io.stdout(`wrote ${options.output} in ${formatMilliseconds(result.milliseconds)}\n`);
      });
    });
}
