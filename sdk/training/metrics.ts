/** Index of the largest score in each row of scores[rows, classes]; the first index wins a tie. */
export function argmax(scores: ArrayLike<number>, rows: number, classes: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[r * classes + c] > scores[r * classes + best]) best = c;
    out[r] = best;
  }
  return out;
}

/** Fraction of rows whose argmax differs from the label. */
export function classificationError(scores: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  const predicted = argmax(scores, labels.length, classes);
  let wrong = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] !== labels[i]) wrong++;
  return labels.length === 0 ? 0 : wrong / labels.length;
}

/** Fraction of samples whose argmax agrees, and the largest absolute score difference. */
export function compareScores(a: Float32Array, b: Float32Array, rows: number, classes: number): { predictionMatch: number; maxScoreDifference: number } {
  const predictedA = argmax(a, rows, classes);
  const predictedB = argmax(b, rows, classes);
  let matches = 0;
  let maxScoreDifference = 0;

  for (let r = 0; r < rows; r++) if (predictedA[r] === predictedB[r]) matches++;
  for (let i = 0; i < a.length; i++) maxScoreDifference = Math.max(maxScoreDifference, Math.abs(a[i] - b[i]));
  return { predictionMatch: rows === 0 ? 1 : matches / rows, maxScoreDifference };
}
