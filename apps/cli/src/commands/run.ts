import type { Command } from 'commander';
import { Pipeline } from '@whittle/core';
import { resolvePipelineArgument } from '@whittle/core/node';
import { readModel, writeModel } from '@whittle/onnx/node';
import type { CliIo } from '../cli-error.js';
import { collect, inputAndOutput, oneOf } from '../cli-options.js';
import { formatBytes, formatMilliseconds, formatTable } from '../format.js';
import { printOutcome } from '../print-outcome.js';
import { createRegistry, runPipeline } from '../registry.js';

interface RunCommandOptions {
  output: string;
  pipeline?: string;
  plugin: string[];
  json?: boolean;
  debug?: boolean;
  externalData: 'auto' | 'inline' | 'external';
}

export function addRunCommand(program: Command, io: CliIo): void {
  program
    .command('run')
    .description('Load a model, run a pipeline of passes over it (none: a plain round trip) and save the result')
    .argument('<model>', 'ONNX model file (never modified)')
    .requiredOption('-o, --output <file>', 'where to write the resulting model')
    .option('-p, --pipeline <pipeline>', 'pipeline text such as "a,b{key=value}", or a .json/.yaml pipeline file')
    .option('--plugin <module>', 'npm package or local module that exports passes (repeatable)', collect, [])
    .option('--external-data <mode>', 'auto | inline | external', 'auto')
    .option('--debug', 'run the IR verifier after every pass')
    .option('--json', 'print diagnostics, per-pass statistics and timings as JSON')
    .action(async (modelPath: string, options: RunCommandOptions) => {
      oneOf('--external-data', options.externalData, ['auto', 'inline', 'external'] as const);
      const { input, output } = inputAndOutput(io.cwd, modelPath, options.output);
      const source = options.pipeline
        ? await resolvePipelineArgument(options.pipeline, { cwd: io.cwd })
        : { steps: [], plugins: [], directory: io.cwd };
      // Plugins named in a pipeline file resolve from the file's folder; --plugin flags from the working folder.
      const registry = await createRegistry([
        ...source.plugins.map((specifier) => ({ specifier, from: source.directory })),
        ...options.plugin.map((specifier) => ({ specifier, from: io.cwd })),
      ]);
      // Text and files are both user-written: accept kebab-case names; text values arrive as strings.
      const pipeline = Pipeline.fromSteps(source.steps, registry, {
        acceptKebabCase: true,
        coerceTypes: !('file' in source && source.file),
      });
      const loaded = readModel(input);
      const result = await runPipeline(registry, loaded.model, pipeline, options.debug);
      const written = writeModel(result.model, output, { externalData: options.externalData });
      const report = {
        input: modelPath,
        output: options.output,
        changed: result.changed,
        inputBytes: loaded.fileSize,
        outputBytes: written.modelBytes,
        externalBytes: written.externalBytes,
        milliseconds: result.milliseconds,
        passes: result.passes,
      };
      printOutcome(io, options.json, report, [...loaded.diagnostics, ...result.diagnostics], () => {
        if (result.passes.length > 0) {
          io.stdout(
            `${formatTable([
              ['pass', 'changed', 'time', 'statistics'],
              ...result.passes.map((record) => [
                record.pass,
                record.changed ? 'yes' : 'no',
                formatMilliseconds(record.milliseconds),
                Object.entries(record.statistics)
                  .map(([key, value]) => `${key}=${value}`)
                  .join(' '),
              ]),
            ])}\n`,
          );
        }
        const external = written.externalBytes > 0 ? ` + ${formatBytes(written.externalBytes)} external data` : '';
        io.stdout(
          `wrote ${options.output} (${formatBytes(written.modelBytes)}${external}) from ${modelPath} (${formatBytes(loaded.fileSize)}) in ${formatMilliseconds(result.milliseconds)}\n`,
        );
      });
    });
}
