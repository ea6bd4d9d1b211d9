import cliProgress from 'cli-progress';

import type { BatchReport, EpochReport } from '../training/fit.js';

/**
 * Per-epoch progress on stderr: a live bar with running loss and accuracy on a
 * terminal, and one summary line per epoch everywhere (logs and CI included).
 */
export class EpochProgress {
  private bar: cliProgress.SingleBar | null = null;
  private lossSum = 0;
  private accuracySum = 0;
  private seen = 0;
  private readonly interactive = Boolean(process.stderr.isTTY);

  onBatchEnd(report: BatchReport): void {
    if (!this.interactive) return;
    if (report.batch === 0) {
      this.lossSum = 0;
      this.accuracySum = 0;
      this.seen = 0;
      this.bar = new cliProgress.SingleBar(
        {
          format: `epoch ${report.epoch + 1} [{bar}] {percentage}% | batch {value}/{total} | loss {loss} | accuracy {accuracy} | {duration}s`,
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(report.batches, 0, { loss: '...', accuracy: '...' });
    }
    this.lossSum += report.loss;
    this.accuracySum += report.accuracy;
    this.seen++;
    this.bar?.update(report.batch + 1, {
      loss: (this.lossSum / this.seen).toFixed(4),
      accuracy: `${((100 * this.accuracySum) / this.seen).toFixed(2)}%`,
    });
  }

  onEpochEnd(report: EpochReport): void {
    this.bar?.stop();
    this.bar = null;
    process.stderr.write(
      `epoch ${report.epoch + 1}/${report.epochs}: loss ${report.loss.toFixed(4)}, ` +
        `train accuracy ${(100 * report.accuracy).toFixed(2)}%, learning rate ${report.learningRate.toPrecision(3)}, ` +
        `${report.seconds.toFixed(1)} s\n`,
    );
  }
}
