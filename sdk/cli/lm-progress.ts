import type { LanguageModelBatchReport, LanguageModelEpochReport } from '../training/fit-language-model.js';

/** Progress lines per report interval and per epoch: 10 lines per epoch on stderr, in logs and on terminals alike. */
export class LanguageModelProgress {
  private epochStarted = 0;
  private lossSum = 0;
  private seen = 0;

  constructor(
    private readonly layout: { batch: number; streamLength: number; bpttSteps: number },
    private readonly write: (line: string) => void,
  ) {}

  onBatchEnd(report: LanguageModelBatchReport): void {
    if (report.batch === 0) {
      this.epochStarted = performance.now();
      this.lossSum = 0;
      this.seen = 0;
    }
    this.lossSum += report.loss;
    this.seen++;

    const interval = Math.max(1, Math.round(report.batches / 10));
    const done = report.batch + 1;
    if (done % interval !== 0 && done !== report.batches) return;

    const { batch, streamLength, bpttSteps } = this.layout;
    const tokens = batch * Math.min(done * bpttSteps, streamLength - 1);
    const seconds = (performance.now() - this.epochStarted) / 1000;
    this.write(
      `epoch ${report.epoch + 1} batch ${done}/${report.batches}: loss ${(this.lossSum / this.seen).toFixed(4)} nats/token ` +
        `(mean since epoch start), ${Math.round(tokens / seconds)} tokens/s, gradient norm ${report.gradientNorm.toFixed(3)}`,
    );
  }

  onEpochEnd(report: LanguageModelEpochReport): void {
    this.write(
      `epoch ${report.epoch + 1}/${report.epochs}: loss ${report.loss.toFixed(4)} nats/token, training perplexity ${report.perplexity.toFixed(3)}, ` +
        `accuracy ${(100 * report.accuracy).toFixed(2)}%, learning rate ${report.learningRate.toPrecision(3)}, ${report.seconds.toFixed(1)} s`,
    );
  }
}
