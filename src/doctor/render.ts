/**
 * Text output of `tandem doctor`: one line per finding, `STATUS  OBJECT: MESSAGE (CODE)`, with the fix on
 * an indented line below every finding that is not ok, then one summary line. `--json` prints the
 * `DoctorReport` itself (types.ts).
 */
import type { DoctorReport, Finding } from './types.ts';

const WIDTH = 'warning'.length;

export function renderFinding(f: Finding): string {
  const code = f.code === null ? '' : ` (${f.code})`;
  const head = `${f.status.padEnd(WIDTH)}  ${f.object}: ${f.message}${code}`;
  return f.status === 'ok' || f.remedy === null ? head : `${head}\n${' '.repeat(WIDTH)}  fix: ${f.remedy}`;
}

export function renderDoctor(r: DoctorReport): string {
  const s = r.summary;
  const n = (count: number, word: string, plural = `${word}s`): string =>
    `${count} ${count === 1 ? word : plural}`;
  const scope = s.server === null ? 'every server' : `server ${s.server}`;
  const verdict =
    s.error > 0
      ? 'fix the errors above before relying on the cluster'
      : s.warning > 0
        ? 'no errors; read the warnings above'
        : 'no problems found';
  const summary =
    `${n(s.ok, 'ok', 'ok')}, ${n(s.warning, 'warning')}, ${n(s.error, 'error')}, ${n(s.skipped, 'skipped', 'skipped')} ` +
    `(${scope}, ${s.durationMs} ms): ${verdict}`;
  return [...r.findings.map(renderFinding), summary].join('\n') + '\n';
}
