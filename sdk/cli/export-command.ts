import { parseArgs } from 'node:util';

import { QnnError } from '../errors.js';
import { loadQnnFrom, saveModelFile } from '../io/model-io.js';
import { type OnnxExportFormat, exportOnnx } from '../onnx/export-onnx.js';

export const EXPORT_HELP = `qnn export FILE.qnn --format onnx|qonnx -o OUT.onnx

Exports a packed .qnn model to ONNX. The graph takes float32 raw pixels 0..255
shaped [N, ...input shape] and returns float32 class scores [N, classes].

Options:
  --format NAME   onnx: standard operators (opset 13), runs in ONNX Runtime;
                  qonnx: BipolarQuant / Quant operators of qonnx.custom_op.general
  -o, --output F  output file, written atomically (temporary file, then rename)
`;

export async function exportCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(EXPORT_HELP);
    return;
  }
  if (positionals.length !== 1) throw new QnnError(`qnn export takes one .qnn file, got ${positionals.length}; see qnn export --help`);
  if (values.format !== 'onnx' && values.format !== 'qonnx') throw new QnnError(`--format must be 'onnx' or 'qonnx', got '${values.format ?? ''}'`);
  if (values.output === undefined) throw new QnnError('missing -o OUT: the file to write the ONNX model to');

  const format: OnnxExportFormat = values.format;
  const network = await loadQnnFrom(positionals[0]);
  const bytes = exportOnnx(network, { format });
  await saveModelFile(bytes, values.output);
  process.stdout.write(`${values.output}: ${format} model, ${network.layers.length} layers, ${bytes.length} bytes\n`);
}
