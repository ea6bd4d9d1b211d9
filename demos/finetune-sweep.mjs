// Compares fine-tuning settings on the drawings of the fine-tune demo test,
// rasterized here without a browser: accuracy on the drawings and on the
// first 200 MNIST test digits after each run. Needs `npm run build` first.
// Usage: node demos/finetune-sweep.mjs
import { ReferenceBackend } from '../dist/sdk/backends/reference-backend.js';
import { loadMnist } from '../dist/sdk/data/mnist.js';
import { centerDigit } from '../dist/sdk/finetune/center-digit.js';
import { accuracyOf, fineTune, predictPacked } from '../dist/sdk/finetune/fine-tune.js';
import { unpackNetwork } from '../dist/sdk/finetune/unpack-network.js';
import { loadQnnNetwork } from '../dist/sdk/format/qnn-file.js';

const SIZE = 280;
const STROKE_RADIUS = 10;

/** Draws strokes (polylines in 280x280 canvas pixels) as round-capped lines 20 pixels wide. */
function rasterize(strokes) {
  const ink = new Uint8Array(SIZE * SIZE);
  for (const stroke of strokes) {
    for (let k = 0; k + 1 < stroke.length; k++) {
      const [x0, y0] = stroke[k];
      const [x1, y1] = stroke[k + 1];
      const dx = x1 - x0;
      const dy = y1 - y0;
      const length2 = dx * dx + dy * dy;
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / length2));
          const ex = x0 + t * dx - x;
          const ey = y0 + t * dy - y;
          if (ex * ex + ey * ey <= STROKE_RADIUS * STROKE_RADIUS) ink[y * SIZE + x] = 255;
        }
      }
    }
  }
  return ink;
}

function ellipse(cx, cy, rx, ry) {
  return Array.from({ length: 25 }, (_v, i) => [cx + rx * Math.sin((i / 24) * 2 * Math.PI), cy - ry * Math.cos((i / 24) * 2 * Math.PI)]);
}

// The same strokes as DRAWINGS in test/demos/demo-pages.test.ts.
const DRAWINGS = [
  { label: 1, strokes: [[[80, 110], [170, 40], [170, 240]]] },
  { label: 1, strokes: [[[90, 100], [160, 45], [150, 235]]] },
  { label: 0, strokes: [[[80, 40], [200, 40], [200, 240], [80, 240], [80, 40]], [[200, 40], [80, 240]]] },
  { label: 0, strokes: [ellipse(140, 140, 65, 95), [[195, 60], [85, 220]]] },
  { label: 1, strokes: [[[140, 40], [140, 240]]] },
  { label: 7, strokes: [[[70, 50], [210, 50], [120, 240]]] },
];

const SETTINGS = [
  { learningRate: 1e-3, epochs: 2, trainFrom: 1 },
  { learningRate: 3e-3, epochs: 2, trainFrom: 1 },
  { learningRate: 1e-3, epochs: 4, trainFrom: 1 },
  { learningRate: 3e-3, epochs: 3, trainFrom: 2 },
];

const network = await loadQnnNetwork(new URL('../pretrained/mnist-bnn.qnn', import.meta.url).pathname);
const backend = new ReferenceBackend();
const mnist = await loadMnist({ trainLimit: 100, testLimit: 200 });
const images = new Uint8Array(DRAWINGS.length * 784);
DRAWINGS.forEach((drawing, i) => images.set(centerDigit(rasterize(drawing.strokes), SIZE, SIZE), i * 784));
const labels = Uint8Array.from(DRAWINGS, (drawing) => drawing.label);
const replay = { images: mnist.train.images, labels: mnist.train.labels };

const report = (name, model) =>
  console.log(
    `${name}: drawings read as [${predictPacked(model, backend, images).join(', ')}], ` +
      `drawings ${(accuracyOf(predictPacked(model, backend, images), labels) * 100).toFixed(1)}%, ` +
      `MNIST ${(accuracyOf(predictPacked(model, backend, mnist.test.images), mnist.test.labels) * 100).toFixed(1)}%`,
  );
report('pre-trained', network);
for (const setting of SETTINGS) {
  // Repeats as the demo page sets them: the drawings weigh about a third of the replay set.
  const repeats = Math.max(1, Math.round(replay.labels.length / 3 / DRAWINGS.length));
  const { network: tuned } = fineTune(unpackNetwork(network), images, labels, { ...setting, seed: 1, replay, repeats });
  report(`lr ${setting.learningRate}, ${setting.epochs} epochs, trainFrom ${setting.trainFrom}`, tuned);
}
