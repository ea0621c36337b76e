/**
 * Golden scenarios of the decision core under node:test: every test/scenarios/<name>/ must reproduce its
 * `plan.expected` and `summary.expected` exactly and raise no warn/error diagnostic it does not allow.
 * Update the goldens with `npm run scenarios -- --update` and review the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenarioDir } from './_lib.ts';
import { SCENARIO_ROOT, scenarioNames } from '../../tools/run-scenarios.ts';

for (const name of scenarioNames()) {
  test(`scenario ${name}`, () => {
    const dir = join(SCENARIO_ROOT, name);
    const out = runScenarioDir(dir);
    assert.deepEqual(out.unexpected, [], 'unexpected warn/error diagnostics');
    assert.equal(
      out.plan,
      readFileSync(join(dir, 'plan.expected'), 'utf8'),
      `${name}: plan.expected differs`,
    );
    assert.equal(
      out.summary,
      readFileSync(join(dir, 'summary.expected'), 'utf8'),
      `${name}: summary.expected differs`,
    );
  });
}
