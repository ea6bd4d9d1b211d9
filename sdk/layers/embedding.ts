import { ShapeError } from '../errors.js';
import { gatherRows } from '../ops/sequence.js';
import type { Random } from '../random.js';
import { Tensor, formatShape } from '../tensor/tensor.js';
import { type ForwardContext, Layer, type Parameter } from './layer.js';

let embeddingCount = 0;

/**
 * Token embedding: a float table [vocabularySize, units] looked up by int32
 * token ids of any shape, giving [...ids.shape, units]. The gradient of the
 * table is a scatter-add of the output gradient into the looked-up rows.
 */
export class Embedding extends Layer {
  readonly vocabularySize: number;
  readonly units: number;
  /** Rows start uniform in ±initialScale. */
  readonly initialScale: number;
  table: Tensor = Tensor.zeros([0]);

  constructor(vocabularySize: number, units: number, options: { name?: string; initialScale?: number } = {}) {
    super(options.name ?? `embedding_${embeddingCount++}`);
    for (const [field, value] of [['vocabularySize', vocabularySize], ['units', units]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new ShapeError(`${this.name}: ${field} must be a positive integer, got ${value}`);
    }
    this.vocabularySize = vocabularySize;
    this.units = units;
    this.initialScale = options.initialScale ?? 0.1;
    if (!(this.initialScale > 0 && Number.isFinite(this.initialScale))) {
      throw new ShapeError(`${this.name}: initialScale must be a finite number > 0, got ${this.initialScale}`);
    }
  }

  outputShape(inputShape: number[]): number[] {
    return [...inputShape, this.units];
  }

  protected override createParameters(_inputShape: number[], random: Random): void {
    const table = new Float32Array(this.vocabularySize * this.units);
    for (let i = 0; i < table.length; i++) table[i] = random.uniform(-this.initialScale, this.initialScale);
    this.table = new Tensor(table, [this.vocabularySize, this.units], true);
  }

  override parameters(): Parameter[] {
    return [{ name: `${this.name}/table`, value: this.table, learningRateScale: 1, clip: null }];
  }

  forward(ids: Tensor, _context: ForwardContext): Tensor {
    if (ids.dtype !== 'int32') throw new ShapeError(`${this.name}: token ids must be an int32 tensor, got ${ids.dtype} ${formatShape(ids.shape)}`);
    return gatherRows(this.table, ids);
  }
}
