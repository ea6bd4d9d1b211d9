/* global document, requestAnimationFrame, setTimeout, Blob */
// Fine-tune demo: the training worker unpacks the packed MNIST model into
// latent weights (unpackNetwork) and fine-tunes it on labelled drawings plus
// MNIST replay (fineTune), so the page stays responsive; the page compares the
// packed predictions before and after.
import {
  ReferenceBackend,
  accuracyOf,
  centerDigit,
  createTrainingWorker,
  decodeQnnNetwork,
  encodeQnn,
  predictPacked,
} from '/dist/bundles/browser/qnn-sdk.js';

import { addDigit, fetchBytes, fetchMnistSplit } from '../mnist-data.js';

const MODEL_URL = '/pretrained/mnist-bnn.qnn';
const STROKE_WIDTH = 20;

const element = (id) => document.getElementById(id);
const status = element('status');
const backend = new ReferenceBackend();
// Fine-tuning runs in this worker (qnn-worker.js beside the bundle), off the main thread.
const worker = createTrainingWorker();

/** Labelled drawings, each 784 bytes centered like MNIST. */
const drawings = [];
let pretrained = null;
let tuned = null;

function setStatus(text, isError = false) {
  status.textContent = text;
  status.classList.toggle('error', isError);
}

function percent(value) {
  return `${(value * 100).toFixed(1)}%`;
}

/** Lets the browser paint before a long synchronous step. */
function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

function setUpPad() {
  const pad = element('pad');
  const context = pad.getContext('2d');
  const clear = () => {
    context.fillStyle = 'white';
    context.fillRect(0, 0, pad.width, pad.height);
  };
  clear();
  context.lineCap = 'round';
  context.lineJoin = 'round';
  context.lineWidth = STROKE_WIDTH;
  context.strokeStyle = 'black';

  let drawing = false;
  const point = (event) => {
    const box = pad.getBoundingClientRect();
    return [((event.clientX - box.left) * pad.width) / box.width, ((event.clientY - box.top) * pad.height) / box.height];
  };
  pad.addEventListener('pointerdown', (event) => {
    drawing = true;
    pad.setPointerCapture(event.pointerId);
    const [x, y] = point(event);
    context.beginPath();
    context.moveTo(x, y);
    context.lineTo(x, y);
    context.stroke();
  });
  pad.addEventListener('pointermove', (event) => {
    if (!drawing) return;
    const [x, y] = point(event);
    context.lineTo(x, y);
    context.stroke();
  });
  const stop = () => (drawing = false);
  pad.addEventListener('pointerup', stop);
  pad.addEventListener('pointercancel', stop);
  element('clear').addEventListener('click', clear);

  /** Ink per canvas pixel, 0..255: the darkness of the red channel (strokes are black on white). */
  return {
    ink() {
      const { data } = context.getImageData(0, 0, pad.width, pad.height);
      const ink = new Uint8Array(pad.width * pad.height);
      for (let i = 0; i < ink.length; i++) ink[i] = 255 - data[i * 4];
      return ink;
    },
    clear,
  };
}

function drawingSet() {
  const images = new Uint8Array(drawings.length * 784);
  drawings.forEach((drawing, i) => images.set(drawing.pixels, i * 784));
  return { images, labels: Uint8Array.from(drawings, (drawing) => drawing.label) };
}

function renderDrawings() {
  const container = element('drawings');
  container.replaceChildren();
  for (const drawing of drawings) {
    const after = drawing.after === undefined ? '' : ` → ${drawing.after}`;
    const wrong = (drawing.after ?? drawing.before) !== drawing.label;
    addDigit(container, drawing.pixels, `${drawing.label}: ${drawing.before}${after}`, wrong);
  }
  element('drawing-count').textContent = String(drawings.length);
  element('finetune').disabled = drawings.length === 0;
}

