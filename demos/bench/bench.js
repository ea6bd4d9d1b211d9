/* global document, FileReader, location, navigator, setTimeout, URLSearchParams */
// Benchmark demo: times WASM kernels of the browser bundle in this page, with
// TensorFlow.js (wasm, and webgpu where the page has navigator.gpu) and the
// SDK's WebGPU binary GEMM beside them, and shows two `npm run bench -- --json`
// reports (Node, Deno) side by side. `?quick` in the URL runs one small shape
// (the Playwright test uses it).
import { WebGpuBackend, acquireDevice, createWasmBackend, encodeBinaryGemm } from '/dist/bundles/browser/qnn-sdk.js';

const QUICK = new URLSearchParams(location.search).has('quick');
const SHAPES = QUICK
  ? [{ m: 64, n: 64, k: 512 }]
  : [
      { m: 256, n: 256, k: 1024 },
      { m: 256, n: 256, k: 4096 },
    ];
const RUNS = QUICK ? 3 : 7;

/** GPU dispatches per timed run, so one 4-byte readback's latency is spread over several GEMMs. */
const GPU_REPEATS = 4;

/** The TensorFlow.js namespace that the UMD scripts of index.html define, with tf.wasm and the registered webgpu backend. */
const tf = globalThis.tf;

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

/** Random packed signs [rows, ceil(k/32)] with the pad bits of each row's last word cleared, as the kernels require. */
function randomSigns(rows, k) {
  const words = Math.ceil(k / 32);
  const packed = randomWords(rows * words);
  const padMask = k % 32 === 0 ? 0xffffffff : (1 << k % 32) - 1;
  for (let row = 0; row < rows; row++) packed[row * words + words - 1] &= padMask;
  return packed;
}

function randomFloats(count) {
  return Float32Array.from({ length: count }, () => Math.random() * 2 - 1);
}

/** Returns the median wall time in milliseconds of `runs` calls of `run` (sync or async), after one warm-up call. */
async function medianMs(run, runs) {
  await run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await run();
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

const measured = [];

/** Adds a result row and remembers the figure for the chart. */
function addResult(kernel, { m, n, k }, threads, ms, check) {
  const macs = m * n * k;
  const gmacs = macs / ms / 1e6;
  addRow('results', [kernel, `${m} x ${n} x ${k}`, threads, ms.toFixed(3), ((2 * macs) / ms / 1e6).toFixed(2), gmacs.toFixed(2), check]);
  const where = threads === 'GPU' ? 'GPU' : `${threads} thread${threads === '1' ? '' : 's'}`;
  measured.push({ label: `${kernel}, ${where}, ${m}x${n}x${k}`, gmacs, binary: kernel.includes('binaryGemm') });
}

/** Throws when two integer results differ, naming the first differing element, because a figure for a wrong kernel is worthless. */
function checkEqual(actual, expected, what, { m, n, k }) {
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(`${what} ${m} x ${n} x ${k} differs from the 1-thread WASM binaryGemm at row ${Math.floor(i / n)}, column ${i % n}: ${actual[i]} instead of ${expected[i]}`);
    }
  }
}

/**
 * Returns the max absolute difference between two float32 products, and throws past 1e-5 * k.
 * Both sum k products of values in [-1, 1] in float32, but maybe in different orders.
 */
function checkClose(actual, expected, what, { m, n, k }) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const difference = Math.abs(actual[i] - expected[i]);
    if (!(difference <= worst)) worst = difference;
  }
  if (!(worst <= 1e-5 * k)) {
    throw new Error(`${what} ${m} x ${n} x ${k} differs from the SDK's WASM float32 matmul by up to ${worst} (allowed ${1e-5 * k})`);
  }
  return `max |diff| ${worst.toExponential(1)}`;
}

