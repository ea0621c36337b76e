/**
 * One NBD client connection (issue 5): fixed newstyle handshake, option haggling, then the transmission phase.
 *
 * Phases: `flags` (greeting sent, waiting for the client flags) -> `options` -> `transmission` -> `done`
 * (after NBD_OPT_ABORT or NBD_CMD_DISC: nothing more is read, in-flight requests finish, the socket ends).
 * A protocol violation the client cannot recover from (bad magic, unknown client flags, an option longer than
 * MAX_OPTION_LENGTH, a refused NBD_OPT_EXPORT_NAME) closes the connection at once: proto.md allows a hard
 * disconnect on a MUST violation, and there is no other way to answer.
 *
 * Transmission: requests are dispatched to the backend as soon as they are complete, so a pipelining client
 * (fio iodepth 16, qemu) keeps the backend busy; each reply goes out only after its backend call settled.
 * Ordering rules kept (proto.md "Ordering of messages and writes"):
 * - a FLUSH first waits for every WRITE, TRIM and WRITE_ZEROES received before it on this connection, then
 *   calls `backend.flush()`; that covers "every write the server completed before the flush" and more;
 * - FUA is passed to the backend, which resolves only once the data is durable.
 * Back-pressure: while the bytes of in-flight requests plus unsent replies exceed `maxInFlightBytes`, the
 * socket is paused, so a fast writer cannot make the server buffer without bound.
 */
import type { Socket } from 'node:net';
import { BackendError, type BlockBackend, type Bytes, type WriteStream } from './types.ts';
import { ByteQueue } from './byte-queue.ts';
import { LoopCork } from './cork.ts';
import {
  CLIENT_FLAGS_LENGTH,
  HandshakeFlag,
  KNOWN_CLIENT_FLAGS,
  MAX_OPTION_LENGTH,
  NbdCmd,
  NbdErrno,
  NbdOpt,
  NbdRep,
  OPTION_HEADER_LENGTH,
  REQUEST_HEADER_LENGTH,
  CmdFlag,
  commandName,
  decodeInfoRequest,
  decodeOptionHeader,
  decodeRequestHeader,
  encodeExportNameReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeOptionError,
  encodeOptionReply,
  encodeRepServer,
  encodeSimpleReply,
  optionName,
  payloadLength,
  transmissionFlags,
  validateRequest,
  type BlockSizes,
  type ExportShape,
  type NbdErrnoName,
  type RequestHeader,
} from './protocol.ts';

