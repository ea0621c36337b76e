/**
 * Config problems (issue section 2): how they are collected, where they point, and how they are printed
 * (`FILE:LINE:COL: path.to.key: what is wrong; how to fix it`). Checks report a path as segments plus
 * whether the key itself or its value is at fault; `parse.ts` turns segments into line:col through the
 * YAML document, `compileConfig` (no document) leaves the position at 0:0.
 */
import type { ConfigIssue } from './types.ts';

/** One step into the YAML tree: a map key or a list index. */
export type PathSeg = string | number;

/**
 * What to point at: `value` = the value of the path (or, for a whole map/list, its key), `key` = the
 * key itself (unknown keys, bad map keys). A missing path always points at its nearest existing parent.
 */
export type PointAt = 'value' | 'key';

/** A problem before positions are known. */
export interface PendingIssue {
  severity: 'error' | 'warning';
  path: readonly PathSeg[];
  pointAt: PointAt;
  message: string;
  remedy: string;
}

/** Maps a path to a 1-based `{ line, col }` (0:0 when unknown). */
export type Locator = (path: readonly PathSeg[], pointAt: PointAt) => { line: number; col: number };

export const noLocator: Locator = () => ({ line: 0, col: 0 });

function startsWith(path: readonly PathSeg[], prefix: readonly PathSeg[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => p === path[i]);
}

/**
 * Collects issues in the order checks find them. Paths set with `quietUnder` (keys the schema already
 * rejected and the compiler pruned) swallow later issues at, under or above them: the compiler saw a
 * default there, not what the file says, so anything it concluded about that spot would mislead.
 */
export class IssueList {
  readonly items: PendingIssue[] = [];
  private quiet: readonly (readonly PathSeg[])[] = [];

  quietUnder(paths: readonly (readonly PathSeg[])[]): void {
    this.quiet = paths;
  }

  /** True when a pruned path lies at or under `path`. */
  isPruned(path: readonly PathSeg[]): boolean {
    return this.quiet.some((q) => startsWith(q, path));
  }

  private add(issue: PendingIssue): void {
    if (this.quiet.some((q) => startsWith(issue.path, q) || startsWith(q, issue.path))) return;
    this.items.push(issue);
  }

  error(path: readonly PathSeg[], message: string, remedy: string, pointAt: PointAt = 'value'): void {
    this.add({ severity: 'error', path, pointAt, message, remedy });
  }

  warn(path: readonly PathSeg[], message: string, remedy: string, pointAt: PointAt = 'value'): void {
    this.add({ severity: 'warning', path, pointAt, message, remedy });
  }

  get errorCount(): number {
    return this.items.filter((i) => i.severity === 'error').length;
  }
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['groups', 0, 'resources', 1, 'dependsOn']` -> `groups[0].resources[1].dependsOn`. */
export function renderPath(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Attaches positions and renders paths; sorted by position (unknown positions last), stable otherwise. */
export function finishIssues(pending: readonly PendingIssue[], locate: Locator): ConfigIssue[] {
  const out = pending.map((p, index) => {
    const { line, col } = locate(p.path, p.pointAt);
    const issue: ConfigIssue = {
      severity: p.severity,
      path: renderPath(p.path),
      line,
      col,
      message: p.message,
      remedy: p.remedy,
    };
    return { issue, index };
  });
  const rank = (i: ConfigIssue): number => (i.line === 0 ? Number.MAX_SAFE_INTEGER : i.line);
  out.sort((a, b) => rank(a.issue) - rank(b.issue) || a.issue.col - b.issue.col || a.index - b.index);
  return out.map((o) => o.issue);
}

/**
 * `FILE:LINE:COL: path.to.key: what is wrong; how to fix it`, warnings as
 * `FILE:LINE:COL: warning: path: ...`. Without a known position: `FILE: path: ...`; without a path
 * (a YAML syntax error, an empty file): `FILE:LINE:COL: what is wrong; how to fix it`.
 */
export function formatIssue(issue: ConfigIssue, file: string): string {
  const where = issue.line > 0 ? `${file}:${issue.line}:${issue.col}:` : `${file}:`;
  const level = issue.severity === 'warning' ? ' warning:' : '';
  const path = issue.path === '' ? '' : ` ${issue.path}:`;
  const remedy = issue.remedy === '' ? '' : `; ${issue.remedy}`;
  return `${where}${level}${path} ${issue.message}${remedy}`;
}

/** True when any issue is an error (warnings alone never stop a config). */
export function hasErrors(issues: readonly ConfigIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

/** Edit distance counting a swap of adjacent letters as one edit (optimal string alignment), case-insensitive. */
function distance(x: string, y: string): number {
  const a = x.toLowerCase();
  const b = y.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const get = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i];
    if (row === undefined) continue;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(get(i - 1, j) + 1, get(i, j - 1) + 1, get(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, get(i - 2, j - 2) + 1);
      row[j] = v;
    }
  }
  return get(a.length, b.length);
}

/** The closest candidate when it is plausibly a typo of `word`, else null. */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : null;
}

/** `did you mean "x"? ` prefix when there is a close candidate, else ''. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const c = closest(word, candidates);
  return c === null ? '' : `did you mean "${c}"? `;
}

/** `a, b, c` (each once, in first-seen order) or `(none)`. */
export function listNames(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : [...new Set(names)].join(', ');
}
