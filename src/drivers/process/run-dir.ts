/**
 * The runtime directory `<stateDir>/run/` shared by the process-based drivers (issue 3, section 3):
 *
 * - `pgids`: every process group a driver spawned (resource commands, async resources, monitor commands,
 *   recovery scripts), one per line. Groups that are gone are pruned on every write. Whoever must take this
 *   server down "as a crashed machine" (the test harness, the demo) kills the daemon's own group and these.
 * - `<resource>.pid`, `<resource>.active`, `<resource>.starting`: per-resource records of the exec driver.
 *
 * Writes are synchronous and atomic (temp file + rename): the files are tiny and a synchronous write cannot
 * interleave with another write of the same process.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isGroupAlive } from './proc.ts';

/** `<stateDir>/run`. */
export function runDirOf(stateDir: string): string {
  return join(stateDir, 'run');
}

/** Write `text` to `file` atomically (creating the directory). */
export function writeFileAtomic(file: string, text: string): void {
  const dir = file.slice(0, file.lastIndexOf('/')) || '.';
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}

/** Read a JSON file; null when it does not exist or does not parse. */
export function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}

/** Process groups recorded in `<runDir>/pgids`. */
export function readPgids(runDir: string): number[] {
  let text: string;
  try {
    text = readFileSync(join(runDir, 'pgids'), 'utf8');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (/^\d+$/.test(t)) out.push(Number(t));
  }
  return out;
}

/** Add `pgid` to `<runDir>/pgids`, dropping groups that no longer exist. */
export function recordPgid(runDir: string, pgid: number): void {
  const keep = new Set(readPgids(runDir).filter((g) => g !== pgid && isGroupAlive(g)));
  keep.add(pgid);
  writeFileAtomic(join(runDir, 'pgids'), [...keep].map((g) => `${g}\n`).join(''));
}
