import { parseArgs } from 'node:util';

import { QnnError } from '../errors.js';
import { loadModelFile, saveQnnTo } from '../io/model-io.js';
import { importOnnx } from '../onnx/import-onnx.js';

export const IMPORT_HELP = `qnn import IN.onnx -o FILE.qnn

Imports an ONNX or QONNX model with binary weights and activations (as
Brevitas exports them, or as 'qnn export' writes them) into a packed .qnn file.
Unsupported operators or patterns are reported with the node that uses them.

Options:
  -o, --output F  output .qnn file, written atomically (temporary file, then rename)
`;

export async function importCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(IMPORT_HELP);
    return;
  }
  if (positionals.length !== 1) throw new QnnError(`qnn import takes one ONNX file, got ${positionals.length}; see qnn import --help`);
  if (values.output === undefined) throw new QnnError('missing -o FILE.qnn: the file to write the packed model to');

  const source = positionals[0];
  const network = importOnnx(await loadModelFile(source), { source });
  await saveQnnTo(network, values.output);
  const kinds = network.layers.map((layer) => layer.kind).join(', ');
  process.stdout.write(`${values.output}: ${network.layers.length} packed layers (${kinds}), input shape [${network.inputShape.join(', ')}]\n`);
}
