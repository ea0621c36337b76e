/**
 * The daemon's view of its mirror disk copies for the API (issue 5 section 3): `MirrorStatus` of the engine
 * turned into the `MirrorDiskStatus` of the status document, and the operator's `tandem md break|recover`
 * carried out on the local copy with a reply like every other operator request.
 *
 * Each copy also carries `diskFailure` (MD_DISK_FAILED: the local disk failed, with the volume, server,
 * path, error and remedy; `local` is then `Failed`) and `recoveryPending` (`autoRecovery: false` and the
 * copies differ: the command that starts the recovery).
 */
import type { OperatorReply } from '../core/types.ts';
import type { MirrorHost } from '../mirror/host.ts';
import { MirrorRefusedError, type MirrorStatus } from '../mirror/volume.ts';
import type { CompiledConfig } from '../shared/config/types.ts';
import { OperationErrorCode } from '../shared/errors.ts';
import type { MirrorDiskStatus } from '../shared/status.ts';

/** How long a `tandem md force` permission waits for the activation it allows. */
export const FORCE_WINDOW_MS = 10 * 60_000;

function connectionText(c: MirrorStatus['connection']): string {
  switch (c.kind) {
    case 'Resyncing':
      return `Resyncing ${c.direction}${c.full ? ' (full)' : ''}`;
    case 'SplitBrain':
      return `SplitBrain: ${c.why}`;
    case 'Refused':
      return `Refused: ${c.code}: ${c.why}`;
    case 'RecoveryPending':
      return `RecoveryPending ${c.direction}${c.full ? ' (full)' : ''}: ${c.why}`;
    default:
      return c.kind;
  }
}

/** The md resources this server holds a copy of, with the peer of each. */
function localMirrors(config: CompiledConfig, self: string): { name: string; peer: string }[] {
  const out: { name: string; peer: string }[] = [];
  for (const r of config.resources) {
    if (r.type !== 'md') continue;
    const peer = r.perServer[self]?.['peer'];
    if (typeof peer === 'string') out.push({ name: r.name, peer });
  }
  return out;
}

export function mirrorStatuses(
  host: MirrorHost | null,
  config: CompiledConfig,
  self: string,
): MirrorDiskStatus[] {
  const out: MirrorDiskStatus[] = [];
  for (const { name, peer } of localMirrors(config, self)) {
    const v = host?.volume(name) ?? null;
    if (v === null) {
      const e = host?.openError(name) ?? {
        code: 'MD_NOT_OPEN',
        message: `The local copy of ${name} is not open on ${self}.`,
        remedy: 'Check the daemon log for why it could not be opened (dataPath, clusterPath).',
      };
      out.push({
        name,
        server: self,
        peerServer: peer,
        role: 'none',
        local: 'Unknown',
        peer: 'Unknown',
        connection: 'Disconnected',
        dirtyBytes: 0,
        resync: null,
        asyncQueueDepth: 0,
        error: e,
        diskFailure: null,
        recoveryPending: null,
      });
      continue;
    }
    const s = v.status();
    out.push({
      name,
      server: self,
      peerServer: peer,
      role: s.role,
      local: s.local,
      peer: s.peer,
      connection: connectionText(s.connection),
      dirtyBytes: s.dirtyBytes,
      resync: s.resync === null ? null : { ...s.resync },
      asyncQueueDepth: s.asyncQueueDepth,
      error: null,
      diskFailure: s.diskFailure === null ? null : { ...s.diskFailure },
      recoveryPending: s.recoveryPending === null ? null : { ...s.recoveryPending },
    });
  }
  return out;
}

export async function mirrorOperation(
  host: MirrorHost | null,
  config: CompiledConfig,
  self: string,
  op: { action: 'break' | 'recover' | 'force'; name: string; source?: string },
): Promise<OperatorReply> {
  const requestId = `md-${op.action}-${op.name}`;
  const refused = (code: OperationErrorCode, message: string, remedy: string): OperatorReply => ({
    requestId,
    ok: false,
    code,
    object: op.name,
    message,
    remedy,
  });
  const m = localMirrors(config, self).find((x) => x.name === op.name);
  if (!m) {
    const names = localMirrors(config, self).map((x) => x.name);
    return refused(
      OperationErrorCode.notFound,
      `${self} holds no copy of a mirror disk named ${op.name}.`,
      names.length > 0
        ? `Mirror disks on ${self}: ${names.join(', ')}.`
        : `Ask a server of the md resource's group (--host).`,
    );
  }
  const v = host?.volume(op.name) ?? null;
  if (v === null) {
    const e = host?.openError(op.name);
    return refused(
      OperationErrorCode.serverUnavailable,
      `The local copy of ${op.name} is not open on ${self}${e ? `: ${e.message}` : ''}.`,
      e?.remedy ?? 'Check the daemon log.',
    );
  }
  if (op.action === 'force') {
    host?.allowForce(op.name, FORCE_WINDOW_MS);
    const group = config.resources.find((r) => r.name === op.name)?.group ?? 'GROUP';
    return {
      requestId,
      ok: true,
      message:
        `The next activation of ${op.name} on ${self} within ${FORCE_WINDOW_MS / 60_000} minutes is forced: ` +
        `run tandem group start ${group} --to ${self}. Writes that only the other copy has are lost; ` +
        `when both copies meet again, resolve with tandem md recover ${op.name} --source ${self}.`,
    };
  }
  try {
    if (op.action === 'break') {
      const r = await v.break();
      return {
        requestId,
        ok: true,
        message:
          `Mirroring of ${op.name} is broken on ${self}; this copy goes on alone.` +
          (r.peerOutdated
            ? ` The copy on ${m.peer} is marked outdated (not activated unforced until tandem md recover ${op.name}).`
            : ''),
      };
    }
    if (op.source !== undefined && op.source !== self && op.source !== m.peer) {
      return refused(
        OperationErrorCode.invalidRequest,
        `recover --source must name ${self} or ${m.peer} (the copy that wins), not ${op.source}.`,
        `tandem md status ${op.name} shows both copies; choose the one with the data to keep, or leave --source out to take the copy the generations say is newer.`,
      );
    }
    const source = op.source === undefined ? 'auto' : op.source === self ? 'local' : 'peer';
    await v.recover(source);
    return {
      requestId,
      ok: true,
      message:
        op.source === undefined
          ? `Recovery of ${op.name} requested on ${self}: the copy the generations say is newer is the source (tandem md status ${op.name} shows the progress).`
          : `Recovery of ${op.name} started: the copy on ${op.source} is the source; the other is resynced from it.`,
    };
  } catch (err) {
    if (err instanceof MirrorRefusedError) {
      return refused(OperationErrorCode.invalidRequest, `${err.code}: ${err.message}`, err.remedy);
    }
    throw err;
  }
}
