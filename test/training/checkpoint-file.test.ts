// Checkpoint files: atomic saves that survive a failed write, and decoding that treats the file as untrusted.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { FileFormatError, QnnError, ShapeError } from '../../sdk/errors.js';
import { crc32 } from '../../sdk/format/crc32.js';
import { type SyncFileOps, defaultSyncFileOps, writeFileAtomicSync } from '../../sdk/io/sync-file.js';
import { BatchNorm } from '../../sdk/layers/batch-norm.js';
import { Dense, QuantDense } from '../../sdk/layers/dense.js';
import { Sequential } from '../../sdk/layers/sequential.js';
import { Adam } from '../../sdk/optimizers/adam.js';
import { ShiftAdaMax } from '../../sdk/optimizers/shift-adamax.js';
import { captureCheckpoint, decodeCheckpoint, encodeCheckpoint, restoreCheckpoint } from '../../sdk/training/checkpoint.js';
import { fit } from '../../sdk/training/fit.js';

const folder = mkdtempSync(join(tmpdir(), 'qnn-ckpt-file-'));
after(() => rmSync(folder, { recursive: true, force: true }));

function smallModel(hidden = 6): Sequential {
  return new Sequential([new QuantDense(hidden, { inputQuantizer: null }), new BatchNorm(), new Dense(2)]).build([4], 5);
}

function trainedCheckpointBytes(): Uint8Array {
  const model = smallModel();
  const inputs = Float32Array.from({ length: 40 }, (_v, i) => ((i * 37) % 11) / 11);
  const labels = Int32Array.from({ length: 10 }, (_v, i) => i % 2);
  let bytes: Uint8Array | null = null;
  fit(model, inputs, labels, { epochs: 1, batchSize: 4, optimizer: new Adam(), loss: 'softmax_cross_entropy', seed: 1, checkpoint: { write: (b) => (bytes = b), everyBatches: 2 } });
  return bytes!;
}

/** Rebuilds a checkpoint with an edited JSON header and a correct CRC, as a hostile writer could. */
function withHeader(bytes: Uint8Array, edit: (header: Record<string, unknown>) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength))) as Record<string, unknown>;
  const payload = bytes.subarray((16 + headerLength + 3) & ~3, bytes.length - 4);
  edit(header);

  const json = new TextEncoder().encode(JSON.stringify(header));
  const payloadStart = (16 + json.length + 3) & ~3;
  const out = new Uint8Array(payloadStart + payload.length + 4);
  out.set(bytes.subarray(0, 12));
  new DataView(out.buffer).setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(payload, payloadStart);
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

describe('atomic checkpoint saves', () => {
  test('half-written save keeps old file', () => {
    const path = join(folder, 'crash.ckpt');
    const previous = Uint8Array.from([1, 2, 3, 4, 5]);
    writeFileAtomicSync(path, previous);

    const real = defaultSyncFileOps();
    const failing: SyncFileOps = {
      ...real,
      writeNewFile(tempPath, bytes) {
        // Half the bytes reach the disk before the simulated failure (a full disk, a killed process).
        real.writeNewFile(tempPath, bytes.subarray(0, bytes.length >> 1));
        throw new Error('ENOSPC: simulated full disk');
      },
    };
    assert.throws(() => writeFileAtomicSync(path, new Uint8Array(1000).fill(9), failing), /simulated full disk/);

    assert.deepEqual(new Uint8Array(readFileSync(path)), previous);
    assert.deepEqual(readdirSync(folder).filter((name) => name.includes('crash')), ['crash.ckpt']);
  });

  test('failed rename keeps old file', () => {
    const path = join(folder, 'rename.ckpt');
    writeFileAtomicSync(path, Uint8Array.from([7]));
    const real = defaultSyncFileOps();
    const failing: SyncFileOps = { ...real, rename: () => { throw new Error('EXDEV: simulated rename failure'); } };

    assert.throws(() => writeFileAtomicSync(path, Uint8Array.from([8, 8]), failing), /simulated rename failure/);
    assert.deepEqual(new Uint8Array(readFileSync(path)), Uint8Array.from([7]));
    assert.deepEqual(readdirSync(folder).filter((name) => name.includes('rename')), ['rename.ckpt']);
  });

  test('save replaces the file', () => {
    const path = join(folder, 'replace.ckpt');
    writeFileAtomicSync(path, Uint8Array.from([1]));
    writeFileAtomicSync(path, Uint8Array.from([2, 3]));
    assert.deepEqual(new Uint8Array(readFileSync(path)), Uint8Array.from([2, 3]));
  });
});

