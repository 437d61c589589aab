import { pipelineJsonSchema, printPipelineText } from '@whittle/core';
import type { Command } from 'commander';
import { collect } from '../cli-options.js';
import type { CliIo } from '../cli-error.js';
import { optionLines } from '../option-help.js';
import { createRegistry } from '../registry.js';

export function addPassesCommand(program: Command, io: CliIo): void {
  program
    .command('passes')
    .description('List the passes and presets a pipeline can use, with their options')
    .option('--plugin <module>', 'also list the passes of a plugin (repeatable)', collect, [])
    .option('--json', 'print the list as JSON')
    .action(async (options: { plugin: string[]; json?: boolean }) => {
      const registry = await createRegistry(options.plugin.map((specifier) => ({ specifier, from: io.cwd })));
      const passes = registry.passes();
      if (options.json) {
        const list = passes.map((pass) => ({
          name: pass.name,
          description: pass.description,
          options: pass.options ?? {},
        }));
        io.stdout(`${JSON.stringify({ passes: list, presets: registry.presets() }, null, 2)}\n`);
        return;
      }
      for (const pass of passes) {
        io.stdout(`${pass.name}\n  ${pass.description}\n`);
        for (const line of optionLines(pass.options)) io.stdout(`    ${line}\n`);
      }
      for (const preset of registry.presets())
        io.stdout(`${preset.name} (preset)\n  ${printPipelineText(preset.steps)}\n`);
    });

  program
    .command('schema')
    .description('Print the JSON Schema of pipeline files for the known passes (for editors and validation)')
    .option('--plugin <module>', 'include the passes of a plugin (repeatable)', collect, [])
    .action(async (options: { plugin: string[] }) => {
      const registry = await createRegistry(options.plugin.map((specifier) => ({ specifier, from: io.cwd })));
      io.stdout(`${JSON.stringify(pipelineJsonSchema(registry), null, 2)}\n`);
    });
}
