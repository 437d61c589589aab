import { Command, CommanderError } from 'commander';
import { type CliIo, ExitCode, reportError } from './cli-error.js';
import { addCalibrateCommand } from './commands/calibrate.js';
import { addCompareCommand } from './commands/compare.js';
import { addInspectCommand } from './commands/inspect.js';
import { addOptimizeCommand } from './commands/optimize.js';
import { addPassesCommand } from './commands/passes.js';
import { addQuantizeCommand } from './commands/quantize.js';
import { addRunCommand } from './commands/run.js';

export const VERSION = '0.1.0';

function createProgram(io: CliIo): Command {
  const program = new Command('whittle')
    .description('Make neural networks smaller, faster and cheaper to run')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(`whittle: error [USAGE] ${text.replace(/^error: /, '')}`),
    });
  addInspectCommand(program, io);
  addRunCommand(program, io);
  addOptimizeCommand(program, io);
  addQuantizeCommand(program, io);
  addPassesCommand(program, io);
  addCalibrateCommand(program, io);
  addCompareCommand(program, io);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(`whittle: error [USAGE] ${text.replace(/^error: /, '')}`),
    });
  }
  return program;
}

/** Run the CLI with arguments (without `node` and the script name); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.success;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) {
        return ExitCode.success;
      }
      return ExitCode.usage;
    }
    return reportError(error, io);
  }
}
