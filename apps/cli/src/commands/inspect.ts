import type { Command } from 'commander';
import { readModel } from '@whittle/onnx/node';
import { resolve } from 'node:path';
import type { CliIo } from '../cli-error.js';
import { summarizeModel } from '../inspect-model.js';
import { renderSummary } from '../render-summary.js';

export function addInspectCommand(program: Command, io: CliIo): void {
  program
    .command('inspect')
    .description('Show a model: versions, inputs and outputs, operators, parameters and weight sizes')
    .argument('<model>', 'ONNX model file')
    .option('--json', 'print the summary as JSON')
    .action((modelPath: string, options: { json?: boolean }) => {
      const { model, fileSize } = readModel(resolve(io.cwd, modelPath));
      const summary = summarizeModel(model, { path: modelPath, bytes: fileSize });
      io.stdout(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${renderSummary(summary)}\n`);
    });
}
