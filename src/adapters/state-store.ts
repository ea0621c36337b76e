/**
 * The daemon's persisted decisions in `<stateDir>/state.json` (issue 3 section 3, "State ... lives in
 * --state-dir"; the loop persists before it sends). Writes are atomic: a temp file in the same directory is
 * written and fsynced, renamed over state.json, and the directory is fsynced, so after a crash the file is
 * either the old or the new state, never a torn one. Saves are serialized in call order.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { PersistedState, StateStore } from '../ports/store.ts';
import { ConfigError } from '../shared/errors.ts';

export const STATE_FILE = 'state.json';

let tmpCounter = 0;

const persistedSchema = z.looseObject({
  serviceWanted: z.enum(['running', 'stopped']),
  failedGroups: z.record(z.string(), z.array(z.string())),
});

/**
 * Write `data` to `file` atomically (temp + fsync + rename + fsync of the directory).
 * @param mode permission bits of a newly created file
 */
export async function writeFileAtomic(
  dir: string,
  name: string,
  data: string | Buffer,
  mode = 0o644,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${++tmpCounter}.tmp`);
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // Make the rename itself durable. Some filesystems refuse fsync on a directory; the rename is then as
  // durable as that filesystem makes it.
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // see above
  }
}

export interface FileStateStoreOptions {
  /** The daemon's --state-dir (created on first save). */
  stateDir: string;
}

export class FileStateStore implements StateStore {
  readonly #dir: string;
  #chain: Promise<void> = Promise.resolve();

  constructor(opts: FileStateStoreOptions) {
    this.#dir = opts.stateDir;
  }

  get file(): string {
    return join(this.#dir, STATE_FILE);
  }

  /**
   * The saved state, or null when none was saved yet.
   * @throws ConfigError when state.json exists but is not a valid saved state (edited by hand).
   */
  async load(): Promise<PersistedState | null> {
    await this.#chain;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let parsed;
    try {
      parsed = persistedSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = null;
    }
    if (parsed === null || !parsed.success) {
      const message = `${this.file} is not a valid Tandem state file.`;
      const remedy =
        'Restore it, or remove it to start with defaults (the cluster service runs and all failover marks are cleared).';
      throw new ConfigError(`${message} (STATE_FILE_INVALID) ${remedy}`, [
        { severity: 'error', path: STATE_FILE, line: 0, col: 0, message, remedy },
      ]);
    }
    return parsed.data;
  }

  save(state: PersistedState): Promise<void> {
    const text = `${JSON.stringify(state, null, 2)}\n`;
    const next = this.#chain.then(() => writeFileAtomic(this.#dir, STATE_FILE, text));
    // Keep the chain alive after a failed save; the caller sees the failure through `next`.
    this.#chain = next.catch(() => undefined);
    return next;
  }
}
