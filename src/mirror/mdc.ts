/**
 * The mirror connect protocol (MDC, issue 5 section 2): framed messages over one TCP connection between the
 * two servers of a mirror volume.
 *
 * Frame: type u8 | payload length u32 (big-endian) | payload. Handshake, symmetric (both sides send first):
 * `HELLO` { version, cluster, volumeId, server, nonce } then, once the peer's HELLO is in, `AUTH`
 * { mac = HMAC-SHA256(key, "tandem mdc auth" | cluster | volumeId | own nonce | peer nonce) }. The key is
 * HKDF-SHA256 of the cluster secret (salt: the cluster name, info "tandem mdc"), so a peer with another
 * cluster's secret cannot produce the MAC, and both nonces make an old handshake useless. A peer of another
 * cluster or another volume, or with a bad MAC, is sent `REFUSE` with the reason and dropped; the reason is
 * logged on both sides.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from '../ports/logger.ts';
import { ByteQueue } from '../nbd/byte-queue.ts';
import { LoopCork } from '../nbd/cork.ts';
import { bytesLength, splitBytes, toBuffer, type Bytes } from '../nbd/types.ts';

export const MDC_PROTOCOL_VERSION = 1;
/** Largest frame accepted (a resync block or a write is at most a few MiB). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export const MsgType = {
  hello: 1,
  auth: 2,
  refuse: 3,
  meta: 10,
  write: 11,
  ack: 12,
  flush: 13,
  flushAck: 14,
  resyncBlock: 15,
  resyncDone: 16,
  ping: 18,
  pong: 19,
  recover: 20,
  /** The operator ran `recover` on the sender: resume mirroring and start the recovery (no payload). */
  recoverStart: 21,
  /** The sender (primary) broke the mirror: the receiver's copy is outdated; answered by OUTDATE_ACK. */
  outdate: 22,
  /** The receiver persisted that its copy is outdated. */
  outdateAck: 23,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** Derives the MDC key from the cluster secret (HKDF-SHA256, label "tandem mdc"). */
export function mdcKey(secret: Buffer | string, clusterName: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, clusterName, 'tandem mdc', 32));
}

function authMac(key: Buffer, cluster: string, volumeId: string, own: Buffer, peer: Buffer): Buffer {
  return createHmac('sha256', key)
    .update('tandem mdc auth\0')
    .update(cluster + '\0' + volumeId + '\0')
    .update(own)
    .update(peer)
    .digest();
}

/** A write or a resync block: `seq` (0 for blocks), byte offset, FUA flag, data (chunks as received). */
export interface DataMsg {
  seq: number;
  offset: number;
  fua: boolean;
  data: Bytes;
}

/** Bytes of a data message's header (seq, offset, FUA) before its data. */
const DATA_HEADER_BYTES = 13;

function writeDataHeader(m: DataMsg, b: Buffer, at: number): void {
  b.writeUInt32BE(m.seq >>> 0, at);
  b.writeDoubleBE(m.offset, at + 4);
  b.writeUInt8(m.fua ? 1 : 0, at + 12);
}

export function decodeData(p: Bytes): DataMsg {
  const [head, data] = splitBytes(p, DATA_HEADER_BYTES);
  const h = toBuffer(head);
  if (h.length < DATA_HEADER_BYTES) throw new RangeError('data message shorter than its header');
  return { seq: h.readUInt32BE(0), offset: h.readDoubleBE(4), fua: h.readUInt8(12) === 1, data };
}

export function encodeSeq(seq: number, status = 0): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(seq >>> 0, 0);
  b.writeUInt8(status, 4);
  return b;
}

export function decodeSeq(p: Buffer): { seq: number; status: number } {
  return { seq: p.readUInt32BE(0), status: p.length > 4 ? p.readUInt8(4) : 0 };
}

/** Who is on the other end, after a successful handshake. */
export interface PeerHello {
  readonly server: string;
  readonly cluster: string;
  readonly volumeId: string;
}

/** Why a handshake failed; `code` is stable. */
export class MdcRefusedError extends Error {
  readonly code:
    | 'MDC_AUTH_FAILED'
    | 'MDC_WRONG_CLUSTER'
    | 'MDC_WRONG_VOLUME'
    | 'MDC_PROTOCOL'
    | 'MDC_TIMEOUT'
    | 'MDC_REFUSED_BY_PEER';
  constructor(code: MdcRefusedError['code'], message: string) {
    super(message);
    this.name = 'MdcRefusedError';
    this.code = code;
  }
}

