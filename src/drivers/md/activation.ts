/**
 * What the `md` driver learned from its last activation attempt of a volume, for the `mdw` monitor (issue 5
 * section 3: "error on ... a refused activation"). The engine keeps no memory of refused requests (its
 * reducer refuses and moves on), so the driver records the refusal here, keyed by the volume object: a
 * reopened volume (daemon restart) starts clean, and nothing leaks when a volume is dropped.
 */
import type { MirrorVolume } from '../../mirror/volume.ts';

export interface RefusedActivation {
  /** The engine's code (MD_NOT_UP_TO_DATE, MD_SPLIT_BRAIN, ...). */
  readonly code: string;
  readonly message: string;
  readonly remedy: string;
}

const refused = new WeakMap<MirrorVolume, RefusedActivation>();

export function recordRefusal(v: MirrorVolume, r: RefusedActivation): void {
  refused.set(v, r);
}

export function clearRefusal(v: MirrorVolume): void {
  refused.delete(v);
}

/**
 * The last refused activation, while it still matters: once the copy is active, or is up to date and in
 * sync with its peer (the reason went away, e.g. the recovery finished), it is forgotten.
 */
export function activeRefusal(v: MirrorVolume): RefusedActivation | null {
  const r = refused.get(v);
  if (r === undefined) return null;
  const s = v.status();
  if (s.role === 'primary' || (s.local === 'UpToDate' && s.connection.kind === 'Connected')) {
    refused.delete(v);
    return null;
  }
  return r;
}
