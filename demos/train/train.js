/* global document, navigator, Option, Blob, setTimeout */
// Train demo: the page sends an MNIST subset to the training worker
// (dist/bundles/browser/qnn-worker.js), plots its 'batch' and 'epoch' events
// with uPlot, then has the worker run the packed model on a few test digits.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { createTrainingWorker } from '/dist/bundles/browser/qnn-sdk.js';

import { addDigit, fetchMnistSplit } from '../mnist-data.js';

const GRID_DIGITS = 16;
const BATCH_SIZE = 100;

const element = (id) => document.getElementById(id);
const status = element('status');

function setStatus(text, isError = false) {
  status.textContent = text;
  status.classList.toggle('error', isError);
}

function percent(value) {
  return `${(value * 100).toFixed(1)}%`;
}

/** Creates a uPlot chart over training steps (batches) with the given series. */
function makeChart(target, title, series) {
  const options = {
    title,
    width: 440,
    height: 240,
    scales: { x: { time: false } },
    axes: [{ label: 'batch' }, {}],
    series: [{ label: 'batch' }, ...series.map((s) => ({ spanGaps: true, width: 2, ...s }))],
  };
  const data = [[], ...series.map(() => [])];
  return { plot: new uPlot(options, data, target), data };
}

function resetChart(chart) {
  chart.data.forEach((column) => (column.length = 0));
  chart.plot.setData(chart.data);
}

function pushPoint(chart, values) {
  values.forEach((value, i) => chart.data[i].push(value));
  chart.plot.setData(chart.data);
}

async function main() {
  if (!('gpu' in navigator)) {
    element('webgpu-option').disabled = true;
    element('webgpu-option').textContent = 'WebGPU (not available in this browser)';
  }

  const [train, test] = await Promise.all([fetchMnistSplit('train'), fetchMnistSplit('test')]);
  for (const count of [500, 1000, 2000, 5000, 10000, 60000].filter((n) => n <= train.count)) {
    element('samples').add(new Option(String(count), String(count), count === 1000, count === 1000));
  }
  if (element('samples').options.length === 0) element('samples').add(new Option(String(train.count), String(train.count)));
  setStatus(`Ready: ${train.count} training and ${test.count} test digits loaded. Press Train.`);

  const lossChart = makeChart(element('loss-chart'), 'Training loss', [{ label: 'loss', stroke: '#1558b0' }]);
  const accuracyChart = makeChart(element('accuracy-chart'), 'Accuracy', [
    { label: 'batch accuracy', stroke: '#1558b0' },
    { label: 'test accuracy', stroke: '#c2410c', points: { show: true, size: 7 } },
  ]);

  const worker = createTrainingWorker({ workerUrl: '/dist/bundles/browser/qnn-worker.js' });
  let qnn = null;

  element('train').disabled = false;
  document.body.dataset.state = 'ready';

  element('train').addEventListener('click', async () => {
    const hidden = element('model').value.split(',').map(Number);
    const epochs = Number(element('epochs').value);
    const count = Number(element('samples').value);
    const backend = element('backend').value;

    element('train').disabled = true;
    element('download').disabled = true;
    element('digits').replaceChildren();
    for (const id of ['epoch', 'batch', 'loss', 'train-accuracy', 'test-accuracy', 'packed-accuracy', 'backend-used', 'seconds']) element(id).textContent = '–';
    resetChart(lossChart);
    resetChart(accuracyChart);
    document.body.dataset.state = 'training';
    setStatus(`Training 784-${hidden.join('-')}-10 on ${count} digits for ${epochs} epochs (${backend})…`);

    let step = 0;
    const onProgress = (event) => {
      if (event.type === 'batch') {
        step++;
        element('epoch').textContent = `${event.epoch + 1} / ${epochs}`;
        element('batch').textContent = `${event.batch + 1} / ${event.batches}`;
        element('loss').textContent = event.loss.toFixed(4);
        element('train-accuracy').textContent = percent(event.accuracy);
        element('seconds').textContent = event.seconds.toFixed(1);
        pushPoint(lossChart, [step, event.loss]);
        pushPoint(accuracyChart, [step, event.accuracy, null]);
        return;
      }
      if (event.testAccuracy !== undefined) {
        element('test-accuracy').textContent = percent(event.testAccuracy);
        // The epoch's test accuracy sits on the epoch's last batch.
        accuracyChart.data[2][accuracyChart.data[2].length - 1] = event.testAccuracy;
        accuracyChart.plot.setData(accuracyChart.data);
      }
    };

    try {
      const result = await worker.train(
        {
          model: { kind: 'mlp', hidden },
          classes: 10,
          epochs,
          batchSize: BATCH_SIZE,
          optimizer: 'adam',
          learningRate: 0.003,
          finalLearningRate: 0.0003,
          backend,
          seed: 1,
          train: { inputs: train.images.slice(0, count * 784), labels: train.labels.slice(0, count), features: 784 },
          test: { inputs: test.images.slice(), labels: test.labels.slice(), features: 784 },
          batchEventEvery: 1,
        },
        { onProgress },
      );
      qnn = result.qnn;
      const report = result.report;
      element('packed-accuracy').textContent = percent(report.packedTestAccuracy);
      element('test-accuracy').textContent = percent(report.testAccuracy);
      element('backend-used').textContent = report.backend;
      element('seconds').textContent = report.seconds.toFixed(1);

      const samples = test.images.slice(0, GRID_DIGITS * 784);
      const prediction = await worker.predict(samples);
      for (let i = 0; i < GRID_DIGITS; i++) {
        const predicted = prediction.classes[i];
        const label = test.labels[i];
        addDigit(element('digits'), samples.subarray(i * 784, (i + 1) * 784), `${predicted} (label ${label})`, predicted !== label);
      }

      setStatus(
        `Done in ${report.seconds.toFixed(1)} s: ${report.architecture} on ${report.backend}, packed test accuracy ${percent(report.packedTestAccuracy)} ` +
          `on ${test.count} digits; float and packed models agree on ${percent(report.packedAgreement)} of them. The .qnn file is ${qnn.length} bytes.`,
      );
      element('download').disabled = false;
      document.body.dataset.state = 'done';
    } catch (error) {
      setStatus(`Training failed: ${error.message}`, true);
      document.body.dataset.state = 'error';
    } finally {
      element('train').disabled = false;
    }
  });

  element('download').addEventListener('click', () => {
    if (qnn === null) return;
    const url = URL.createObjectURL(new Blob([qnn], { type: 'application/octet-stream' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `mnist-mlp-${element('model').value.replace(/,/g, '-')}.qnn`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
}

main().catch((error) => {
  setStatus(`The demo failed to start: ${error.message}`, true);
  document.body.dataset.state = 'error';
});
