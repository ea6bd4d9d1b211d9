import { ShapeError } from '../errors.js';
import { summarizeSequential } from '../inspect/summary.js';
import { Random } from '../random.js';
import { Tensor, formatShape, shapeSize } from '../tensor/tensor.js';
import { type EpochReport, type FitOptions, fit } from '../training/fit.js';
import { classificationError } from '../training/metrics.js';
import { checkSampleCount } from '../training/samples.js';
import { type ForwardContext, type Layer, type Parameter } from './layer.js';

/** A stack of layers applied in order to [batch, ...inputShape] tensors. */
export class Sequential {
  readonly layers: Layer[];
  inputShape: number[] = [];
  private built = false;

  constructor(layers: Layer[]) {
    this.layers = layers;
  }

  /** Creates every layer's parameters from a seeded stream, so the same seed gives the same initial weights. */
  build(inputShape: number[], seed: number): this {
    const random = new Random(seed);
    let shape = [...inputShape];
    for (const layer of this.layers) {
      layer.build(shape, random.fork());
      shape = layer.outputShape(shape);
    }
    this.inputShape = [...inputShape];
    this.built = true;
    return this;
  }

  get isBuilt(): boolean {
    return this.built;
  }

  get outputShape(): number[] {
    let shape = this.inputShape;
    for (const layer of this.layers) shape = layer.outputShape(shape);
    return shape;
  }

  parameters(): Parameter[] {
    return this.layers.flatMap((layer) => layer.parameters());
  }

  trainingState(): Float32Array[] {
    return this.layers.flatMap((layer) => layer.trainingState());
  }

  /** Runs the layers on x of shape [batch, ...inputShape]. */
  forward(x: Tensor, context: ForwardContext): Tensor {
    if (!this.built) throw new ShapeError('the model is not built; call build(inputShape, seed) first');
    const expected = shapeSize(this.inputShape);
    if (x.rank < 1 || x.size !== x.shape[0] * expected) {
      throw new ShapeError(`model expects input [batch, ${this.inputShape.join(', ')}], got ${formatShape(x.shape)}`);
    }
    let out = x;
    for (const layer of this.layers) out = layer.forward(out, context);
    return out;
  }

  /** Trains the model with mini-batch gradient descent; see `fit` in sdk/training/fit.ts for the options. */
  fit(inputs: Float32Array, labels: ArrayLike<number>, options: FitOptions): EpochReport[] {
    return fit(this, inputs, labels, options);
  }

  /**
   * Formats a larq-style table of every layer's output shape, stored values
   * by bit width, memory as float32 and packed, MACs per sample by operand
   * width and an estimated energy. sdk/inspect/summary.ts has the counting rules.
   */
  summary(name = 'sequential'): string {
    return summarizeSequential(this, name);
  }

  /** Classification error and accuracy on labelled samples, in inference mode. */
  evaluate(inputs: Float32Array, labels: ArrayLike<number>, batchSize = 500): { error: number; accuracy: number; scores: Float32Array } {
    const count = checkSampleCount(inputs, shapeSize(this.inputShape));
    if (labels.length !== count) throw new ShapeError(`evaluate: ${count} samples but ${labels.length} labels`);
    const scores = this.predict(inputs, batchSize);
    const error = classificationError(scores, labels, shapeSize(this.outputShape));
    return { error, accuracy: 1 - error, scores };
  }

  /** Class scores for `count` samples stored flat in `inputs`, in inference mode, batch by batch. */
  predict(inputs: Float32Array, batchSize = 500): Float32Array {
    const features = shapeSize(this.inputShape);
    const count = checkSampleCount(inputs, features);
    const classes = shapeSize(this.outputShape);
    const scores = new Float32Array(count * classes);
    const context: ForwardContext = { training: false, random: new Random(0) };

    for (let start = 0; start < count; start += batchSize) {
      const end = Math.min(count, start + batchSize);
      const x = new Tensor(inputs.subarray(start * features, end * features), [end - start, ...this.inputShape]);
      scores.set(this.forward(x, context).data as Float32Array, start * classes);
    }
    return scores;
  }
}
