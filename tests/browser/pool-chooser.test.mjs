// The pool's choice of how many workers share a detection (`PoolChooser`), as a plain unit:
// timings are given, not measured, so nothing here depends on the machine's speed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { PoolChooser } from '../../www/src/client.js';

/** Runs `count` jobs of `key` through `chooser`, each taking `ms(count)`; returns the counts used. */
function run(chooser, key, jobs, ms) {
  const used = [];
  for (let i = 0; i < jobs; i++) {
    const n = chooser.count(key);
    used.push(n);
    chooser.record(key, n, ms(n));
  }
  return used;
}

describe('the pool size chooser', () => {
  test('4 workers on 2 cores (slower than 2): 4 and 2 tried twice each, then 2 kept', () => {
    const chooser = new PoolChooser(4);
    assert.deepEqual(run(chooser, '448×336', 8, (n) => (n === 4 ? 90 : 36)), [4, 2, 4, 2, 2, 2, 2, 2]);
  });

  test('4 workers on 4 cores (faster than 2): 4 kept after the trial', () => {
    const chooser = new PoolChooser(4);
    assert.deepEqual(run(chooser, '512×512', 6, (n) => (n === 4 ? 25 : 40)), [4, 2, 4, 2, 4, 4]);
  });

  test('judged by the quickest run of each (a slow first run does not decide), per image size', () => {
    const chooser = new PoolChooser(3);
    const times = { 3: [200, 20], 2: [30, 30] };
    const used = run(chooser, 'a', 5, (n) => times[n].shift() ?? 20);
    assert.deepEqual(used, [3, 2, 3, 2, 3]);
    // Another size starts its own trial.
    assert.equal(chooser.count('b'), 3);
  });

  test('2 workers or fewer: nothing to try', () => {
    for (const max of [1, 2]) {
      const chooser = new PoolChooser(max);
      assert.deepEqual(run(chooser, 'k', 3, () => 10), [max, max, max]);
    }
  });
});
