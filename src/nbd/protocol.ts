/**
 * The NBD wire protocol (issue 5, "the volume reaches the application through the NBD protocol"): constants,
 * encoders of what the server sends and decoders/validators of what the client sends. Pure: no sockets, no
 * clock; src/nbd/server.ts drives it.
 *
 * Reference: doc/proto.md of the NetworkBlockDevice/nbd repository. Tandem speaks the subset the Debian clients
 * (qemu-img, qemu-io, nbdfuse, nbd-client) need:
 * - handshake: fixed newstyle only (NBDMAGIC + IHAVEOPT, flags FIXED_NEWSTYLE | NO_ZEROES);
 * - options: EXPORT_NAME, ABORT, LIST, INFO, GO (replies NBD_INFO_EXPORT and NBD_INFO_BLOCK_SIZE); every other
 *   option, STRUCTURED_REPLY included, is answered NBD_REP_ERR_UNSUP, so only simple replies are used;
 * - transmission: READ, WRITE, DISC, FLUSH, TRIM, WRITE_ZEROES with the FUA and NO_HOLE command flags.
 *
 * All numbers on the wire are big-endian. 64-bit offsets are decoded into JS numbers; anything above 2^53 is
 * out of range of every export anyway and is reported as such (never silently truncated).
 */

/** 'NBDMAGIC': first 8 bytes the server sends. */
export const NBD_MAGIC = 0x4e42444d41474943n;
/** 'IHAVEOPT': second 8 bytes of the greeting and the magic of every option the client sends. */
export const NBD_OPTS_MAGIC = 0x49484156454f5054n;
/** Magic of every option reply. */
export const NBD_REP_MAGIC = 0x3e889045565a9n;
export const NBD_REQUEST_MAGIC = 0x25609513;
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;

/** Handshake flags (server, 16 bits) and client flags (32 bits) share the bit values. */
export const HandshakeFlag = { fixedNewstyle: 1 << 0, noZeroes: 1 << 1 } as const;
/** Client flags this server understands; a client setting any other bit is disconnected (spec: MUST). */
export const KNOWN_CLIENT_FLAGS = HandshakeFlag.fixedNewstyle | HandshakeFlag.noZeroes;

export const NbdOpt = {
  exportName: 1,
  abort: 2,
  list: 3,
  peekExport: 4,
  startTls: 5,
  info: 6,
  go: 7,
  structuredReply: 8,
  listMetaContext: 9,
  setMetaContext: 10,
  extendedHeaders: 11,
} as const;

const ERR = 0x80000000;
export const NbdRep = {
  ack: 1,
  server: 2,
  info: 3,
  errUnsup: ERR + 1,
  errPolicy: ERR + 2,
  errInvalid: ERR + 3,
  errPlatform: ERR + 4,
  errTlsReqd: ERR + 5,
  /** The requested export is not available (unknown name, or not served by this server right now). */
  errUnknown: ERR + 6,
  errShutdown: ERR + 7,
  errBlockSizeReqd: ERR + 8,
  errTooBig: ERR + 9,
} as const;

export const NbdInfo = { export: 0, name: 1, description: 2, blockSize: 3 } as const;

/** Transmission flags (16 bits), sent with the export's size. */
export const TransmissionFlag = {
  hasFlags: 1 << 0,
  readOnly: 1 << 1,
  sendFlush: 1 << 2,
  sendFua: 1 << 3,
  rotational: 1 << 4,
  sendTrim: 1 << 5,
  sendWriteZeroes: 1 << 6,
  sendDf: 1 << 7,
  canMultiConn: 1 << 8,
} as const;

export const NbdCmd = { read: 0, write: 1, disc: 2, flush: 3, trim: 4, cache: 5, writeZeroes: 6 } as const;
export type NbdCmd = (typeof NbdCmd)[keyof typeof NbdCmd];

export const CmdFlag = { fua: 1 << 0, noHole: 1 << 1, df: 1 << 2, reqOne: 1 << 3, fastZero: 1 << 4 } as const;
/** Command flags accepted on any command; others get EINVAL (the server advertised nothing that uses them). */
export const ACCEPTED_CMD_FLAGS = CmdFlag.fua | CmdFlag.noHole;

/** NBD error numbers (fixed by the protocol, not the host's errno values). */
export const NbdErrno = { EPERM: 1, EIO: 5, ENOMEM: 12, EINVAL: 22, ENOSPC: 28, ESHUTDOWN: 108 } as const;
export type NbdErrnoName = keyof typeof NbdErrno;

