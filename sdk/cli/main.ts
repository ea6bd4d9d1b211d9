#!/usr/bin/env node
import { QnnError } from '../errors.js';
import { evalCommand, EVAL_HELP } from './eval-command.js';
import { exportCommand, EXPORT_HELP } from './export-command.js';
import { importCommand, IMPORT_HELP } from './import-command.js';
import { infoCommand, INFO_HELP } from './info-command.js';
import { trainCommand, TRAIN_HELP } from './train-command.js';

const USAGE = `usage: qnn <command> [options]

Commands:
  train   train a binarized network, compile it to packed bits and run it
  eval    evaluate a saved .qnn model
  export  export a .qnn model to ONNX or QONNX
  import  import an ONNX or QONNX model into a .qnn file
  info    print a .qnn model's layers, bit widths, memory, MACs and energy estimate (or a checkpoint's position)

Run 'qnn <command> --help' for the options of a command.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'train':
      await trainCommand(rest);
      return 0;
    case 'eval':
      await evalCommand(rest);
      return 0;
    case 'info':
      await infoCommand(rest);
      return 0;
    case 'export':
      await exportCommand(rest);
      return 0;
    case 'import':
      await importCommand(rest);
      return 0;
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n${TRAIN_HELP}\n${EVAL_HELP}\n${INFO_HELP}\n${EXPORT_HELP}\n${IMPORT_HELP}`);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`qnn: unknown command '${command}'\n\n${USAGE}`);
      return 1;
  }
}

const argv = process.argv.slice(2);

/** Commands with their own --help text. */
const HELP_COMMANDS = ['train', 'eval', 'info', 'export', 'import'];

main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Expected failures (bad input, bad files, bad options) print one line; anything else is a bug and keeps its stack.
    if (error instanceof QnnError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      // Node's argument-parser messages run over several lines, so they are joined into one.
      const isParseError = error instanceof TypeError;
      const isLanguageModel = argv[0] === 'train' && argv[argv.indexOf('--task') + 1] === 'lm';
      const helpCommand = isLanguageModel ? 'train --task lm' : argv[0];
      const hint = isParseError && HELP_COMMANDS.includes(argv[0]) ? `; see qnn ${helpCommand} --help` : '';
      // Commands with a FILE argument get Node's advice on positionals that start with '-', which misleads after a typo.
      const message = error.message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '');
      process.stderr.write(`qnn: ${message.replace(/\s*\n\s*/g, ' ')}${hint}\n`);
    } else {
      process.stderr.write(`qnn: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