async function main() {
  const [bytes, train, test] = await Promise.all([fetchBytes(MODEL_URL), fetchMnistSplit('train'), fetchMnistSplit('test')]);
  pretrained = decodeQnnNetwork(bytes, MODEL_URL);
  const mnistBefore = accuracyOf(predictPacked(pretrained, backend, test.images), test.labels);
  element('mnist-before').textContent = percent(mnistBefore);

  const pad = setUpPad();
  for (let label = 0; label < 10; label++) {
    const button = document.createElement('button');
    button.id = `label-${label}`;
    button.textContent = String(label);
    button.addEventListener('click', () => {
      let pixels;
      try {
        pixels = centerDigit(pad.ink(), element('pad').width, element('pad').height);
      } catch (error) {
        setStatus(error.message, true);
        return;
      }
      const before = predictPacked(pretrained, backend, pixels)[0];
      drawings.push({ pixels, label, before });
      pad.clear();
      renderDrawings();
      setStatus(`Added a ${label}; the pre-trained model reads it as ${before}. ${drawings.length} drawings so far.`);
    });
    element('labels').append(button);
  }

  element('finetune').addEventListener('click', async () => {
    const epochs = Number(element('epochs').value);
    const replayCount = Math.min(Number(element('replay').value), train.count);
    const { images, labels } = drawingSet();

    element('finetune').disabled = true;
    element('download').disabled = true;
    document.body.dataset.state = 'finetuning';
    setStatus(`Fine-tuning on ${drawings.length} drawings and ${replayCount} MNIST digits for ${epochs} epochs…`);
    await nextPaint();

    try {
      const started = performance.now();
      const before = accuracyOf(predictPacked(pretrained, backend, images), labels);
      // Each run starts again from the pre-trained model, so runs with more drawings compare fairly.
      const replay = { images: train.images.slice(0, replayCount * 784), labels: Uint8Array.from(train.labels.subarray(0, replayCount)) };
      // Each drawing counts as many times as it takes to weigh about a third of the replay set.
      const repeats = Math.max(1, Math.round(replayCount / 3 / drawings.length));
      const { qnn } = await worker.fineTune({ qnn: encodeQnn(pretrained), images, labels, replay, epochs, seed: 1, repeats, learningRate: 3e-3 });
      tuned = decodeQnnNetwork(qnn, 'fine-tuned model');

      const afterClasses = predictPacked(tuned, backend, images);
      const after = accuracyOf(afterClasses, labels);
      const mnistAfter = accuracyOf(predictPacked(tuned, backend, test.images), test.labels);
      drawings.forEach((drawing, i) => (drawing.after = afterClasses[i]));
      renderDrawings();

      element('before-accuracy').textContent = percent(before);
      element('after-accuracy').textContent = percent(after);
      element('mnist-after').textContent = percent(mnistAfter);
      const seconds = (performance.now() - started) / 1000;
      setStatus(
        `Fine-tuned in ${seconds.toFixed(1)} s. Your drawings: ${percent(before)} before, ${percent(after)} after. ` +
          `MNIST test digits (${test.count}): ${percent(mnistBefore)} before, ${percent(mnistAfter)} after.`,
      );
      element('download').disabled = false;
      document.body.dataset.state = 'done';
    } catch (error) {
      setStatus(`Fine-tuning failed: ${error.message}`, true);
      document.body.dataset.state = 'error';
    } finally {
      element('finetune').disabled = drawings.length === 0;
    }
  });

  element('download').addEventListener('click', () => {
    if (tuned === null) return;
    const url = URL.createObjectURL(new Blob([encodeQnn(tuned)], { type: 'application/octet-stream' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'mnist-bnn-finetuned.qnn';
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });

  setStatus(`Model loaded: ${pretrained.layers.map((layer) => layer.units).join('-')} units, ${percent(mnistBefore)} on ${test.count} MNIST test digits. Draw a digit.`);
  document.body.dataset.state = 'ready';
}

main().catch((error) => {
  setStatus(`The demo failed to start: ${error.message}`, true);
  document.body.dataset.state = 'error';
});