/** Block size constraints advertised in NBD_INFO_BLOCK_SIZE. */
export interface BlockSizes {
  /** 1 (any alignment) or 512. */
  readonly minimum: 1 | 512;
  readonly preferred: number;
  /** Largest READ/WRITE payload accepted; larger requests get EINVAL. */
  readonly maximum: number;
}
export const DEFAULT_BLOCK_SIZES: BlockSizes = { minimum: 1, preferred: 4096, maximum: 32 * 1024 * 1024 };

/** Sizes of the fixed-length parts of messages. */
export const GREETING_LENGTH = 18;
export const CLIENT_FLAGS_LENGTH = 4;
export const OPTION_HEADER_LENGTH = 16;
export const REQUEST_HEADER_LENGTH = 28;
export const SIMPLE_REPLY_LENGTH = 16;
/** Longest option payload read; a longer one is treated as abuse and the connection is closed. */
export const MAX_OPTION_LENGTH = 64 * 1024;
/** Longest export name (spec: strings MUST be no longer than 4096 bytes). */
export const MAX_NAME_LENGTH = 4096;

// ---------------------------------------------------------------------------------------------------------
// Server -> client

/** NBDMAGIC, IHAVEOPT, handshake flags FIXED_NEWSTYLE | NO_ZEROES. */
export function encodeGreeting(): Buffer {
  const b = Buffer.alloc(GREETING_LENGTH);
  b.writeBigUInt64BE(NBD_MAGIC, 0);
  b.writeBigUInt64BE(NBD_OPTS_MAGIC, 8);
  b.writeUInt16BE(HandshakeFlag.fixedNewstyle | HandshakeFlag.noZeroes, 16);
  return b;
}

export function encodeOptionReply(option: number, replyType: number, data?: Buffer): Buffer {
  const len = data?.length ?? 0;
  const b = Buffer.alloc(20 + len);
  b.writeBigUInt64BE(NBD_REP_MAGIC, 0);
  b.writeUInt32BE(option >>> 0, 8);
  b.writeUInt32BE(replyType >>> 0, 12);
  b.writeUInt32BE(len, 16);
  if (data) data.copy(b, 20);
  return b;
}

/** An error reply whose payload is a human-readable message (clients such as qemu print it). */
export function encodeOptionError(option: number, replyType: number, message: string): Buffer {
  return encodeOptionReply(option, replyType, Buffer.from(message, 'utf8'));
}

/** NBD_REP_SERVER payload: name length, name. */
export function encodeRepServer(option: number, name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const d = Buffer.alloc(4 + n.length);
  d.writeUInt32BE(n.length, 0);
  n.copy(d, 4);
  return encodeOptionReply(option, NbdRep.server, d);
}

export function encodeInfoExport(option: number, size: number, flags: number): Buffer {
  const d = Buffer.alloc(12);
  d.writeUInt16BE(NbdInfo.export, 0);
  d.writeBigUInt64BE(BigInt(size), 2);
  d.writeUInt16BE(flags, 10);
  return encodeOptionReply(option, NbdRep.info, d);
}

export function encodeInfoBlockSize(option: number, sizes: BlockSizes): Buffer {
  const d = Buffer.alloc(14);
  d.writeUInt16BE(NbdInfo.blockSize, 0);
  d.writeUInt32BE(sizes.minimum, 2);
  d.writeUInt32BE(sizes.preferred, 6);
  d.writeUInt32BE(sizes.maximum, 10);
  return encodeOptionReply(option, NbdRep.info, d);
}

/** Reply to NBD_OPT_EXPORT_NAME: size, transmission flags and (unless NO_ZEROES) 124 zero bytes. */
export function encodeExportNameReply(size: number, flags: number, noZeroes: boolean): Buffer {
  const b = Buffer.alloc(10 + (noZeroes ? 0 : 124));
  b.writeBigUInt64BE(BigInt(size), 0);
  b.writeUInt16BE(flags, 8);
  return b;
}

/** Simple reply header; a successful READ's data follows it on the wire. */
export function encodeSimpleReply(error: number, handle: Buffer): Buffer {
  const b = Buffer.alloc(SIMPLE_REPLY_LENGTH);
  b.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  b.writeUInt32BE(error, 4);
  handle.copy(b, 8, 0, 8);
  return b;
}

/** Transmission flags of an export. CAN_MULTI_CONN stays off: the backend promises no cross-connection flush. */
export function transmissionFlags(readOnly: boolean): number {
  let f =
    TransmissionFlag.hasFlags |
    TransmissionFlag.sendFlush |
    TransmissionFlag.sendFua |
    TransmissionFlag.sendTrim |
    TransmissionFlag.sendWriteZeroes;
  if (readOnly) f |= TransmissionFlag.readOnly;
  return f;
}

