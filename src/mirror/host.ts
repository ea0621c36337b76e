/**
 * The daemon's mirror disk volumes (issue 5), as drivers, monitors and the API see them: one `MirrorVolume`
 * per `md` resource this server holds a copy of, opened when the daemon starts (the standby's copy receives
 * the active server's writes whether or not its group runs here) and closed when it stops. The daemon
 * implements it (src/daemon/mirror-host.ts).
 */
import type { MirrorStatus, MirrorVolume } from './volume.ts';

export interface MirrorHost {
  /** The local copy of md resource `name`, or null when this server holds none. */
  volume(name: string): MirrorVolume | null;
  /** Why the local copy of `name` could not be opened (bad path, metadata error), or null. */
  openError(name: string): { code: string; message: string; remedy: string } | null;
  /**
   * The operator's `tandem md force NAME`: the next activation of `name` on this server (within `forMs`)
   * promotes the local copy even when it is not known to be the latest. Used once.
   */
  allowForce(name: string, forMs: number): void;
  /** Whether an activation of `name` now is forced (consumes the permission). */
  takeForce(name: string): boolean;
  /** Status of every local volume, in config order. */
  statuses(): MirrorStatus[];
  close(): Promise<void>;
}
