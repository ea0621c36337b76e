// `npm test`: typecheck, lint, format check, then every test (node's test runner prints the summary last).
import { spawnSync } from 'node:child_process';

const steps = [
  ['typecheck', 'npx', ['tsc', '--noEmit', '-p', '.']],
  ['lint', 'npx', ['eslint', '--max-warnings', '0', '.']],
  ['format:check', 'npx', ['prettier', '--check', '--log-level', 'warn', '.']],
  ['tests', process.execPath, ['tools/run-tests.mjs']],
];
for (const [name, cmd, args] of steps) {
  const t0 = Date.now();
  console.log(`\n== ${name}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(
      `\n== ${name} failed (exit ${r.status ?? r.signal}); fix the problems above and run npm test again.`,
    );
    process.exit(r.status ?? 1);
  }
  // The test runner's own summary stays the last thing printed (CI reads it).
  if (name !== 'tests') console.log(`== ${name} ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
