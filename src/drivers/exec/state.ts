/**
 * On-disk records of the `exec` resource type in `<stateDir>/run/` (issue 3, section 3). They are what lets a
 * restarted daemon find what is still running (the startup probe) and what the `pid` monitor watches:
 *
 * - `<resource>.pid` (async resources): `{ pid, pgid, startTime, bootId, ... }` of the started process. The
 *   process is ours only while the boot id and the start time from /proc/<pid>/stat still match, so a
 *   recycled pid or a reboot is never mistaken for the resource.
 * - `<resource>.starting` (non-async): written before the start command runs, removed once it succeeded.
 *   A leftover means a start failed or was interrupted; the next stop runs the stop command to clean up.
 * - `<resource>.active` (non-async): written after a successful start, removed after stop. Carries the boot
 *   id: a marker from before a reboot does not count (the machine's processes are gone).
 * - `<resource>.out`: output of an async resource's process (appended).
 */
import { join } from 'node:path';
import { bootId, isProcessAlive } from '../process/proc.ts';
import { readJson, runDirOf } from '../process/run-dir.ts';

export interface AsyncRecord {
  pid: number;
  /** Process group (= pid: the shell is the group leader). */
  pgid: number;
  /** Field 22 of /proc/<pid>/stat, or null when /proc is unreadable. */
  startTime: string | null;
  bootId: string | null;
  command: string;
  /** Wall-clock ms when started (display only). */
  startedAt: number;
}

export interface MarkerRecord {
  bootId: string | null;
  /** Wall-clock ms of the event (display only). */
  at: number;
  /** Process group of the start command (its background children may still be in it). */
  pgid: number | null;
}

function fileName(resource: string): string {
  return encodeURIComponent(resource);
}

export function pidFile(stateDir: string, resource: string): string {
  return join(runDirOf(stateDir), `${fileName(resource)}.pid`);
}
export function activeFile(stateDir: string, resource: string): string {
  return join(runDirOf(stateDir), `${fileName(resource)}.active`);
}
export function startingFile(stateDir: string, resource: string): string {
  return join(runDirOf(stateDir), `${fileName(resource)}.starting`);
}
export function outputFile(stateDir: string, resource: string): string {
  return join(runDirOf(stateDir), `${fileName(resource)}.out`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export function readAsyncRecord(stateDir: string, resource: string): AsyncRecord | null {
  const v = readJson(pidFile(stateDir, resource));
  if (!isObj(v) || typeof v.pid !== 'number' || typeof v.pgid !== 'number') return null;
  return {
    pid: v.pid,
    pgid: v.pgid,
    startTime: typeof v.startTime === 'string' ? v.startTime : null,
    bootId: typeof v.bootId === 'string' ? v.bootId : null,
    command: typeof v.command === 'string' ? v.command : '',
    startedAt: typeof v.startedAt === 'number' ? v.startedAt : 0,
  };
}

export function readMarker(file: string): MarkerRecord | null {
  const v = readJson(file);
  if (!isObj(v)) return null;
  return {
    bootId: typeof v.bootId === 'string' ? v.bootId : null,
    at: typeof v.at === 'number' ? v.at : 0,
    pgid: typeof v.pgid === 'number' ? v.pgid : null,
  };
}

/** True when the record was written during this boot (unknown boot ids count as this boot). */
export function sameBoot(recorded: string | null): boolean {
  const now = bootId();
  return recorded === null || now === null || recorded === now;
}

/** True while the recorded async process is alive and is the same process (boot id and start time match). */
export function isRecordAlive(rec: AsyncRecord): boolean {
  return sameBoot(rec.bootId) && isProcessAlive(rec.pid, rec.startTime);
}
