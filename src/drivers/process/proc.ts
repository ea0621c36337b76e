/**
 * Process identity helpers for drivers that start long-lived processes (issue 3, section 3: exec resource,
 * pid monitor). A pid alone is not an identity: after a crash or a reboot the number may belong to some other
 * process. We therefore record a pid together with the kernel boot id and the process start time (field 22
 * of /proc/<pid>/stat, clock ticks since boot) and only treat the process as ours when all three match.
 *
 * Linux-only by design (Tandem manages EC2 Linux instances). Where /proc is not readable the helpers degrade
 * to pid-only checks and say so through `null` start times.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Kernel boot id (changes on every boot), or null when /proc is unavailable. */
export function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

interface StatFields {
  state: string;
  pgrp: number;
  startTime: string;
}

/** Parse /proc/<pid>/stat. The command name (field 2) may contain spaces and parentheses: split after the last ')'. */
function readStat(pid: number): StatFields | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // Fields from 3 on: state(3) ppid(4) pgrp(5) ... starttime(22).
  const rest = text
    .slice(close + 2)
    .trim()
    .split(' ');
  const state = rest[0];
  const pgrp = Number(rest[2]);
  const startTime = rest[19];
  if (state === undefined || startTime === undefined || !Number.isInteger(pgrp)) return null;
  return { state, pgrp, startTime };
}

/** Start time of `pid` in clock ticks since boot (as text), or null when unknown. */
export function processStartTime(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

function signalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    // EPERM: exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when `pid` exists, is not a zombie and, when `startTime` is given, started at that time (so a recycled
 * pid is not mistaken for ours).
 */
export function isProcessAlive(pid: number, startTime: string | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const st = readStat(pid);
  if (st === null) return signalZero(pid) && startTime === null;
  if (st.state === 'Z' || st.state === 'X') return false;
  return startTime === null || st.startTime === startTime;
}

/** True while some live (non-zombie) process is in process group `pgid`. */
export function isGroupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  if (!signalZero(-pgid)) return false;
  // kill(-pgid, 0) also succeeds for zombies nobody reaped yet; confirm through /proc when we can.
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = readStat(Number(e));
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') return true;
  }
  return false;
}

/** Send `signal` to every process of group `pgid`; false when the group is gone. Never throws. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
