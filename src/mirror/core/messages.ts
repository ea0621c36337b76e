/**
 * Named refusals and reports of the mirror disk engine (issue 5 section 2; STYLE.md 12). Codes are never
 * reused. Every entry says what is wrong and the remedy; the object (the volume) is named by the formatter.
 */

export const MIRROR_MESSAGES = {
  MD_TWO_PRIMARIES: {
    message: 'The peer is active (primary) and connected; two active copies are never allowed.',
    remedy: 'Deactivate the volume on the peer first (tandem md status NAME shows where it is active).',
  },
  MD_PEER_UNKNOWN: {
    message:
      'The local copy was opened without contact to its peer: it may lack writes the peer made after they were last connected.',
    remedy:
      'Connect the peer (start it and check the mirror connect path), or force the activation if the peer copy is lost for good (writes only the peer holds are then lost).',
  },
  MD_NOT_UP_TO_DATE: {
    message: 'The local copy is not up to date.',
    remedy:
      'Activate the volume on the server with the latest copy, or wait for the mirror recovery to finish; use --force only if that copy is lost for good (writes it lacks are lost).',
  },
  MD_PEER_NEWER: {
    message: 'The connected peer holds newer data than the local copy.',
    remedy: 'Activate the volume on the peer, or wait for the mirror recovery to copy its data here.',
  },
  MD_RESYNC_TARGET: {
    message: 'The local copy is being overwritten by the mirror recovery from the peer.',
    remedy: 'Wait for the recovery to finish (tandem md status NAME shows its progress).',
  },
  MD_SPLIT_BRAIN: {
    message:
      'Split brain: both copies were written while disconnected; neither is used to overwrite the other.',
    remedy:
      'Pick the copy to keep and run `tandem md recover NAME --source SERVER` (the other copy is overwritten).',
  },
  MD_UNRELATED: {
    message: 'The two copies have no common history (different data).',
    remedy:
      'Check that both servers use the right partitions, then run `tandem md recover NAME --source SERVER`.',
  },
  MD_VOLUME_MISMATCH: {
    message: 'The peer serves another volume (its volume id differs).',
    remedy:
      'Check the md resource on both servers: the same name must have the same volume id and partitions.',
  },
  MD_SIZE_MISMATCH: {
    message: 'The peer copy is smaller than the volume.',
    remedy: 'Give the peer a data partition at least as large as the volume size, or set a smaller `size`.',
  },
  MD_BROKEN: {
    message: 'Mirroring was stopped by the operator (mirror break).',
    remedy:
      'Run `tandem md recover NAME` (on either server) to resume mirroring from the copy the generations say is newer, or `--source SERVER` to choose it.',
  },
  MD_RECOVER_ACTIVE_VICTIM: {
    message: 'The copy that would be overwritten is active here.',
    remedy: 'Deactivate the volume on this server first, or choose this server as the source.',
  },
  MD_DISK_FAILED: {
    message:
      'The local disk of the copy failed (an I/O error on its data partition): the copy is never activated or used as a source.',
    remedy:
      'Replace or repair the data partition on this server, then run `tandem md recover NAME` here: the copy is rebuilt by a full resync from the peer.',
  },
  MD_PEER_DISK_FAILED: {
    message: 'The disk of the peer copy failed: nothing is mirrored to it, this copy goes on alone.',
    remedy:
      'Replace or repair the data partition on the peer, then run `tandem md recover NAME` (on either server): the peer copy is rebuilt by a full resync from this one.',
  },
  MD_RECOVER_NEEDS_SOURCE: {
    message:
      'Which copy to keep cannot be told from the generations (split brain, or copies with no common history).',
    remedy:
      'Run `tandem md recover NAME --source SERVER` naming the server whose copy wins; the other copy is overwritten.',
  },
  MD_NO_PEER: {
    message: 'The peer is not connected.',
    remedy:
      'Start the peer and check the mirror connect path (mdc); the request is applied when it connects.',
  },
} as const;

export type MirrorCode = keyof typeof MIRROR_MESSAGES;

/** A refused request or connection: code, message naming the volume, remedy. */
export interface MirrorRefusal {
  readonly code: MirrorCode;
  readonly message: string;
  readonly remedy: string;
}

/**
 * `Volume md1: The local copy is not up to date. (the peer wrote alone since ...)`. `remedy` replaces the
 * table's generic remedy when the caller can name the servers involved.
 */
export function refusal(code: MirrorCode, volume: string, detail?: string, remedy?: string): MirrorRefusal {
  const m = MIRROR_MESSAGES[code];
  return {
    code,
    message: `Volume ${volume}: ${m.message}${detail !== undefined ? ` (${detail})` : ''}`,
    remedy: remedy ?? m.remedy,
  };
}
