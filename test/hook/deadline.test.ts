// src/hook/secret-data/deadline.ts: the hard bound under the templates. What it must do, as outcomes:
// stop JavaScript that never ends, even code that tries to catch the stop; let work that
// ends give its result; pass other errors through; work again after a stop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWithin } from '../../src/hook/secret-data/deadline.js';

describe('runWithin', () => {
  it('work that ends: true, and what it did stands', () => {
    const out: number[] = [];
    assert.equal(
      runWithin(1000, () => {
        out.push(1);
      }),
      true,
    );
    assert.deepStrictEqual(out, [1]);
  });

  it('a loop that never ends is stopped: false; its own catch and finally never run', () => {
    const seen: string[] = [];
    const finished = runWithin(20, () => {
      try {
        for (;;) seen.length = 0;
      } catch {
        seen.push('caught');
      } finally {
        seen.push('finally');
      }
    });
    assert.equal(finished, false);
    assert.deepStrictEqual(seen, []);
  });

  it('a regular expression that backtracks for ever is stopped too', () => {
    assert.equal(
      runWithin(20, () => {
        /(a+)+$/.test(`${'a'.repeat(64)}b`);
      }),
      false,
    );
  });

  it("the work's own error passes through; after a stop and an error the next call runs", () => {
    assert.throws(
      () =>
        runWithin(1000, () => {
          throw new RangeError('from the work');
        }),
      /from the work/,
    );
    assert.equal(
      runWithin(20, () => {
        for (;;);
      }),
      false,
    );
    let ran = false;
    assert.equal(
      runWithin(1000, () => {
        ran = true;
      }),
      true,
    );
    assert.ok(ran);
  });

  it('no time left: the work does not start', () => {
    let ran = false;
    assert.equal(
      runWithin(0, () => {
        ran = true;
      }),
      false,
    );
    assert.equal(ran, false);
  });
});
