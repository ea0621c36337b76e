/** parseDuration / formatDuration: units, compounds, refusals with reasons, round trips. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  const good: [string, number][] = [
    ['500ms', 500],
    ['3s', 3000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['0s', 0],
    ['1.5s', 1500],
    ['0.3s', 300],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    [' 10s ', 10_000],
  ];
  for (const [text, ms] of good)
    it(`${JSON.stringify(text)} = ${ms} ms`, () => assert.deepEqual(parseDuration(text), { ok: true, ms }));

  const bad: [string, RegExp][] = [
    ['10', /has no unit/],
    ['', /empty/],
    ['5 min', /not a duration/],
    ['10S', /not a duration/],
    ['-1s', /not a duration/],
    ['1.5ms', /whole number of milliseconds/],
    ['30s1m', /out of order/],
    ['1s1s', /out of order/],
    ['25d', /not a duration/],
    ['597h', /longer than the maximum/],
  ];
  for (const [text, reason] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const r = parseDuration(text);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, reason);
    });
  }
});

describe('formatDuration', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [1, '1ms'],
    [1000, '1s'],
    [1500, '1s500ms'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [-2000, '-2s'],
  ];
  for (const [ms, text] of table) it(`${ms} -> ${text}`, () => assert.equal(formatDuration(ms), text));

  it('round-trips through parseDuration', () => {
    for (const ms of [0, 1, 999, 1000, 61_001, 3_599_999, MAX_DURATION_MS]) {
      assert.deepEqual(parseDuration(formatDuration(ms)), { ok: true, ms });
    }
  });
});
