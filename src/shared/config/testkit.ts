/**
 * Helpers for the config layer's tests (and for other parts' tests that need a small valid config): a
 * minimal valid cluster YAML, a way to edit it by text, and `at()`, which finds the line:col of a marker
 * in YAML text independently of the YAML parser, so position tests check the locator against the text.
 */
import { parseConfigText } from './parse.ts';
import type { ConfigResult } from './compile.ts';
import type { ConfigIssue } from './types.ts';

/** Where test configs pretend to live. */
export const TEST_FILE = '/etc/tandem/cluster.yaml';

/** A valid two-server config with a witness (so it compiles without warnings). */
export const BASE_YAML = `cluster:
  name: c1
  secretFile: ./cluster.secret
  witness: { target: 127.0.0.9 }
servers:
  - name: node-1
    interconnects: ["127.0.0.1:29102"]
  - name: node-2
    interconnects: ["127.0.0.2:29102"]
groups:
  - name: g1
    resources:
      - name: exec1
        type: exec
        start: ./start.sh
monitors: []
`;

/** `BASE_YAML` with each `[from, to]` text replacement applied; throws when `from` is absent. */
export function edit(...replacements: [string, string][]): string {
  let text = BASE_YAML;
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`edit: "${from}" not found in the base config`);
    text = text.replace(from, to);
  }
  return text;
}

/** 1-based line:col of the `nth` (0-based) occurrence of `marker` in `text`. */
export function at(text: string, marker: string, nth = 0): { line: number; col: number } {
  let idx = -1;
  for (let i = 0; i <= nth; i++) {
    idx = text.indexOf(marker, idx + 1);
    if (idx < 0) throw new Error(`at: "${marker}" (#${nth}) not found`);
  }
  const before = text.slice(0, idx);
  const line = before.split('\n').length;
  const col = idx - before.lastIndexOf('\n');
  return { line, col };
}

export function parse(text: string, file = TEST_FILE): ConfigResult {
  return parseConfigText(text, file);
}

export function errorsOf(r: ConfigResult): ConfigIssue[] {
  return r.issues.filter((i) => i.severity === 'error');
}

export function warningsOf(r: ConfigResult): ConfigIssue[] {
  return r.issues.filter((i) => i.severity === 'warning');
}
