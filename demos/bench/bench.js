/* global document, FileReader, setTimeout */
// Benchmark demo: times WASM kernels of the browser bundle in this page and
// shows two `npm run bench -- --json` reports (Node, Deno) side by side.
import { createWasmBackend } from '/dist/bundles/browser/qnn-sdk.js';

const SHAPES = [
  { m: 256, n: 256, k: 1024 },
  { m: 256, n: 256, k: 4096 },
];
const RUNS = 7;

const element = (id) => document.getElementById(id);

function setStatus(text, isError = false) {
  element('status').textContent = text;
  element('status').classList.toggle('error', isError);
}

function randomWords(count) {
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = (Math.random() * 0x100000000) >>> 0;
  return words;
}

function randomFloats(count) {
  return Float32Array.from({ length: count }, () => Math.random() * 2 - 1);
}

/** Returns the median wall time in milliseconds of `runs` calls, after one warm-up call. */
function medianMs(run, runs) {
  run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)];
}

function addRow(table, cells) {
  const row = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    td.textContent = cell;
    row.append(td);
  }
  element(table).querySelector('tbody').append(row);
}

/** Lets the browser paint between measurements. */
function nextPaint() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function runBenchmark() {
  const requested = Number(element('threads').value);
  const single = await createWasmBackend({ threads: 1 });
  const threaded = await createWasmBackend({ threads: requested });
  element('results').querySelector('tbody').replaceChildren();

  try {
    for (const { m, n, k } of SHAPES) {
      const words = Math.ceil(k / 32);
      const a = randomWords(m * words);
      const b = randomWords(n * words);
      const operations = 2 * m * n * k;
      for (const [backend, label] of [[single, 'binaryGemm'], [threaded, 'binaryGemm']]) {
        setStatus(`Timing ${label} ${m} x ${n} x ${k} on ${backend.threads} thread(s)…`);
        await nextPaint();
        const ms = medianMs(() => backend.binaryGemm(a, b, m, n, k), RUNS);
        addRow('results', [label, `${m} x ${n} x ${k}`, String(backend.threads), ms.toFixed(3), (operations / ms / 1e6).toFixed(2)]);
      }

      setStatus(`Timing float32 matmul ${m} x ${n} x ${k}…`);
      await nextPaint();
      const x = randomFloats(m * k);
      const w = randomFloats(k * n);
      const ms = medianMs(() => single.matmul(x, w, m, k, n, false, false), RUNS);
      addRow('results', ['float32 matmul', `${m} x ${n} x ${k}`, '1', ms.toFixed(3), (operations / ms / 1e6).toFixed(2)]);
    }
    const isolation = globalThis.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated, so one thread only';
    setStatus(`Done: ${single.build} build; the threaded backend runs ${threaded.threads} thread(s) (page ${isolation}).`);
  } finally {
    threaded.dispose?.();
    single.dispose?.();
  }
}

/** Flattens a JSON report into dotted paths with numeric or string leaves. */
function flatten(value, prefix, out) {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix === '' ? key : `${prefix}.${key}`, out);
  } else {
    out.set(prefix, value);
  }
  return out;
}

const reports = { node: null, deno: null };

function renderComparison() {
  const node = reports.node ?? new Map();
  const deno = reports.deno ?? new Map();
  const keys = [...new Set([...node.keys(), ...deno.keys()])];
  element('compare').querySelector('tbody').replaceChildren();
  for (const key of keys) addRow('compare', [key, formatFigure(node.get(key)), formatFigure(deno.get(key))]);
}

/** Formats a report value: a dash when absent, numbers to 4 significant digits. */
function formatFigure(value) {
  if (value === undefined) return '–';
  if (typeof value === 'number') return String(Number(value.toPrecision(4)));
  return String(value);
}

function watchFile(inputId, runtime) {
  element(inputId).addEventListener('change', () => {
    const file = element(inputId).files[0];
    if (file === undefined) return;
    const reader = new FileReader();
    reader.onload = () => {
      try {
        reports[runtime] = flatten(JSON.parse(reader.result), '', new Map());
        renderComparison();
      } catch (error) {
        setStatus(`${file.name} is not a JSON report: ${error.message}`, true);
      }
    };
    reader.readAsText(file);
  });
}

watchFile('node-json', 'node');
watchFile('deno-json', 'deno');
element('run').addEventListener('click', async () => {
  element('run').disabled = true;
  document.body.dataset.state = 'running';
  try {
    await runBenchmark();
    document.body.dataset.state = 'done';
  } catch (error) {
    setStatus(`The benchmark failed: ${error.message}`, true);
    document.body.dataset.state = 'error';
  } finally {
    element('run').disabled = false;
  }
});
element('run').disabled = false;
setStatus('Ready. Press Run; it takes a few seconds.');
document.body.dataset.state = 'ready';
