/**
 * Message tables of the `md` resource and its `mdw` / `mdnw` monitors (STYLE.md 12; issue 5 sections 1
 * and 3). The engine's own refusals (src/mirror/core/messages.ts, string codes such as MD_NOT_UP_TO_DATE)
 * are mapped onto these numeric codes by the driver, which appends the engine's reason and remedy to the
 * message, so the operator sees both the number of this table and the engine's words. Codes are never
 * reused: retire an entry by leaving its code out for good. docs/messages.md mirrors these tables.
 */
import type { DriverMessage } from '../messages.ts';

export const MD_MESSAGES = [
  {
    code: 1,
    id: 'MD_COPY_NOT_LATEST',
    message: 'Activation was refused: the local copy is not the latest.',
    remedy:
      'Start the group on the server that holds the latest copy (tandem md status NAME), or wait for the mirror recovery to finish; force only if that copy is lost for good (the writes it lacks are lost).',
    retryable: false,
  },
  {
    code: 2,
    id: 'MD_SPLIT_BRAIN',
    message: 'Activation was refused: split brain (both copies were written while disconnected).',
    remedy:
      'Pick the copy to keep and run `tandem md recover NAME --source SERVER` (the other copy is overwritten), then start the group.',
    retryable: false,
  },
  {
    code: 3,
    id: 'MD_NOT_OPEN',
    message: 'The local copy of the volume is not open on this server.',
    remedy:
      'Read the reason in the message (and the daemon log at startup): fix dataPath, clusterPath or mdc of the resource for this server, then restart the daemon.',
    retryable: false,
  },
  {
    code: 4,
    id: 'MD_NBD_FAILED',
    message: 'The volume could not be served over NBD.',
    remedy:
      'Read the reason in the message: stop whatever uses the NBD socket or port, or configure another `nbd` endpoint for this server.',
    retryable: true,
  },
  {
    code: 5,
    id: 'MD_MOUNT_FAILED',
    message: 'The volume could not be mounted.',
    remedy:
      'Run the mount command shown by hand: check that the mount point exists, that the file system type is right and that the volume holds a file system (mkfs once, on the active server).',
    retryable: true,
  },
  {
    code: 6,
    id: 'MD_UNMOUNT_BUSY',
    message: 'The volume could not be unmounted: the mount point is busy.',
    remedy:
      'Stop the processes shown (they have files open or their working directory under the mount point), or make the application resource stop them, then stop the group again.',
    retryable: true,
  },
  {
    code: 7,
    id: 'MD_NBD_CLIENT_FAILED',
    message: 'nbd-client failed.',
    remedy:
      'Run the nbd-client command shown by hand: load the nbd kernel module (modprobe nbd) and check that the device is not attached to something else (nbd-client -c DEVICE).',
    retryable: true,
  },
  {
    code: 8,
    id: 'MD_INVALID_PARAMS',
    message: 'The resource parameters are invalid.',
    remedy: 'Fix the resource in the config file; run `tandem config check` to see every problem.',
    retryable: false,
  },
  {
    code: 9,
    id: 'MD_PEER_ACTIVE',
    message: 'Activation was refused: the volume is active on the peer.',
    remedy:
      'Stop the group on the other server first (two active copies are never allowed); tandem md status NAME shows where it is active.',
    retryable: true,
  },
  {
    code: 10,
    id: 'MD_ACTIVATION_REFUSED',
    message: 'Activation was refused by the mirror.',
    remedy: 'Follow the remedy in the message; tandem md status NAME shows the state of both copies.',
    retryable: false,
  },
  {
    code: 11,
    id: 'MD_COMMAND_MISSING',
    message: 'A program the mount needs is not installed.',
    remedy:
      'Install it (nbd-client: apt-get install nbd-client or dnf install nbd; mount, umount: util-linux; fuser: psmisc), or remove `mount` from the resource to serve over NBD only.',
    retryable: false,
  },
  {
    code: 12,
    id: 'MD_UNMOUNT_FAILED',
    message: 'The volume could not be unmounted.',
    remedy: 'Run the umount command shown by hand and read its error.',
    retryable: true,
  },
  {
    code: 13,
    id: 'MD_DEACTIVATE_FAILED',
    message: 'The local copy could not be deactivated.',
    remedy:
      'Read the reason in the message (usually the cluster partition cannot be written): check the disk holding clusterPath, then stop the group again.',
    retryable: true,
  },
  {
    code: 14,
    id: 'MD_DISK_FAILED',
    message: 'Activation was refused: the local disk of the copy failed.',
    remedy:
      'Start the group on the other server (its copy is up to date when the mirror was in sync). Replace or repair the data partition of this server, then run `tandem md recover NAME` on it: its copy is rebuilt by a full resync from the peer.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type MdMessageId = (typeof MD_MESSAGES)[number]['id'];

export const MDW_MESSAGES = [
  {
    code: 1,
    id: 'MDW_NOT_OPEN',
    message: 'The local copy of the volume could not be opened.',
    remedy:
      'Read the reason in the message: fix dataPath, clusterPath or mdc of the resource for this server, then restart the daemon.',
    retryable: false,
  },
  {
    code: 2,
    id: 'MDW_DISK_FAILED',
    message: 'The local disk of the volume failed.',
    remedy:
      'Check the data and cluster partitions of this server (kernel log, the EBS volume in the AWS console); replace or repair the disk, then run `tandem md recover NAME` on this server: its copy is rebuilt by a full resync from the peer.',
    retryable: false,
  },
  {
    code: 3,
    id: 'MDW_SPLIT_BRAIN',
    message: 'Split brain: both copies were written while disconnected.',
    remedy:
      'Pick the copy to keep and run `tandem md recover NAME --source SERVER`; the other copy is overwritten. Nothing is resolved automatically.',
    retryable: false,
  },
  {
    code: 4,
    id: 'MDW_ACTIVATION_REFUSED',
    message: 'An activation of the local copy was refused.',
    remedy:
      'Follow the remedy in the message; the group runs on the server holding the latest copy (tandem md status NAME).',
    retryable: false,
  },
  {
    code: 5,
    id: 'MDW_MIRROR_REFUSED',
    message: 'The two copies may not be mirrored.',
    remedy:
      'Follow the remedy in the message (check that both servers use the right partitions for the volume), then run `tandem md recover NAME --source SERVER`.',
    retryable: false,
  },
  {
    code: 103,
    id: 'MDW_SPLIT_BRAIN_ACTIVE',
    message: 'Split brain: both copies were written while disconnected.',
    remedy:
      'The active copy keeps serving (a warning: failing the group over to the other half would be refused). Pick the copy to keep and run `tandem md recover NAME --source SERVER`; the other copy is overwritten.',
    retryable: false,
  },
  {
    code: 105,
    id: 'MDW_MIRROR_REFUSED_ACTIVE',
    message: 'The two copies may not be mirrored.',
    remedy:
      'The active copy keeps serving alone (a warning). Follow the remedy in the message, then run `tandem md recover NAME --source SERVER` to resume mirroring.',
    retryable: false,
  },
  {
    code: 6,
    id: 'MDW_INVALID_PARAMS',
    message: 'The monitor parameters are invalid.',
    remedy: 'Set `resource` to the name of an md resource; run `tandem config check`.',
    retryable: false,
  },
  {
    code: 7,
    id: 'MDW_RESYNCING',
    message: 'Mirror recovery in progress.',
    remedy:
      'Nothing to do: the copies are being made identical; until it is done, the copy that receives the recovery cannot be activated.',
    retryable: true,
  },
  {
    code: 8,
    id: 'MDW_PEER_AWAY',
    message: 'The volume is active without its peer: writes are not mirrored.',
    remedy:
      'Start the peer server (or repair the mirror connect); the regions written meanwhile are copied to it when it returns.',
    retryable: true,
  },
  {
    code: 9,
    id: 'MDW_RECOVERY_PENDING',
    message: 'Mirror recovery pending: the copies differ and autoRecovery is off.',
    remedy:
      'Run `tandem md recover NAME` (on either server) to copy what differs from the newer copy; until then the active copy goes on alone and the other copy cannot be activated unforced.',
    retryable: true,
  },
  {
    code: 10,
    id: 'MDW_PEER_DISK_FAILED',
    message: "The peer's disk failed: writes are not mirrored.",
    remedy:
      "Replace or repair the peer's data partition, then run `tandem md recover NAME`: the peer's copy is rebuilt by a full resync from this one.",
    retryable: true,
  },
] as const satisfies readonly DriverMessage[];

export type MdwMessageId = (typeof MDW_MESSAGES)[number]['id'];

export const MDNW_MESSAGES = [
  {
    code: 1,
    id: 'MDNW_DISCONNECTED',
    message: 'The mirror connect to the peer is down.',
    remedy:
      "Check that the peer's daemon runs and that this server reaches the peer's mdc address (security groups, firewall: TCP to the mdc port); the active copy marks what the peer lacks meanwhile.",
    retryable: true,
  },
  {
    code: 2,
    id: 'MDNW_REFUSED',
    message: 'The peer is connected but the copies are not mirrored.',
    remedy:
      'Follow the remedy in the message (split brain, broken mirror or mismatched copies); `tandem md recover NAME --source SERVER` resumes mirroring.',
    retryable: false,
  },
  {
    code: 3,
    id: 'MDNW_NOT_OPEN',
    message: 'The local copy of the volume is not open, so there is no mirror connect.',
    remedy:
      'Read the reason in the message (mdw reports it too): fix the resource for this server, then restart the daemon.',
    retryable: false,
  },
  {
    code: 4,
    id: 'MDNW_INVALID_PARAMS',
    message: 'The monitor parameters are invalid.',
    remedy: 'Set `resource` to the name of an md resource; run `tandem config check`.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type MdnwMessageId = (typeof MDNW_MESSAGES)[number]['id'];