describe('checkpoint decoding', () => {
  const bytes = trainedCheckpointBytes();

  test('encode-decode round trip', () => {
    const decoded = decodeCheckpoint(bytes);
    assert.deepEqual(encodeCheckpoint(decoded), bytes);
    assert.equal(decoded.position!.epoch, 0);
    assert.equal(decoded.position!.batch, 2);
    assert.equal(decoded.optimizer!.kind, 'adam');
    assert.equal(decoded.optimizer!.step, 2);
    assert.deepEqual(decoded.layers.map((l) => l.type), ['QuantDense', 'BatchNorm', 'Dense']);
    assert.deepEqual(decoded.layers[0].parameters, [{ name: 'kernel', shape: [4, 6] }]);
  });

  test('truncated file fails CRC', () => {
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 9), 'run.ckpt'), (error: unknown) => error instanceof FileFormatError && /run\.ckpt: CRC-32 mismatch/.test(error.message));
  });

  test('foreign file rejected by magic', () => {
    assert.throws(() => decodeCheckpoint(new TextEncoder().encode('{"not": "a checkpoint"} plus padding'), 'x.json'), /not a QNN checkpoint/);
  });

  test('header length beyond file', () => {
    const edited = bytes.slice();
    new DataView(edited.buffer).setUint32(12, 0x7fffffff, true);
    assert.throws(() => decodeCheckpoint(edited, 'big.ckpt'), /header length 2147483647 does not fit/);
  });

  test('array beyond payload rejected before allocation', () => {
    const edited = withHeader(bytes, (header) => {
      const arrays = header.arrays as { length: number }[];
      const layers = header.layers as { parameters: { array: number; shape: number[] }[] }[];
      const index = layers[0].parameters[0].array;
      arrays[index].length = 2 ** 40;
      layers[0].parameters[0].shape = [2 ** 20, 2 ** 20];
    });
    assert.throws(() => decodeCheckpoint(edited, 'hostile.ckpt'), (error: unknown) => error instanceof FileFormatError && /layers\[0\]\.parameters\[0\] \(array \d+\) needs bytes/.test(error.message));
  });

  test('shape disagreeing with array length', () => {
    const edited = withHeader(bytes, (header) => {
      (header.layers as { parameters: { shape: number[] }[] }[])[0].parameters[0].shape = [4, 7];
    });
    assert.throws(() => decodeCheckpoint(edited, 'shape.ckpt'), /has 24 elements, expected 28/);
  });

  test('order that is no permutation', () => {
    const edited = withHeader(bytes, (header) => {
      const arrays = header.arrays as { offset: number }[];
      const position = header.position as { order: number };
      // Pointing the order at the first kernel values gives int32 bit patterns of floats, far outside 0..9.
      arrays[position.order].offset = arrays[0].offset;
    });
    assert.throws(() => decodeCheckpoint(edited, 'order.ckpt'), /position\.order\[0\] is -?\d+; the order must list each sample index from 0 to 9 once/);
  });

  test('non-numeric optimizer step', () => {
    const edited = withHeader(bytes, (header) => {
      (header.optimizer as Record<string, unknown>).step = 'two';
    });
    assert.throws(() => decodeCheckpoint(edited, 'step.ckpt'), /optimizer\.step is "two", expected a non-negative integer/);
  });
});

describe('restoring into a model', () => {
  const bytes = trainedCheckpointBytes();

  test('other architecture names layer and shapes', () => {
    const other = smallModel(8);
    assert.throws(
      () => restoreCheckpoint(other, decodeCheckpoint(bytes), undefined, 'run.ckpt'),
      (error: unknown) => error instanceof ShapeError && /run\.ckpt: layer 0 \(.+\): kernel \[4, 8\] in the model, kernel \[4, 6\] in the checkpoint/.test(error.message),
    );
  });

  test('failed check writes nothing', () => {
    const other = new Sequential([new QuantDense(6, { inputQuantizer: null }), new BatchNorm(), new Dense(3)]).build([4], 5);
    const before = other.parameters().map((p) => (p.value.data as Float32Array).slice());
    assert.throws(() => restoreCheckpoint(other, decodeCheckpoint(bytes)), ShapeError);
    assert.deepEqual(other.parameters().map((p) => p.value.data), before);
  });

  test('other optimizer kind rejected', () => {
    const model = smallModel();
    assert.throws(() => restoreCheckpoint(model, decodeCheckpoint(bytes), new ShiftAdaMax()), (error: unknown) => error instanceof QnnError && /belongs to a 'adam' optimizer, not 'shift-adamax'/.test(error.message));
  });

  test('other optimizer settings rejected', () => {
    const model = smallModel();
    assert.throws(() => restoreCheckpoint(model, decodeCheckpoint(bytes), new Adam({ beta1: 0.8 })), /Adam\.setState: beta1 was 0\.9 when the state was saved, this optimizer has 0\.8/);
  });

  test('weights-only checkpoint cannot resume', () => {
    const model = smallModel();
    const weightsOnly = encodeCheckpoint(captureCheckpoint(model));
    const path = join(folder, 'weights.ckpt');
    writeFileSync(path, weightsOnly);
    assert.throws(
      () => fit(model, new Float32Array(8), [0, 1], { epochs: 1, batchSize: 2, optimizer: new Adam(), loss: 'softmax_cross_entropy', seed: 1, resumeFrom: path }),
      /contains weights but no training position/,
    );
    assert.ok(existsSync(path));
  });

  test('resume with other batch size', () => {
    const model = smallModel();
    const inputs = new Float32Array(40);
    const labels = new Int32Array(10);
    assert.throws(() => fit(model, inputs, labels, { epochs: 1, batchSize: 5, optimizer: new Adam(), loss: 'softmax_cross_entropy', seed: 1, resumeFrom: bytes }), /saved with batchSize 4, this call has 5/);
  });
});