/** Selects a TensorFlow.js backend, or returns the reason it cannot be had. */
async function selectTfjsBackend(name) {
  if (tf === undefined) return 'TensorFlow.js did not load (/vendor/tfjs-core/)';
  if (tf.findBackendFactory(name) === null) return `TensorFlow.js has no ${name} backend here`;
  try {
    if (!(await tf.setBackend(name))) return `TensorFlow.js failed to initialize its ${name} backend`;
    await tf.ready();
    return null;
  } catch (error) {
    return `TensorFlow.js ${name} backend: ${error.message}`;
  }
}

// The wasm backend fetches its .wasm files from here, which demos/serve.mjs maps to node_modules.
// Its threaded build is switched off so that it runs one thread, like the SDK's WASM rows it sits beside.
if (tf !== undefined) {
  tf.wasm.setWasmPaths('/vendor/tfjs-backend-wasm/');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
}

/** Times tfjs matMul on `backend` for one shape after checking it against our float32 matmul. */
async function timeTfjsMatmul(backend, shape, x, w, expected) {
  const { m, n, k } = shape;
  const left = tf.tensor2d(x, [m, k]);
  const right = tf.tensor2d(w, [k, n]);
  try {
    const product = tf.matMul(left, right);
    const check = checkClose(await product.data(), expected, `tfjs matMul (${backend})`, shape);
    product.dispose();

    // The operands stay resident. On the GPU, a 4-byte read of a sum waits for GPU_REPEATS matmuls.
    const repeats = backend === 'webgpu' ? GPU_REPEATS : 1;
    const ms = await medianMs(async () => {
      let last = null;
      for (let r = 0; r < repeats; r++) {
        last?.dispose();
        last = tf.matMul(left, right);
      }
      const total = tf.sum(last);
      await total.data();
      total.dispose();
      last.dispose();
    }, RUNS);
    addResult(`tfjs matMul f32 (${backend})`, shape, backend === 'webgpu' ? 'GPU' : '1', ms / repeats, check);
  } finally {
    left.dispose();
    right.dispose();
  }
}

/** Times our binary GEMM on resident device buffers, after checking WebGpuBackend.binaryGemm against the WASM result. */
async function timeWebGpuBinaryGemm(gpuBackend, shape, a, b, expected) {
  const { m, n, k } = shape;
  checkEqual(await gpuBackend.binaryGemm(a, b, m, n, k), expected, 'WebGPU binaryGemm', shape);

  const gpu = gpuBackend.gpu;
  const left = gpu.upload(a);
  const right = gpu.upload(b);
  const out = gpu.storage(m * n * 4);
  try {
    const ms = await medianMs(async () => {
      for (let r = 0; r < GPU_REPEATS; r++) await encodeBinaryGemm(gpu, left, right, out, m, n, k);
      await gpu.read(out, 4, 'bench demo binaryGemm');
    }, RUNS);
    addResult('qnn binaryGemm (WebGPU)', shape, 'GPU', ms / GPU_REPEATS, 'equal to WASM');
  } finally {
    gpu.release(left, right, out);
  }
}

