/**
 * Test helpers for driver tests: a temporary config directory with scripts, a DriverContext that records
 * log lines, an event-driven "wait for this log line", and cleanup that kills every process group the
 * drivers recorded (so no test leaves processes behind).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAwsAccess } from '../../src/aws/access.ts';
import type { AwsAccess } from '../../src/aws/types.ts';
import type { DriverContext } from '../../src/drivers/driver.ts';
import { isGroupAlive, killGroup } from '../../src/drivers/process/proc.ts';
import { readPgids, runDirOf } from '../../src/drivers/process/run-dir.ts';
import type { CompiledConfig } from '../../src/shared/config/types.ts';

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'tandem-drv-'));
  readonly stateDir = join(this.dir, 'state');
  readonly logs: LogLine[] = [];
  #waiters: { re: RegExp; resolve: (l: LogLine) => void }[] = [];

  /** Write an executable script (mode 755 unless `mode` says otherwise). */
  script(name: string, body: string, mode = 0o755): string {
    const p = join(this.dir, name);
    writeFileSync(p, body.startsWith('#!') ? body : `#!/bin/sh\n${body}\n`);
    chmodSync(p, mode);
    return p;
  }

  ctx(
    config: CompiledConfig,
    signal: AbortSignal = new AbortController().signal,
    server = 'node-1',
    aws: AwsAccess = createAwsAccess(config.aws),
  ): DriverContext {
    return {
      server,
      aws,
      config,
      signal,
      stateDir: this.stateDir,
      log: (level, msg, fields) => {
        const l = { level, msg, fields: fields ?? {} };
        this.logs.push(l);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.re.test(msg)) return true;
          w.resolve(l);
          return false;
        });
      },
    };
  }

  /** Resolves when a log line matching `re` arrives (or has arrived). */
  logLine(re: RegExp): Promise<LogLine> {
    const seen = this.logs.find((l) => re.test(l.msg));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ re, resolve }));
  }

  /** Kill every recorded process group and remove the directory. */
  cleanup(): void {
    for (const g of readPgids(runDirOf(this.stateDir))) if (isGroupAlive(g)) killGroup(g, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Poll `cond` (a /proc or file check with no event to await) every 10 ms; throws after `timeoutMs`. */
export async function waitUntil(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
