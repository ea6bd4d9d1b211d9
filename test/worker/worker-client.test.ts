// The client and the worker's message loop joined by a MessageChannel, so every request and reply goes through
// structured cloning and transfer as between a page and a worker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

import { readFile } from 'node:fs/promises';

import { loadMnistTest } from '../../sdk/data/mnist.js';
import { QnnError } from '../../sdk/errors.js';
import { fineTune } from '../../sdk/finetune/fine-tune.js';
import { unpackNetwork } from '../../sdk/finetune/unpack-network.js';
import { decodeQnnNetwork } from '../../sdk/format/qnn-decode.js';
import { encodeQnn } from '../../sdk/format/qnn-encode.js';
import { TrainingWorkerClient, type WorkerLike } from '../../sdk/worker/client.js';
import type { BatchEvent, EpochEvent, TrainConfig, WorkerRequest } from '../../sdk/worker/protocol.js';
import { createWorkerHost } from '../../sdk/worker/worker-host.js';
import { syntheticTask } from './synthetic-task.js';

/** A client whose worker is a host on the other end of a MessageChannel in this thread. */
function connectedClient(): { client: TrainingWorkerClient; hostPort: MessagePort } {
  const { port1, port2 } = new MessageChannel();
  const handle = createWorkerHost({ postMessage: (message, transfer) => port2.postMessage(message, transfer as never) });
  port2.addEventListener('message', (event) => void handle((event as unknown as { data: WorkerRequest }).data));

  const worker = {
    postMessage: (message: WorkerRequest, transfer?: Transferable[]) => port1.postMessage(message, transfer as never),
    addEventListener: (type: string, listener: (event: unknown) => void) => port1.addEventListener(type, listener as never),
    terminate: () => {
      port1.close();
      port2.close();
    },
  } as WorkerLike;
  return { client: new TrainingWorkerClient(worker), hostPort: port2 };
}

function trainConfig(): TrainConfig {
  const train = syntheticTask(180, 11);
  return {
    model: { kind: 'mlp', hidden: [24] },
    classes: 3,
    epochs: 2,
    batchSize: 60,
    optimizer: 'adam',
    learningRate: 0.01,
    seed: 9,
    train: { inputs: train.pixels, labels: train.labels, features: train.features },
  };
}

test('client trains then predicts', async () => {
  const { client } = connectedClient();
  const progress: string[] = [];
  const events: string[] = [];
  client.addEventListener('batch', (event) => events.push(`batch ${(event as CustomEvent<BatchEvent>).detail.batch}`));
  client.addEventListener('epoch', (event) => events.push(`epoch ${(event as CustomEvent<EpochEvent>).detail.epoch}`));

  const { qnn, report } = await client.train(trainConfig(), { onProgress: (event) => progress.push(`${event.type} ${event.type === 'batch' ? event.batch : event.epoch}`) });

  const expected = ['batch 0', 'batch 1', 'batch 2', 'epoch 0', 'batch 0', 'batch 1', 'batch 2', 'epoch 1'];
  assert.deepEqual(progress, expected);
  assert.deepEqual(events, expected);
  assert.equal(report.epochs.length, 2);
  assert.ok(qnn.length > 0, 'qnn is not empty');
  assert.ok(new TextDecoder().decode(qnn.subarray(0, 4)).startsWith('QNN'), 'qnn starts with the format magic');

  // The last trained model and the same model sent as bytes give the same scores.
  const samples = syntheticTask(30, 12);
  const fromLast = await client.predict(samples.pixels.slice());
  const fromBytes = await client.predict(samples.pixels.slice(), qnn.slice());
  assert.deepEqual(Array.from(fromBytes.scores), Array.from(fromLast.scores));
  assert.equal(fromLast.classes.length, 30);
  const correct = fromLast.classes.filter((label, i) => label === samples.labels[i]).length;
  assert.ok(correct / 30 >= report.packedTrainAccuracy - 0.2, `${correct}/30 correct after ${report.packedTrainAccuracy} on the training set`);
  client.terminate();
});

test('failed request keeps client usable', async () => {
  const { client } = connectedClient();

  await assert.rejects(client.predict(new Uint8Array(48)), (error: Error) => error instanceof QnnError && error.message.includes('no model yet'));
  const bad = trainConfig();
  bad.epochs = 0;
  await assert.rejects(client.train(bad), /QnnError in the training worker: train config: epochs must be a positive integer, got 0/);

  const { report } = await client.train(trainConfig());
  assert.equal(report.architecture, '48-24-3');
  client.terminate();
});

test('transfer option detaches the data', async () => {
  const { client } = connectedClient();
  const copied = trainConfig();
  await client.train(copied);
  assert.equal(copied.train.inputs.length, 180 * 48);

  const moved = trainConfig();
  const training = client.train(moved, { transfer: true });
  assert.equal(moved.train.inputs.length, 0, 'the inputs were detached');
  await training;
  client.terminate();
});

test('terminate rejects pending requests', async () => {
  const { client } = connectedClient();
  const training = client.train(trainConfig());
  client.terminate();

  await assert.rejects(training, /terminated/);
  await assert.rejects(client.predict(new Uint8Array(48)), /terminated/);
});

test('host reports unknown message types', async () => {
  const sent: unknown[] = [];
  const handle = createWorkerHost({ postMessage: (message) => sent.push(message) });

  await handle({ type: 'fit', id: 7 } as unknown as WorkerRequest);
  assert.equal(sent.length, 1);
  const [message] = sent as { type: string; id: number; name: string; message: string }[];
  assert.equal(message.type, 'error');
  assert.equal(message.id, 7);
  assert.equal(message.name, 'QnnError');
  assert.match(message.message, /unknown type 'fit'/);
});

test('fine-tune request matches fineTune', async () => {
  const modelBytes = new Uint8Array(await readFile(new URL('../../../pretrained/mnist-bnn.qnn', import.meta.url)));
  const digits = await loadMnistTest({ testLimit: 8 });
  const images = digits.images.slice(0, 6 * 784);
  const labels = Int32Array.from(digits.labels.subarray(0, 6), (label) => (label + 1) % 10);
  const replay = { images: digits.images.slice(6 * 784), labels: Int32Array.from(digits.labels.subarray(6, 8)) };
  const { client } = connectedClient();

  const tuned = await client.fineTune({ qnn: modelBytes, images, labels, replay, epochs: 2, seed: 4, repeats: 2 });

  // The same call on this thread is the oracle: the worker adds transport, not arithmetic.
  const direct = fineTune(unpackNetwork(decodeQnnNetwork(modelBytes)), images, labels, { epochs: 2, seed: 4, replay, repeats: 2 });
  assert.deepEqual(tuned.qnn, encodeQnn(direct.network));
  assert.notDeepEqual(tuned.qnn, modelBytes);
  assert.ok(tuned.seconds > 0, `seconds ${tuned.seconds}`);
  client.terminate();
});
