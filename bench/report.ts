// Figures of one benchmark run (bench/main.ts), their ratios, and the text table.

/** Throughput of one GEMM shape in each engine, in multiply-accumulates per second (null where it failed). */
export interface GemmFigures {
  m: number;
  n: number;
  k: number;
  /** Our binaryGemm, WASM SIMD, one thread, in binary MACs per second: sign products summed by XOR and popcount. */
  qnnBinaryMacsPerSecond: number | null;
  tfjsWasmF32MacsPerSecond: number | null;
  ortWebF32MacsPerSecond: number | null;
  ortNodeF32MacsPerSecond: number | null;
  ortNodeInt8MacsPerSecond: number | null;
}

/** Images per second of one MLP shape in each engine, and its model size. */
export interface EndToEndFigures {
  /** Layer widths, e.g. "784-512-512-10". */
  shape: string;
  batch: number;
  qnnPackedImagesPerSecond: number | null;
  tfjsWasmF32ImagesPerSecond: number | null;
  ortWebF32ImagesPerSecond: number | null;
  ortNodeF32ImagesPerSecond: number | null;
  /** Size of the encoded .qnn file. */
  qnnBytes: number | null;
  /** Trainable parameters (latent kernels, batch-norm gamma and beta) at 4 bytes each. */
  float32Bytes: number | null;
}

export interface TwoThreadFigures {
  m: number;
  n: number;
  k: number;
  oneThreadSeconds: number;
  twoThreadSeconds: number;
}

export interface BenchReport {
  machine: { cpu: string; logicalCores: number; memoryGiB: number; node: string; platform: string };
  versions: Record<string, string | null>;
  mode: 'default' | 'quick';
  gemm: GemmFigures[];
  /** Peak binary MACs/s of the binaryGemm inner loop on L1-resident data, or null where the backend lacks the probe. */
  popcountRooflineMacsPerSecond: number | null;
  /** Median over alternating runs of binaryGemm (headline shape) MACs/s divided by the roofline's, or null. */
  binaryGemmRooflineFraction: number | null;
  /** Null where createWasmBackend gives no two-thread backend. */
  twoThreads: TwoThreadFigures | null;
  endToEnd: EndToEndFigures[];
  ratios: Record<string, number | null>;
  /** Measurements that failed, with the error message. Their figures are null. */
  errors: { stage: string; message: string }[];
  totalSeconds: number;
}

function ratio(numerator: number | null | undefined, denominator: number | null | undefined): number | null {
  if (numerator == null || denominator == null || denominator === 0) return null;
  return numerator / denominator;
}

/**
 * Computes the headline ratios. GEMM ratios use M = N = `headline.m`,
 * K = `headline.k`, and compare binary MACs with float or int8 MACs, one each.
 */
export function computeRatios(
  report: Omit<BenchReport, 'ratios' | 'totalSeconds'>,
  headline: { m: number; k: number },
  paperShape: string,
  defaultShape: string,
): Record<string, number | null> {
  const gemm = report.gemm.find((figures) => figures.m === headline.m && figures.n === headline.m && figures.k === headline.k);
  const paper = report.endToEnd.find((figures) => figures.shape === paperShape);
  const small = report.endToEnd.find((figures) => figures.shape === defaultShape);
  const twoThreads = report.twoThreads;

  return {
    bgemmVsTfjsWasmF32: ratio(gemm?.qnnBinaryMacsPerSecond, gemm?.tfjsWasmF32MacsPerSecond),
    bgemmVsOrtWebF32: ratio(gemm?.qnnBinaryMacsPerSecond, gemm?.ortWebF32MacsPerSecond),
    bgemmVsOrtNodeF32: ratio(gemm?.qnnBinaryMacsPerSecond, gemm?.ortNodeF32MacsPerSecond),
    bgemmVsOrtNodeInt8: ratio(gemm?.qnnBinaryMacsPerSecond, gemm?.ortNodeInt8MacsPerSecond),
    bgemmRooflineFraction: report.binaryGemmRooflineFraction,
    twoThreadSpeedup: twoThreads === null ? null : ratio(twoThreads.oneThreadSeconds, twoThreads.twoThreadSeconds),
    paperMlpVsTfjsImagesPerSecond: ratio(paper?.qnnPackedImagesPerSecond, paper?.tfjsWasmF32ImagesPerSecond),
    paperMlpVsOrtWebImagesPerSecond: ratio(paper?.qnnPackedImagesPerSecond, paper?.ortWebF32ImagesPerSecond),
    paperMlpVsOrtNodeImagesPerSecond: ratio(paper?.qnnPackedImagesPerSecond, paper?.ortNodeF32ImagesPerSecond),
    defaultMlpVsTfjsImagesPerSecond: ratio(small?.qnnPackedImagesPerSecond, small?.tfjsWasmF32ImagesPerSecond),
    defaultMlpVsOrtWebImagesPerSecond: ratio(small?.qnnPackedImagesPerSecond, small?.ortWebF32ImagesPerSecond),
    paperMlpFloat32OverQnnBytes: ratio(paper?.float32Bytes, paper?.qnnBytes),
    defaultMlpFloat32OverQnnBytes: ratio(small?.float32Bytes, small?.qnnBytes),
  };
}

