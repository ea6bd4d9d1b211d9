import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { QnnError } from '../errors.js';
import { decodeQnnNetwork } from '../format/qnn-decode.js';
import { formatStats } from '../inspect/format-stats.js';
import { packedStats } from '../inspect/packed-stats.js';
import { loadModelFile } from '../io/model-io.js';
import { decodeCheckpoint } from '../training/checkpoint.js';
import { CHECKPOINT_MAGIC } from '../training/checkpoint-format.js';

export const INFO_HELP = `qnn info FILE [--json]

Prints what a packed .qnn model stores and computes, layer by layer: output
shape, stored values by bit width, memory as float32 and packed, 1-bit, k-bit
and 32-bit multiply-accumulates per sample and an energy estimate from the
45 nm table of Horowitz (ISSCC 2014), with a totals row. Given a training
checkpoint (from qnn train --checkpoint), it prints the training position,
the optimizer and the layers instead. FILE may also be an http(s) URL.

Options:
  --json    print the statistics as one JSON object on stdout
`;

export async function infoCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(INFO_HELP);
    return;
  }
  if (positionals.length !== 1) throw new QnnError(`qnn info takes one model file, got ${positionals.length}; see qnn info --help`);

  const source = /^https?:\/\//i.test(positionals[0]) ? positionals[0] : resolve(positionals[0]);
  const bytes = await loadModelFile(source);
  const text = isCheckpoint(bytes) ? checkpointInfo(bytes, source, values.json) : modelInfo(bytes, source, values.json);
  process.stdout.write(text);
}

function isCheckpoint(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && [...CHECKPOINT_MAGIC].every((char, i) => bytes[i] === char.charCodeAt(0));
}

function modelInfo(bytes: Uint8Array, source: string, json: boolean): string {
  const network = decodeQnnNetwork(bytes, source);
  const stats = packedStats(network, fileLabel(source));
  if (json) return `${JSON.stringify({ file: source, bytes: bytes.length, inputShape: network.inputShape, ...stats })}\n`;
  return `${source}: .qnn model, ${bytes.length} bytes, input shape [${network.inputShape.join(', ')}]\n${formatStats(stats)}`;
}

function checkpointInfo(bytes: Uint8Array, source: string, json: boolean): string {
  const checkpoint = decodeCheckpoint(bytes, source);
  const values = checkpoint.parameters.reduce((n, p) => n + p.length, 0);
  const position = checkpoint.position === null ? null : { ...checkpoint.position, order: undefined };
  const optimizer = checkpoint.optimizer === null ? null : { kind: checkpoint.optimizer.kind, step: checkpoint.optimizer.step, learningRate: checkpoint.optimizer.learningRate, settings: checkpoint.optimizer.settings };
  if (json) return `${JSON.stringify({ file: source, bytes: bytes.length, kind: 'checkpoint', parameterValues: values, layers: checkpoint.layers, optimizer, position })}\n`;

  const lines = [`${source}: training checkpoint, ${bytes.length} bytes, ${values} parameter values`];
  if (position !== null) lines.push(`next batch: epoch ${position.epoch + 1}, batch ${position.batch + 1} (batch size ${position.batchSize}, ${position.sampleCount} samples, seed ${position.seed})`);
  if (optimizer !== null) lines.push(`optimizer: ${optimizer.kind}, step ${optimizer.step}, learning rate ${optimizer.learningRate}`);
  for (const [i, layer] of checkpoint.layers.entries()) {
    const parameters = layer.parameters.map((p) => `${p.name} [${p.shape.join(', ')}]`).join(', ');
    lines.push(`  ${i}  ${layer.type.padEnd(16)} ${layer.name.padEnd(20)} ${parameters}`);
  }
  return `${lines.join('\n')}\n`;
}

function fileLabel(source: string): string {
  return source.slice(Math.max(source.lastIndexOf('/'), source.lastIndexOf('\\')) + 1);
}
