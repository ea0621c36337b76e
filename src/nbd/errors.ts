/**
 * Failures of the NBD layer that are not answers to a request (those are `BackendError`s turned into NBD
 * error numbers): the server cannot listen, or a file backend cannot be opened. Each carries a stable code,
 * the object (socket address or file path) and the remedy, as STYLE.md 12-13 ask.
 */
import { TandemError } from '../shared/errors.ts';

export const NbdErrorCode = {
  /** Another process is serving on the unix socket path or the TCP port. */
  addressInUse: 'NBD_ADDRESS_IN_USE',
  /** The unix socket path exists and is not a socket: never removed, it may be someone's data. */
  pathNotSocket: 'NBD_PATH_NOT_SOCKET',
  /** listen() failed for another reason (permissions, missing directory, path too long, bad address). */
  listenFailed: 'NBD_LISTEN_FAILED',
  /** The backing file or device cannot be opened or sized. */
  backendOpenFailed: 'NBD_BACKEND_OPEN_FAILED',
  /** The backing file or device is smaller than the requested size, or smaller than 512 bytes. */
  backendSizeInvalid: 'NBD_BACKEND_SIZE_INVALID',
} as const;
export type NbdErrorCode = (typeof NbdErrorCode)[keyof typeof NbdErrorCode];

export class NbdError extends TandemError {
  readonly code: NbdErrorCode;
  readonly object: string;
  readonly remedy: string;
  constructor(
    args: { code: NbdErrorCode; object: string; message: string; remedy: string },
    options?: { cause?: unknown },
  ) {
    super(`${args.message} Remedy: ${args.remedy}`, options);
    this.code = args.code;
    this.object = args.object;
    this.remedy = args.remedy;
  }
}

/** `err.code` of a Node system error, or undefined. */
export function sysCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = err.code;
    return typeof c === 'string' ? c : undefined;
  }
  return undefined;
}