/** Acquires our WebGPU backend, or returns the reason there is none. */
async function openWebGpu() {
  if (navigator.gpu === undefined) return { backend: null, note: 'no navigator.gpu in this page, so no GPU rows' };
  try {
    const device = await acquireDevice();
    const info = device.adapterInfo;
    const adapter = info === undefined ? 'unknown adapter' : [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
    return { backend: new WebGpuBackend(device), note: `WebGPU adapter: ${adapter}` };
  } catch (error) {
    return { backend: null, note: `no WebGPU device: ${error.message}` };
  }
}

async function runBenchmark() {
  const requested = Number(element('threads').value);
  const single = await createWasmBackend({ threads: 1 });
  const threaded = await createWasmBackend({ threads: requested });
  element('results').querySelector('tbody').replaceChildren();
  measured.length = 0;
  const gpu = await openWebGpu();
  const notes = [gpu.note];

  try {
    for (const shape of SHAPES) {
      const { m, n, k } = shape;
      const a = randomSigns(m, k);
      const b = randomSigns(n, k);
      const expectedBinary = single.binaryGemm(a, b, m, n, k);
      checkEqual(threaded.binaryGemm(a, b, m, n, k), expectedBinary, `binaryGemm on ${threaded.threads} thread(s)`, shape);
      for (const [backend, check] of [[single, 'reference'], [threaded, 'equal to 1 thread']]) {
        setStatus(`Timing binaryGemm ${m} x ${n} x ${k} on ${backend.threads} thread(s)…`);
        await nextPaint();
        const ms = await medianMs(() => backend.binaryGemm(a, b, m, n, k), RUNS);
        addResult('qnn binaryGemm (WASM)', shape, String(backend.threads), ms, check);
      }

      setStatus(`Timing float32 matmul ${m} x ${n} x ${k}…`);
      await nextPaint();
      const x = randomFloats(m * k);
      const w = randomFloats(k * n);
      const expectedFloat = single.matmul(x, w, m, k, n, false, false);
      const ms = await medianMs(() => single.matmul(x, w, m, k, n, false, false), RUNS);
      addResult('qnn float32 matmul (WASM)', shape, '1', ms, 'reference');

      for (const backend of ['wasm', 'webgpu']) {
        if (backend === 'webgpu' && navigator.gpu === undefined) continue;
        setStatus(`Timing TensorFlow.js matMul on ${backend}, ${m} x ${n} x ${k}…`);
        await nextPaint();
        const unavailable = await selectTfjsBackend(backend);
        if (unavailable !== null) {
          if (!notes.includes(unavailable)) notes.push(unavailable);
          continue;
        }
        await timeTfjsMatmul(backend, shape, x, w, expectedFloat);
      }

      if (gpu.backend !== null) {
        setStatus(`Timing WebGPU binaryGemm ${m} x ${n} x ${k}…`);
        await nextPaint();
        await timeWebGpuBinaryGemm(gpu.backend, shape, a, b, expectedBinary);
      }
    }
    drawChart();
    if (tf !== undefined) notes.unshift(`TensorFlow.js ${tf.version_core}`);
    element('peers').textContent = `${notes.join('; ')}.`;
    setStatus(`Done: ${single.build} build; ${describeThreads(requested, threaded.threads)}`);
  } finally {
    gpu.backend?.device.destroy();
    threaded.dispose?.();
    single.dispose?.();
  }
}

/** Describes how many threads the threaded backend got, and why, when it got fewer than requested. */
function describeThreads(requested, got) {
  if (got >= requested) return `the threaded backend runs ${got} threads.`;
  if (!globalThis.crossOriginIsolated) return `the threaded backend runs ${got} thread(s) because the page is not cross-origin isolated.`;
  return `the threaded backend runs ${got} thread(s) of ${requested} requested, because this browser has no SharedArrayBuffer, Worker or shared WebAssembly memory.`;
}

/** Draws one horizontal bar per result row, in G MAC/s, as plain SVG. */
function drawChart() {
  const svg = element('chart');
  const namespace = 'http://www.w3.org/2000/svg';
  const rowHeight = 22;
  const labelWidth = 330;
  const barSpace = Number(svg.getAttribute('width')) - labelWidth - 80;
  const largest = Math.max(...measured.map((entry) => entry.gmacs), 1e-9);
  svg.replaceChildren();
  svg.setAttribute('height', String(measured.length * rowHeight + 4));

  const add = (tag, attributes, text) => {
    const node = document.createElementNS(namespace, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    svg.append(node);
  };
  measured.forEach((entry, i) => {
    const y = i * rowHeight + 2;
    const width = Math.max(1, (entry.gmacs / largest) * barSpace);
    add('text', { x: 0, y: y + 15, 'font-size': 12 }, entry.label);
    add('rect', { class: 'bar', x: labelWidth, y, width, height: rowHeight - 6, fill: entry.binary ? '#2b8a57' : '#4a6fa5' });
    add('text', { class: 'value', x: labelWidth + width + 4, y: y + 13, 'font-size': 12 }, entry.gmacs.toFixed(2));
  });
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
