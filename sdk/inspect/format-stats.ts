/** Text tables for ModelStats, laid out like larq.models.summary: a per-layer table with a totals row, then a summary box. */
import type { LayerStats, ModelStats } from './layer-stats.js';

const ENERGY_NOTE =
  'Energy is an estimate per sample from the 45 nm table of Horowitz (ISSCC 2014): a 32-bit MAC is a float multiply\n' +
  'plus add (4.6 pJ); a 1-bit MAC is charged as one 32-bit integer add (0.1 pJ, an upper bound for XNOR-popcount);\n' +
  'an a-bit by w-bit MAC as a*w 1-bit MACs; plus one read of the stored weights from an 8 kB cache (10 pJ per 64 bits).';

interface Column {
  title: [string, string];
  /** Left-aligned text columns; numbers align right. */
  left?: boolean;
  cell(layer: LayerStats): string;
}

const COLUMNS: Column[] = [
  { title: ['Layer', ''], left: true, cell: (l) => l.name },
  { title: ['Type', ''], left: true, cell: (l) => l.type },
  { title: ['Input prec.', '(bit)'], cell: (l) => (l.name === 'Total' ? '' : l.inputBits === null ? '-' : String(l.inputBits)) },
  { title: ['Outputs', ''], cell: (l) => (l.name === 'Total' ? '' : `(-1, ${l.outputShape.join(', ')})`) },
  { title: ['# 1-bit', ''], cell: (l) => String(l.oneBitParameters) },
  { title: ['# k-bit', ''], cell: (l) => String(l.kBitParameters) },
  { title: ['# 32-bit', ''], cell: (l) => String(l.float32Parameters) },
  { title: ['Memory f32', '(KiB)'], cell: (l) => kib(l.float32Bytes) },
  { title: ['Memory packed', '(KiB)'], cell: (l) => kib(l.packedBytes) },
  { title: ['1-bit MACs', ''], cell: (l) => String(l.binaryMacs) },
  { title: ['k-bit MACs', ''], cell: (l) => String(l.kBitMacs) },
  { title: ['32-bit MACs', ''], cell: (l) => String(l.floatMacs) },
  { title: ['Energy', '(nJ, est.)'], cell: (l) => (l.energyPicojoules / 1000).toFixed(2) },
];

/** Formats the per-layer table, the totals row, the summary box and the note on how energy was estimated. */
export function formatStats(stats: ModelStats): string {
  const rows = stats.layers.map((layer) => COLUMNS.map((column) => column.cell(layer)));
  const totals = COLUMNS.map((column) => column.cell(stats.totals));
  const widths = COLUMNS.map((column, c) => Math.max(column.title[0].length, column.title[1].length, totals[c].length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, c) => (COLUMNS[c].left ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')} |`;
  const inner = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) + 2;
  const rule = (title = ''): string => `+${title}${'-'.repeat(Math.max(0, inner - title.length))}+`;

  const table = [
    rule(`${stats.name} stats`),
    line(COLUMNS.map((column) => column.title[0])),
    line(COLUMNS.map((column) => column.title[1])),
    rule(),
    ...rows.map(line),
    rule(),
    line(totals),
    rule(),
  ];
  return [...table, ...summaryBox(stats), ENERGY_NOTE, ''].join('\n');
}

function summaryBox(stats: ModelStats): string[] {
  const t = stats.totals;
  const stored = t.oneBitParameters + t.kBitParameters + t.float32Parameters;
  const macs = t.binaryMacs + t.kBitMacs + t.floatMacs;
  const entries: [string, string][] = [
    ['Stored values', `${stored}`],
    ['Memory as float32', `${kib(t.float32Bytes)} KiB`],
    ['Memory packed', `${kib(t.packedBytes)} KiB`],
    ['Compression ratio of memory', t.float32Bytes === 0 ? '-' : (t.packedBytes / t.float32Bytes).toFixed(4)],
    ['MACs per sample', `${macs}`],
    ['Ratio of MACs that are 1-bit', macs === 0 ? '-' : (t.binaryMacs / macs).toFixed(4)],
    ['Energy per sample (est.)', `${(t.energyPicojoules / 1000).toFixed(2)} nJ`],
    ['Energy if all float32 (est.)', `${(t.float32EnergyPicojoules / 1000).toFixed(2)} nJ`],
  ];
  const keyWidth = Math.max(...entries.map(([key]) => key.length));
  const valueWidth = Math.max(...entries.map(([, value]) => value.length));
  const inner = keyWidth + valueWidth + 4;
  const title = `${stats.name} summary`;
  return [
    `+${title}${'-'.repeat(Math.max(0, inner - title.length))}+`,
    ...entries.map(([key, value]) => `| ${key.padEnd(keyWidth)}  ${value.padStart(valueWidth)} |`),
    `+${'-'.repeat(inner)}+`,
  ];
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(2);
}