/**
 * One authenticated MDC connection. Messages are delivered in order to `onMessage`; `onClose` runs once,
 * when the socket closes for any reason.
 */
export class MdcConnection {
  readonly peer: PeerHello;
  readonly #socket: Socket;
  #onMessage: OnMessage = () => undefined;
  #onClose: (err?: Error) => void = () => undefined;
  #closed = false;
  /** Frames that arrived before `start` (the peer sends its meta right after the handshake). */
  #pending: [number, Buffer, DataMsg | undefined][] | null = [];
  #closeErr: { err?: Error } | null = null;
  readonly #reader: FrameReader;
  readonly #cork: LoopCork;

  constructor(socket: Socket, peer: PeerHello, rest: FrameReader) {
    this.#socket = socket;
    this.peer = peer;
    this.#reader = rest;
    this.#cork = new LoopCork(socket);
    rest.onFrame = (t, p, d) => {
      if (this.#pending !== null) this.#pending.push([t, p, d]);
      else if (!this.#closed) this.#onMessage(t, p, d);
    };
    rest.onError = (err) => this.close(err);
    socket.on('close', () => this.#finish());
    socket.on('error', (err) => this.#finish(err));
  }

  /**
   * Sets the handlers; frames that arrived since the handshake are delivered now (whole). With
   * `onDataBegin`, later data messages are streamed to it as they arrive (FrameReader).
   */
  start(onMessage: OnMessage, onClose: (err?: Error) => void, onDataBegin?: OnDataBegin): void {
    this.#onMessage = onMessage;
    this.#onClose = onClose;
    if (onDataBegin !== undefined) this.#reader.onDataBegin = (t, h) => onDataBegin(t, h);
    const pending = this.#pending ?? [];
    this.#pending = null;
    for (const [t, p, d] of pending) if (!this.#closed || this.#closeErr !== null) onMessage(t, p, d);
    if (this.#closeErr !== null) onClose(this.#closeErr.err);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues a frame; false if the connection is closed. */
  send(type: number, payload: Buffer = Buffer.alloc(0)): boolean {
    if (this.#closed) return false;
    const h = Buffer.allocUnsafe(5);
    h.writeUInt8(type, 0);
    h.writeUInt32BE(payload.length, 1);
    this.#writev(h, payload);
    return true;
  }

  /**
   * Queues a WRITE or RESYNC_BLOCK frame without copying its data: the frame and data headers go in one
   * small buffer, the data as it is. The caller must not modify `m.data` afterwards (the socket holds it).
   */
  sendData(type: number, m: DataMsg): boolean {
    if (this.#closed) return false;
    const h = Buffer.allocUnsafe(5 + DATA_HEADER_BYTES);
    h.writeUInt8(type, 0);
    h.writeUInt32BE(DATA_HEADER_BYTES + bytesLength(m.data), 1);
    writeDataHeader(m, h, 5);
    this.#writev(h, m.data);
    return true;
  }

  /**
   * Queues header and payload (chunks); every frame sent in this loop iteration (the acks of the writes
   * that completed together, the writes of the NBD requests read together) leaves in one writev.
   */
  #writev(h: Buffer, payload: Bytes): void {
    this.#cork.hold();
    this.#socket.write(h);
    if (Buffer.isBuffer(payload)) {
      if (payload.length > 0) this.#socket.write(payload);
    } else for (const c of payload) this.#socket.write(c);
  }

  sendJson(type: number, value: unknown): boolean {
    return this.send(type, Buffer.from(JSON.stringify(value), 'utf8'));
  }

  /** Bytes queued in the socket (backpressure). */
  get bufferedBytes(): number {
    return this.#socket.writableLength;
  }

  close(err?: Error): void {
    this.#socket.destroy();
    this.#finish(err);
  }

  #finish(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#reader.abort();
    if (this.#pending !== null) this.#closeErr = err === undefined ? {} : { err };
    else this.#onClose(err);
  }
}

/**
 * A received frame: its type and payload; for WRITE and RESYNC_BLOCK the payload is empty and `data` holds
 * the decoded message, whose data are the socket chunks it arrived in (views, never joined).
 */
export type OnMessage = (type: number, payload: Buffer, data: DataMsg | undefined) => void;

/** A data message's header, before its data. */
export interface DataHeader {
  readonly seq: number;
  readonly offset: number;
  readonly fua: boolean;
  /** Bytes of data that follow. */
  readonly length: number;
}

/** Takes one data message's data as it arrives: pieces in order (views of socket chunks), then `end`. */
export interface DataStream {
  data(chunk: Buffer): void;
  end(): void;
  /** The connection closed before the message was complete. */
  abort(): void;
}

/** A data message starts; returns where its data goes. */
export type OnDataBegin = (type: number, h: DataHeader) => DataStream;

const DATA_TYPES: ReadonlySet<number> = new Set([MsgType.write, MsgType.resyncBlock]);
const EMPTY = Buffer.alloc(0);

/**
 * Splits the byte stream into frames. Chunks are queued, not concatenated: a 1 MiB frame arrives in many
 * socket chunks, and joining the buffer on every chunk made reading it quadratic. A control payload within
 * one chunk is a view of it, one that straddles chunks is copied once; a data frame's data is never copied
 * (`writev` takes the chunks as they are).
 */
export class FrameReader {
  readonly #q = new ByteQueue();
  onFrame: OnMessage = () => undefined;
  onError: (err: Error) => void = () => undefined;
  /** When set, data messages are streamed to it as their bytes arrive instead of delivered whole. */
  onDataBegin: OnDataBegin | null = null;
  /** The data message being streamed and the bytes of it still to come. */
  #stream: { readonly to: DataStream; left: number } | null = null;

  /** The connection is gone: a data message being streamed will not be completed. */
  abort(): void {
    const s = this.#stream;
    this.#stream = null;
    s?.to.abort();
  }

  push(chunk: Buffer): void {
    this.#q.push(chunk);
    for (;;) {
      const s = this.#stream;
      if (s !== null) {
        const n = Math.min(s.left, this.#q.length);
        if (n === 0) return;
        const part = this.#q.takeChunks(n);
        if (Buffer.isBuffer(part)) s.to.data(part);
        else for (const c of part) s.to.data(c);
        s.left -= n;
        if (s.left > 0) return;
        this.#stream = null;
        s.to.end();
        continue;
      }
      if (this.#q.length < 5) return;
      const h = this.#q.peek(5);
      const type = h.readUInt8(0);
      const len = h.readUInt32BE(1);
      if (len > MAX_FRAME_BYTES) {
        this.onError(new MdcRefusedError('MDC_PROTOCOL', `frame of ${len} bytes exceeds the limit`));
        this.#q.clear();
        return;
      }
      const streamed = this.onDataBegin !== null && DATA_TYPES.has(type) && len >= DATA_HEADER_BYTES;
      if (streamed) {
        if (this.#q.length < 5 + DATA_HEADER_BYTES) return;
        this.#q.skip(5);
        const h = this.#q.take(DATA_HEADER_BYTES);
        const left = len - DATA_HEADER_BYTES;
        const to = this.onDataBegin!(type, {
          seq: h.readUInt32BE(0),
          offset: h.readDoubleBE(4),
          fua: h.readUInt8(12) === 1,
          length: left,
        });
        if (left === 0) to.end();
        else this.#stream = { to, left };
        continue;
      }
      if (this.#q.length < 5 + len) return;
      this.#q.skip(5);
      if (DATA_TYPES.has(type) && len >= DATA_HEADER_BYTES) {
        const h = this.#q.take(DATA_HEADER_BYTES);
        const m: DataMsg = {
          seq: h.readUInt32BE(0),
          offset: h.readDoubleBE(4),
          fua: h.readUInt8(12) === 1,
          data: this.#q.takeChunks(len - DATA_HEADER_BYTES),
        };
        this.onFrame(type, EMPTY, m);
      } else this.onFrame(type, this.#q.take(len), undefined);
    }
  }
}

export interface HandshakeOptions {
  readonly key: Buffer;
  readonly clusterName: string;
  readonly volumeId: string;
  readonly server: string;
  readonly timeoutMs: number;
  readonly log: Logger;
}

/**
 * Runs the symmetric handshake on a connected socket. Resolves with the authenticated connection, or
 * rejects with `MdcRefusedError` (after telling the peer why and closing the socket).
 */
export function handshake(socket: Socket, o: HandshakeOptions): Promise<MdcConnection> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader();
    const nonce = randomBytes(32);
    let peerHello: (PeerHello & { nonce: Buffer }) | null = null;
    let done = false;
    const sendRaw = (type: number, payload: Buffer): void => {
      const h = Buffer.alloc(5);
      h.writeUInt8(type, 0);
      h.writeUInt32BE(payload.length, 1);
      socket.write(Buffer.concat([h, payload]));
    };
    const fail = (err: MdcRefusedError, tellPeer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.log.warn(
        { volume: o.volumeId, code: err.code, remote: socket.remoteAddress },
        `mirror connection refused: ${err.message}`,
      );
      if (tellPeer && !socket.destroyed) {
        sendRaw(MsgType.refuse, Buffer.from(JSON.stringify({ code: err.code, why: err.message })));
        socket.end();
        setTimeout(() => socket.destroy(), 200).unref();
      } else socket.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new MdcRefusedError('MDC_TIMEOUT', `no handshake within ${o.timeoutMs} ms`), false),
      o.timeoutMs,
    );
    const onData = (c: Buffer): void => reader.push(c);
    const onEnd = (): void =>
      fail(new MdcRefusedError('MDC_PROTOCOL', 'the peer closed the connection during the handshake'), false);
    socket.on('data', onData);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
    reader.onError = (err) => fail(err as MdcRefusedError, true);
    reader.onFrame = (type, payload) => {
      if (done) return;
      try {
        if (type === MsgType.refuse) {
          const r = JSON.parse(payload.toString('utf8')) as { code: string; why: string };
          return fail(
            new MdcRefusedError('MDC_REFUSED_BY_PEER', `the peer refused: ${r.why} (${r.code})`),
            false,
          );
        }
        if (type === MsgType.hello && peerHello === null) {
          const h = JSON.parse(payload.toString('utf8')) as {
            version: number;
            cluster: string;
            volumeId: string;
            server: string;
            nonce: string;
          };
          if (h.version !== MDC_PROTOCOL_VERSION) {
            return fail(
              new MdcRefusedError(
                'MDC_PROTOCOL',
                `peer speaks MDC protocol version ${h.version}, this server ${MDC_PROTOCOL_VERSION}`,
              ),
              true,
            );
          }
          if (h.cluster !== o.clusterName) {
            return fail(
              new MdcRefusedError(
                'MDC_WRONG_CLUSTER',
                `peer ${h.server} belongs to cluster ${h.cluster}, not ${o.clusterName}`,
              ),
              true,
            );
          }
          if (h.volumeId !== o.volumeId) {
            return fail(
              new MdcRefusedError(
                'MDC_WRONG_VOLUME',
                `peer ${h.server} offers volume ${h.volumeId}, this server expects ${o.volumeId}`,
              ),
              true,
            );
          }
          peerHello = {
            cluster: h.cluster,
            volumeId: h.volumeId,
            server: h.server,
            nonce: Buffer.from(h.nonce, 'hex'),
          };
          sendRaw(MsgType.auth, authMac(o.key, o.clusterName, o.volumeId, nonce, peerHello.nonce));
          return;
        }
        if (type === MsgType.auth && peerHello !== null) {
          const want = authMac(o.key, o.clusterName, o.volumeId, peerHello.nonce, nonce);
          if (payload.length !== want.length || !timingSafeEqual(payload, want)) {
            return fail(
              new MdcRefusedError(
                'MDC_AUTH_FAILED',
                `peer ${peerHello.server} failed authentication (another cluster secret?)`,
              ),
              true,
            );
          }
          done = true;
          clearTimeout(timer);
          socket.off('close', onEnd);
          socket.off('error', onEnd);
          const { nonce: _n, ...peer } = peerHello;
          const conn = new MdcConnection(socket, peer, reader);
          resolve(conn);
          return;
        }
        fail(new MdcRefusedError('MDC_PROTOCOL', `unexpected message ${type} during the handshake`), true);
      } catch (err) {
        fail(
          new MdcRefusedError('MDC_PROTOCOL', `malformed handshake message: ${(err as Error).message}`),
          true,
        );
      }
    };
    sendRaw(
      MsgType.hello,
      Buffer.from(
        JSON.stringify({
          version: MDC_PROTOCOL_VERSION,
          cluster: o.clusterName,
          volumeId: o.volumeId,
          server: o.server,
          nonce: nonce.toString('hex'),
        }),
      ),
    );
  });
}