// ---------------------------------------------------------------------------------------------------------
// Client -> server

export interface OptionHeader {
  readonly magicOk: boolean;
  readonly option: number;
  readonly length: number;
}

export function decodeOptionHeader(b: Buffer): OptionHeader {
  return {
    magicOk: b.readBigUInt64BE(0) === NBD_OPTS_MAGIC,
    option: b.readUInt32BE(8),
    length: b.readUInt32BE(12),
  };
}

/** Payload of NBD_OPT_INFO / NBD_OPT_GO: export name and the information types the client asks for. */
export interface InfoRequest {
  readonly name: string;
  readonly requests: readonly number[];
}

/** Parses an INFO/GO payload; `null` when its lengths are inconsistent (answered NBD_REP_ERR_INVALID). */
export function decodeInfoRequest(d: Buffer): InfoRequest | null {
  if (d.length < 6) return null;
  const nameLen = d.readUInt32BE(0);
  if (nameLen > MAX_NAME_LENGTH || 4 + nameLen + 2 > d.length) return null;
  const name = d.toString('utf8', 4, 4 + nameLen);
  const count = d.readUInt16BE(4 + nameLen);
  const start = 4 + nameLen + 2;
  if (d.length !== start + 2 * count) return null;
  const requests: number[] = [];
  for (let i = 0; i < count; i++) requests.push(d.readUInt16BE(start + 2 * i));
  return { name, requests };
}

export interface RequestHeader {
  readonly magicOk: boolean;
  readonly flags: number;
  readonly type: number;
  /** The client's opaque 8-byte handle (cookie), echoed in the reply. */
  readonly handle: Buffer;
  /** Byte offset; `Infinity` when above 2^53 (out of range of any export). */
  readonly offset: number;
  readonly length: number;
}

export function decodeRequestHeader(b: Buffer): RequestHeader {
  const big = b.readBigUInt64BE(16);
  return {
    magicOk: b.readUInt32BE(0) === NBD_REQUEST_MAGIC,
    flags: b.readUInt16BE(4),
    type: b.readUInt16BE(6),
    handle: Buffer.from(b.subarray(8, 16)),
    offset: big > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(big),
    length: b.readUInt32BE(24),
  };
}

/** Bytes of payload that follow a request header on the wire (only WRITE carries data). */
export function payloadLength(h: RequestHeader): number {
  return h.type === NbdCmd.write ? h.length : 0;
}

/** What the export looks like to request validation. */
export interface ExportShape {
  readonly size: number;
  readonly readOnly: boolean;
  readonly blockSizes: BlockSizes;
}

/**
 * Checks a request before the backend sees it. Returns the NBD error to answer with, or `null` when the
 * request may go to the backend. Follows proto.md's error guidance: unknown command or flag -> EINVAL; a
 * modification of a read-only export -> EPERM; a WRITE or WRITE_ZEROES beyond the end -> ENOSPC; a READ or
 * TRIM beyond the end -> EINVAL; a payload above the maximum block size -> EINVAL; misalignment with a
 * minimum block size of 512 -> EINVAL.
 */
export function validateRequest(h: RequestHeader, shape: ExportShape): NbdErrnoName | null {
  const known =
    h.type === NbdCmd.read ||
    h.type === NbdCmd.write ||
    h.type === NbdCmd.flush ||
    h.type === NbdCmd.trim ||
    h.type === NbdCmd.writeZeroes;
  if (!known) return 'EINVAL';
  if ((h.flags & ~ACCEPTED_CMD_FLAGS) !== 0) return 'EINVAL';
  if (h.type === NbdCmd.flush) return h.offset === 0 && h.length === 0 ? null : 'EINVAL';
  const modifies = h.type !== NbdCmd.read;
  if (modifies && shape.readOnly) return 'EPERM';
  if ((h.type === NbdCmd.read || h.type === NbdCmd.write) && h.length > shape.blockSizes.maximum)
    return 'EINVAL';
  const min = shape.blockSizes.minimum;
  if (min > 1 && (h.offset % min !== 0 || h.length % min !== 0)) return 'EINVAL';
  if (h.offset + h.length > shape.size) {
    return h.type === NbdCmd.write || h.type === NbdCmd.writeZeroes ? 'ENOSPC' : 'EINVAL';
  }
  return null;
}

export function commandName(type: number): string {
  for (const [k, v] of Object.entries(NbdCmd)) if (v === type) return k;
  return `unknown(${type})`;
}

export function optionName(option: number): string {
  for (const [k, v] of Object.entries(NbdOpt)) if (v === option) return k;
  return `unknown(${option})`;
}
