/**
 * Runs the golden scenarios of the decision core (test/scenarios/<name>/) and compares the rendered plans
 * and the summary with `plan.expected` / `summary.expected` (STYLE.md 18). Fails on any difference and on
 * warn/error diagnostics a scenario does not list in `allowDiagnostics`.
 *
 *   node --import tsx tools/run-scenarios.ts [--update] [NAME...]
 *
 * `--update` rewrites the expected files from the current output; review the diff like code.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenarioDir } from '../test/scenarios/_lib.ts';

export const SCENARIO_ROOT = join(import.meta.dirname, '..', 'test', 'scenarios');

export function scenarioNames(): string[] {
  return readdirSync(SCENARIO_ROOT)
    .filter(
      (n) =>
        !n.startsWith('_') &&
        statSync(join(SCENARIO_ROOT, n)).isDirectory() &&
        existsSync(join(SCENARIO_ROOT, n, 'input.json')),
    )
    .sort();
}

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i])
      return `line ${i + 1}:\n  expected: ${x[i] ?? '<end>'}\n  actual:   ${y[i] ?? '<end>'}`;
  }
  return 'no difference';
}

function main(): number {
  const args = process.argv.slice(2);
  const update = args.includes('--update');
  const only = args.filter((a) => !a.startsWith('--'));
  const names = only.length > 0 ? only : scenarioNames();
  let failed = 0;
  for (const name of names) {
    const dir = join(SCENARIO_ROOT, name);
    const out = runScenarioDir(dir);
    const problems: string[] = [];
    for (const [file, actual] of [
      ['plan.expected', out.plan],
      ['summary.expected', out.summary],
    ] as const) {
      const path = join(dir, file);
      if (update) {
        writeFileSync(path, actual);
        continue;
      }
      const expected = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (expected !== actual) problems.push(`${file} differs at ${firstDifference(expected, actual)}`);
    }
    for (const u of out.unexpected) problems.push(`unexpected diagnostic: ${u}`);
    if (problems.length > 0) {
      failed++;
      console.log(`FAIL ${name}\n  ${problems.join('\n  ')}`);
    } else console.log(`${update ? 'updated' : 'ok'}   ${name}`);
  }
  console.log(
    `${names.length - failed}/${names.length} scenarios ${update ? 'written' : 'match'}${failed ? `; ${failed} failed (run with --update after reviewing)` : ''}`,
  );
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) process.exitCode = main();