const giga = (value: number | null): string => (value === null ? 'n/a' : (value / 1e9).toFixed(2));
const times = (value: number | null): string => (value === null ? 'n/a' : `${value.toFixed(2)}x`);
const percent = (value: number | null): string => (value === null ? 'n/a' : `${(100 * value).toFixed(0)}%`);
const count = (value: number | null): string => (value === null ? 'n/a' : Math.round(value).toLocaleString('en-US'));

function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (row: string[]) => '| ' + row.map((cell, column) => cell.padEnd(widths[column])).join(' | ') + ' |';
  const rule = '| ' + widths.map((width) => '-'.repeat(width)).join(' | ') + ' |';
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Formats the report as Markdown tables, the same text docs/performance.md shows. */
export function formatReport(report: BenchReport): string {
  const sections: string[] = [];
  const { machine } = report;
  sections.push(
    `Machine: ${machine.cpu}, ${machine.logicalCores} logical cores, ${machine.memoryGiB} GiB, Node ${machine.node} (${machine.platform}). ` +
      `Mode: ${report.mode}. Single thread unless stated; medians of repeated runs.`,
  );
  sections.push(
    'Versions: ' +
      Object.entries(report.versions)
        .map(([name, version]) => `${name} ${version ?? 'n/a'}`)
        .join(', '),
  );

  sections.push(
    '### GEMM throughput, G MAC/s (binary MACs for qnn, float32 or int8 MACs for the peers)\n\n' +
      formatTable(
        ['M = N', 'K', 'qnn binaryGemm', 'tfjs-wasm f32', 'ort-web f32', 'ort-node f32', 'ort-node int8', 'qnn / tfjs'],
        report.gemm.map((g) => [
          String(g.m),
          String(g.k),
          giga(g.qnnBinaryMacsPerSecond),
          giga(g.tfjsWasmF32MacsPerSecond),
          giga(g.ortWebF32MacsPerSecond),
          giga(g.ortNodeF32MacsPerSecond),
          giga(g.ortNodeInt8MacsPerSecond),
          times(ratio(g.qnnBinaryMacsPerSecond, g.tfjsWasmF32MacsPerSecond)),
        ]),
      ),
  );

  const twoThreads = report.twoThreads;
  sections.push(
    '### Kernel ceiling and threads\n\n' +
      formatTable(
        ['figure', 'value'],
        [
          ['popcount roofline, G binary MAC/s', giga(report.popcountRooflineMacsPerSecond)],
          ['binaryGemm 1024x1024x4096 / roofline', percent(report.ratios.bgemmRooflineFraction)],
          [
            twoThreads === null ? 'two-thread speedup' : `two-thread speedup, binaryGemm ${twoThreads.m}x${twoThreads.n}x${twoThreads.k}`,
            twoThreads === null ? 'n/a' : `${times(report.ratios.twoThreadSpeedup)} (${(twoThreads.oneThreadSeconds * 1e3).toFixed(1)} ms -> ${(twoThreads.twoThreadSeconds * 1e3).toFixed(1)} ms)`,
          ],
        ],
      ),
  );

  sections.push(
    '### End to end, images/s (qnn: packed binarized MLP; peers: float32 MLP of the same shape)\n\n' +
      formatTable(
        ['MLP', 'batch', 'qnn packed', 'tfjs-wasm f32', 'ort-web f32', 'ort-node f32', 'qnn / tfjs', 'qnn / ort-web'],
        report.endToEnd.map((e) => [
          e.shape,
          String(e.batch),
          count(e.qnnPackedImagesPerSecond),
          count(e.tfjsWasmF32ImagesPerSecond),
          count(e.ortWebF32ImagesPerSecond),
          count(e.ortNodeF32ImagesPerSecond),
          times(ratio(e.qnnPackedImagesPerSecond, e.tfjsWasmF32ImagesPerSecond)),
          times(ratio(e.qnnPackedImagesPerSecond, e.ortWebF32ImagesPerSecond)),
        ]),
      ),
  );

  sections.push(
    '### Model bytes\n\n' +
      formatTable(
        ['MLP', '.qnn file', 'float32 parameters', 'float32 / qnn'],
        report.endToEnd.map((e) => [e.shape, count(e.qnnBytes), count(e.float32Bytes), times(ratio(e.float32Bytes, e.qnnBytes))]),
      ),
  );

  if (report.errors.length > 0) {
    sections.push('### Failed measurements\n\n' + report.errors.map((error) => `- ${error.stage}: ${error.message}`).join('\n'));
  }
  sections.push(`Total time: ${report.totalSeconds.toFixed(0)} s.`);
  return sections.join('\n\n');
}
