import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import type { PackedNetwork } from '../../sdk/compile/graph.js';
import { runPacked } from '../../sdk/compile/run-packed.js';
import { decodeQnn, decodeQnnNetwork } from '../../sdk/format/qnn-file.js';
import { runFuzzTarget } from './harness.js';
import { fuzzCaseCount } from './mutator.js';
import { qnnSeeds, resealQnn } from './seed-files.js';

// Every typed array of a decoded network is read element by element from its own bytes
// of the file (weights, thresholds and epilogue arrays 4 bytes per element, directions
// 1 byte), so a decoded network never contains more typed-array bytes than the file has.
const QNN_ALLOCATION_FACTOR = 1;

/** Largest input a fuzzed network is run on; the seeds' inputs are 20, 37 and 64 elements. */
const MAX_RUN_FEATURES = 4096;

const CASES = fuzzCaseCount(3000);
const seeds = qnnSeeds();
const backend = new ReferenceBackend();

/**
 * Checks that a decoded network also runs: the packed engine gets one sample and must
 * return one score per class. A failure here means the decoder accepted a network
 * that the engine cannot run.
 */
function checkRuns(network: PackedNetwork): void {
  const features = network.inputShape.reduce((product, size) => product * size, 1);
  if (features > MAX_RUN_FEATURES) return;

  const sample = Uint8Array.from({ length: features }, (_, i) => (i * 37) & 0xff);
  const scores = runPacked(network, backend, sample);
  const last = network.layers[network.layers.length - 1];
  assert.ok(last.kind === 'dense' || last.kind === 'dense-kbit', `the last layer is ${last.kind}`);
  assert.equal(scores.length, last.units);
}

describe(`.qnn decoders on ${CASES} mutated files per seed: load or QnnError`, () => {
  test('dense MLP file', () => {
    const summary = runFuzzTarget({
      name: 'qnn dense MLP',
      seeds: [seeds.dense],
      decode: (bytes) => {
        const network = decodeQnnNetwork(bytes);
        // The dense-only decoder must agree with the general one on every file it accepts.
        assert.deepEqual(decodeQnn(bytes), network);
        return network;
      },
      allocationFactor: QNN_ALLOCATION_FACTOR,
      check: checkRuns,
      mutator: { littleEndian: true, reseal: resealQnn, alignment: 4 },
      cases: CASES,
    });
    assert.equal(summary.cases, CASES);
    // Resealed mutations of weights and thresholds leave valid files, so some cases must load.
    assert.ok(summary.loaded > 0, `no mutated case loaded: ${JSON.stringify(summary)}`);
    assert.ok(summary.rejected > 0, `no mutated case was rejected: ${JSON.stringify(summary)}`);
  });

  // Network files of every record kind: the mutated files must both load (resealed weight and threshold
  // changes) and be rejected (broken structure).
  const networkTargets = [
    { file: 'conv network file', name: 'qnn conv network', seed: seeds.conv },
    { file: 'k-bit conv network file', name: 'qnn k-bit conv network', seed: seeds.kbitConv },
    { file: 'k-bit network file', name: 'qnn k-bit network', seed: seeds.kbit },
  ];
  for (const target of networkTargets) {
    test(target.file, () => {
      const summary = runFuzzTarget({
        name: target.name,
        seeds: [target.seed],
        decode: (bytes) => decodeQnnNetwork(bytes),
        allocationFactor: QNN_ALLOCATION_FACTOR,
        check: checkRuns,
        mutator: { littleEndian: true, reseal: resealQnn, alignment: 4 },
        cases: CASES,
      });
      assert.ok(summary.loaded > 0, `no mutated case loaded: ${JSON.stringify(summary)}`);
      assert.ok(summary.rejected > 0, `no mutated case was rejected: ${JSON.stringify(summary)}`);
    });
  }
});