export type NbdLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type NbdLog = (level: NbdLogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** What a connection needs from its server. */
export interface ConnectionContext {
  readonly exportName: string;
  readonly backend: () => BlockBackend | null;
  readonly blockSizes: BlockSizes;
  readonly maxInFlightBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly log: NbdLog;
  /** True once the server is closing: new exports are refused with NBD_REP_ERR_SHUTDOWN. */
  readonly closing: () => boolean;
}

type Phase = 'flags' | 'options' | 'transmission' | 'done';

/**
 * WRITE payloads from this size on are streamed to a backend that offers `writeStream`: it starts on the
 * first bytes (the mirror writes them locally and sends them to the peer) while the rest still arrives.
 */
export const STREAM_WRITE_MIN_BYTES = 128 * 1024;

/** A streamed WRITE whose payload is still arriving. */
interface Inbound {
  readonly stream: WriteStream;
  left: number;
  /** Hands the request its outcome (the stream's `end`). */
  readonly ended: (outcome: Promise<void>) => void;
}

/** A stream for a write the backend refused at once: takes the payload, then reports the refusal. */
function refusedStream(err: unknown): WriteStream {
  const e = err instanceof Error ? err : new Error(String(err));
  return { data: () => undefined, end: () => Promise.reject(e), abort: () => undefined };
}

/** Grace for the last replies to leave before a closing connection is destroyed. */
const END_GRACE_MS = 1000;

export class NbdConnection {
  readonly id: number;
  readonly #socket: Socket;
  readonly #ctx: ConnectionContext;
  readonly #queue = new ByteQueue();
  readonly #cork: LoopCork;
  #phase: Phase = 'flags';
  #noZeroes = false;
  #backend: BlockBackend | null = null;
  #shape: ExportShape | null = null;
  /** Bytes of an oversized WRITE payload still to drop after its EINVAL reply. */
  #discard = 0;
  #inbound: Inbound | null = null;
  readonly #inflight = new Set<Promise<void>>();
  /** The in-flight WRITE, TRIM and WRITE_ZEROES requests: what a FLUSH waits for. */
  readonly #writes = new Set<Promise<void>>();
  #inflightBytes = 0;
  #paused = false;
  #ending = false;
  readonly closed: Promise<void>;

  constructor(id: number, socket: Socket, ctx: ConnectionContext) {
    this.id = id;
    this.#socket = socket;
    this.#cork = new LoopCork(socket);
    this.#ctx = ctx;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => this.#abortInbound());
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#queue.push(chunk);
      this.#pump();
    });
    socket.on('drain', () => this.#maybeResume());
    socket.on('error', (err) =>
      this.#ctx.log('debug', 'nbd connection error', { conn: id, err: err.message }),
    );
    socket.on('timeout', () => this.#abort('handshake timed out'));
    socket.setTimeout(ctx.handshakeTimeoutMs);
    socket.write(encodeGreeting());
  }

  /** Stops reading, lets in-flight requests finish and reply, then closes the socket. */
  async shutdown(): Promise<void> {
    this.#stopReading();
    if (this.#phase !== 'transmission') {
      this.#socket.destroy();
    } else {
      await Promise.allSettled([...this.#inflight]);
      this.#end();
    }
    await this.closed;
  }

  // ---------------------------------------------------------------------------------------------------
  // Parsing

  #pump(): void {
    for (;;) {
      if (this.#phase === 'done' || this.#socket.destroyed) {
        this.#queue.clear();
        return;
      }
      if (this.#discard > 0) {
        this.#discard -= this.#queue.skip(this.#discard);
        if (this.#discard > 0) return;
      }
      const inbound = this.#inbound;
      if (inbound !== null) {
        const n = Math.min(inbound.left, this.#queue.length);
        if (n === 0) return;
        const part = this.#queue.takeChunks(n);
        if (Buffer.isBuffer(part)) inbound.stream.data(part);
        else for (const c of part) inbound.stream.data(c);
        inbound.left -= n;
        if (inbound.left > 0) return;
        this.#inbound = null;
        inbound.ended(inbound.stream.end());
        continue;
      }
      const progressed =
        this.#phase === 'flags'
          ? this.#parseFlags()
          : this.#phase === 'options'
            ? this.#parseOption()
            : this.#parseRequest();
      if (!progressed) return;
    }
  }

  #parseFlags(): boolean {
    if (this.#queue.length < CLIENT_FLAGS_LENGTH) return false;
    const flags = this.#queue.take(CLIENT_FLAGS_LENGTH).readUInt32BE(0);
    if ((flags & ~KNOWN_CLIENT_FLAGS) !== 0) {
      this.#abort(`unknown client flags 0x${flags.toString(16)}`);
      return false;
    }
    this.#noZeroes = (flags & HandshakeFlag.noZeroes) !== 0;
    this.#phase = 'options';
    return true;
  }

  #parseOption(): boolean {
    if (this.#queue.length < OPTION_HEADER_LENGTH) return false;
    const h = decodeOptionHeader(this.#queue.peek(OPTION_HEADER_LENGTH));
    if (!h.magicOk) {
      this.#abort('bad option magic');
      return false;
    }
    if (h.length > MAX_OPTION_LENGTH) {
      this.#abort(`option ${optionName(h.option)} carries ${h.length} bytes (limit ${MAX_OPTION_LENGTH})`);
      return false;
    }
    if (this.#queue.length < OPTION_HEADER_LENGTH + h.length) return false;
    this.#queue.skip(OPTION_HEADER_LENGTH);
    this.#handleOption(h.option, this.#queue.take(h.length));
    return true;
  }

  #parseRequest(): boolean {
    if (this.#queue.length < REQUEST_HEADER_LENGTH) return false;
    const h = decodeRequestHeader(this.#queue.peek(REQUEST_HEADER_LENGTH));
    if (!h.magicOk) {
      this.#abort('bad request magic');
      return false;
    }
    const shape = this.#shape;
    if (shape === null) return false;
    const payload = payloadLength(h);
    if (payload > shape.blockSizes.maximum) {
      // Answer now and drop the payload as it streams in, so the connection stays usable.
      this.#queue.skip(REQUEST_HEADER_LENGTH);
      this.#discard = payload;
      this.#reply(h.handle, 'EINVAL');
      this.#ctx.log('warn', 'nbd request too large', {
        conn: this.id,
        cmd: commandName(h.type),
        length: h.length,
        max: shape.blockSizes.maximum,
      });
      return true;
    }
    if (h.type === NbdCmd.write && payload >= STREAM_WRITE_MIN_BYTES) {
      const backend = this.#backend;
      if (backend?.writeStream !== undefined && validateRequest(h, shape) === null) {
        this.#queue.skip(REQUEST_HEADER_LENGTH);
        this.#streamWrite(h, backend, payload);
        return true;
      }
    }
    if (this.#queue.length < REQUEST_HEADER_LENGTH + payload) return false;
    this.#queue.skip(REQUEST_HEADER_LENGTH);
    const data = payload > 0 ? this.#queue.takeChunks(payload) : null;
    this.#dispatch(h, data, shape);
    return true;
  }

  // ---------------------------------------------------------------------------------------------------
  // Options

  #handleOption(option: number, data: Buffer): void {
    const log = this.#ctx.log;
    switch (option) {
      case NbdOpt.exportName: {
        const name = data.toString('utf8');
        const found = this.#lookup(name);
        if (typeof found === 'string') {
          // NBD_OPT_EXPORT_NAME has no error reply: proto.md says the server MUST terminate the session.
          this.#abort(found);
          return;
        }
        this.#socket.write(
          encodeExportNameReply(found.size, transmissionFlags(found.readOnly), this.#noZeroes),
        );
        this.#enterTransmission(found, 'export-name');
        return;
      }
      case NbdOpt.abort:
        this.#socket.write(encodeOptionReply(option, NbdRep.ack));
        this.#phase = 'done';
        this.#end();
        return;
      case NbdOpt.list:
        if (data.length !== 0) {
          this.#optError(option, NbdRep.errInvalid, 'NBD_OPT_LIST takes no data.');
          return;
        }
        this.#socket.write(encodeRepServer(option, this.#ctx.exportName));
        this.#socket.write(encodeOptionReply(option, NbdRep.ack));
        return;
      case NbdOpt.info:
      case NbdOpt.go: {
        const req = decodeInfoRequest(data);
        if (req === null) {
          this.#optError(option, NbdRep.errInvalid, `Malformed ${optionName(option)} request.`);
          return;
        }
        const found = this.#lookup(req.name);
        if (typeof found === 'string') {
          this.#optError(option, this.#ctx.closing() ? NbdRep.errShutdown : NbdRep.errUnknown, found);
          return;
        }
        this.#socket.write(encodeInfoExport(option, found.size, transmissionFlags(found.readOnly)));
        this.#socket.write(encodeInfoBlockSize(option, this.#ctx.blockSizes));
        this.#socket.write(encodeOptionReply(option, NbdRep.ack));
        if (option === NbdOpt.go) this.#enterTransmission(found, 'go');
        return;
      }
      case NbdOpt.structuredReply:
        this.#optError(option, NbdRep.errUnsup, 'This server sends simple replies only.');
        return;
      default:
        log('debug', 'nbd option not supported', { conn: this.id, option: optionName(option) });
        this.#optError(option, NbdRep.errUnsup, `Option ${optionName(option)} is not supported.`);
    }
  }

  /** The backend for an export name, or why it cannot be served (the text goes to the client and the log). */
  #lookup(name: string): BlockBackend | string {
    const exp = this.#ctx.exportName;
    // proto.md: the empty name selects the default export, which is the only one here.
    if (name !== exp && name !== '') {
      return `There is no export named "${name}" on this server; the export is "${exp}".`;
    }
    if (this.#ctx.closing()) return `The NBD server of export "${exp}" is shutting down; reconnect later.`;
    let backend: BlockBackend | null;
    try {
      backend = this.#ctx.backend();
    } catch (err) {
      this.#ctx.log('error', 'nbd backend lookup failed', { conn: this.id, err: String(err) });
      backend = null;
    }
    if (backend === null) {
      return `The export "${exp}" is not served by this server now (its volume is not active here); connect to the active server.`;
    }
    return backend;
  }

  #optError(option: number, rep: number, message: string): void {
    this.#ctx.log('debug', 'nbd option refused', { conn: this.id, option: optionName(option), message });
    this.#socket.write(encodeOptionError(option, rep, message));
  }

  #enterTransmission(backend: BlockBackend, via: string): void {
    this.#backend = backend;
    this.#shape = { size: backend.size, readOnly: backend.readOnly, blockSizes: this.#ctx.blockSizes };
    this.#phase = 'transmission';
    this.#socket.setTimeout(0);
    this.#ctx.log('info', 'nbd client attached', {
      conn: this.id,
      export: this.#ctx.exportName,
      via,
      size: backend.size,
      readOnly: backend.readOnly,
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Transmission

  #dispatch(h: RequestHeader, data: Bytes | null, shape: ExportShape): void {
    if (h.type === NbdCmd.disc) {
      this.#ctx.log('info', 'nbd client disconnected', { conn: this.id });
      this.#phase = 'done';
      this.#stopReading();
      void Promise.allSettled([...this.#inflight]).then(() => this.#end());
      return;
    }
    const refused = validateRequest(h, shape);
    if (refused !== null) {
      this.#ctx.log('debug', 'nbd request refused', {
        conn: this.id,
        cmd: commandName(h.type),
        offset: h.offset,
        length: h.length,
        error: refused,
      });
      this.#reply(h.handle, refused);
      return;
    }
    const backend = this.#backend;
    if (backend === null) return;
    const fua = (h.flags & CmdFlag.fua) !== 0;
    const bytes = h.type === NbdCmd.read || h.type === NbdCmd.write ? h.length : 0;
    let op: Promise<Buffer | undefined>;
    let isWrite = false;
    switch (h.type) {
      case NbdCmd.read:
        op = h.length === 0 ? Promise.resolve(Buffer.alloc(0)) : backend.read(h.offset, h.length);
        break;
      case NbdCmd.write:
        isWrite = true;
        op =
          h.length === 0
            ? Promise.resolve(undefined)
            : backend.write(h.offset, data ?? Buffer.alloc(0), fua).then(() => undefined);
        break;
      case NbdCmd.trim:
        isWrite = true;
        op =
          h.length === 0
            ? Promise.resolve(undefined)
            : backend.trim(h.offset, h.length, fua).then(() => undefined);
        break;
      case NbdCmd.writeZeroes:
        isWrite = true;
        op =
          h.length === 0
            ? Promise.resolve(undefined)
            : backend.writeZeroes(h.offset, h.length, fua).then(() => undefined);
        break;
      default: {
        // FLUSH (validateRequest let nothing else through).
        const prior = [...this.#writes];
        op = Promise.allSettled(prior)
          .then(() => backend.flush())
          .then(() => undefined);
      }
    }
    this.#track(h, op, isWrite, bytes);
  }

  /** A WRITE streamed to the backend (STREAM_WRITE_MIN_BYTES): `#pump` feeds it, its end is the reply. */
  #streamWrite(h: RequestHeader, backend: BlockBackend, payload: number): void {
    let stream: WriteStream;
    try {
      stream = backend.writeStream!(h.offset, h.length, (h.flags & CmdFlag.fua) !== 0);
    } catch (err) {
      stream = refusedStream(err);
    }
    let ended!: (outcome: Promise<void>) => void;
    const outcome = new Promise<Promise<void>>((resolve) => (ended = resolve)).then((p) => p);
    this.#inbound = { stream, left: payload, ended };
    this.#track(
      h,
      outcome.then(() => undefined),
      true,
      h.length,
    );
  }

  /** The client went away mid-payload: the streamed write is abandoned (no reply can be sent anyway). */
  #abortInbound(): void {
    const inbound = this.#inbound;
    if (inbound === null) return;
    this.#inbound = null;
    inbound.stream.abort();
    inbound.ended(
      Promise.reject(new BackendError('EIO', 'the client disconnected in the middle of a write')),
    );
  }

  /** Replies once `op` settles; counts it in flight (FLUSH ordering, back-pressure, DISC) until then. */
  #track(h: RequestHeader, op: Promise<Buffer | undefined>, isWrite: boolean, bytes: number): void {
    this.#inflightBytes += bytes;
    const settled: Promise<void> = op
      .then(
        (result) => this.#reply(h.handle, null, h.type === NbdCmd.read ? result : undefined),
        (err: unknown) => this.#reply(h.handle, this.#errnoOf(err, h)),
      )
      .finally(() => {
        this.#inflight.delete(settled);
        this.#writes.delete(settled);
        this.#inflightBytes -= bytes;
        this.#maybeResume();
      });
    this.#inflight.add(settled);
    if (isWrite) this.#writes.add(settled);
    this.#maybePause();
  }

  #errnoOf(err: unknown, h: RequestHeader): NbdErrnoName {
    if (err instanceof BackendError) {
      this.#ctx.log(err.errno === 'ESHUTDOWN' ? 'info' : 'warn', 'nbd backend refused a request', {
        conn: this.id,
        cmd: commandName(h.type),
        offset: h.offset,
        length: h.length,
        errno: err.errno,
        err: err.message,
      });
      return err.errno;
    }
    // Anything else is a bug in the backend; the client still gets an answer.
    this.#ctx.log('error', 'nbd backend failed unexpectedly', {
      conn: this.id,
      cmd: commandName(h.type),
      err: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return 'EIO';
  }

  #reply(handle: Buffer, error: NbdErrnoName | null, data?: Buffer): void {
    const s = this.#socket;
    if (s.destroyed || s.writableEnded) return;
    const header = encodeSimpleReply(error === null ? 0 : NbdErrno[error], handle);
    // Replies completed in the same loop iteration leave together (one writev).
    this.#cork.hold();
    s.write(header);
    if (data !== undefined && data.length > 0) s.write(data);
  }

  #maybePause(): void {
    if (this.#paused || this.#socket.destroyed) return;
    if (this.#inflightBytes + this.#socket.writableLength > this.#ctx.maxInFlightBytes) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #maybeResume(): void {
    if (!this.#paused || this.#phase !== 'transmission' || this.#socket.destroyed) return;
    if (this.#inflightBytes + this.#socket.writableLength <= this.#ctx.maxInFlightBytes) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Teardown

  #stopReading(): void {
    this.#socket.pause();
    this.#socket.removeAllListeners('data');
    this.#queue.clear();
  }

  /** Hard disconnect after a protocol violation or a refused export. */
  #abort(reason: string): void {
    this.#ctx.log('warn', 'nbd connection closed', { conn: this.id, phase: this.#phase, reason });
    this.#phase = 'done';
    this.#stopReading();
    this.#socket.destroy();
  }

  /** Soft end: the queued replies leave, then the socket closes (destroyed if the peer does not read them). */
  #end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#socket.end();
    const t = setTimeout(() => this.#socket.destroy(), END_GRACE_MS);
    t.unref();
    this.#socket.once('close', () => clearTimeout(t));
  }
}
