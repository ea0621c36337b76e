/**
 * A minimal NBD client over a raw socket, for the negotiation and transmission edge cases that real clients
 * never produce (bad magic, oversized requests, options a client would not send). Byte-level on purpose: it
 * shares only the constants with the server, not its encoders, so an encoder bug cannot hide itself.
 */
import { connect, type Socket } from 'node:net';
import {
  NBD_OPTS_MAGIC,
  NBD_REP_MAGIC,
  NBD_REQUEST_MAGIC,
  NBD_SIMPLE_REPLY_MAGIC,
  NbdOpt,
  NbdRep,
} from '../../src/nbd/protocol.ts';

export interface OptionReply {
  readonly option: number;
  readonly type: number;
  readonly data: Buffer;
}

export interface SimpleReply {
  readonly error: number;
  readonly handle: bigint;
}

export class RawClient {
  readonly socket: Socket;
  #buf = Buffer.alloc(0);
  #waiter: (() => void) | null = null;
  #ended = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#ended = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static async connect(address: string): Promise<RawClient> {
    const socket = address.startsWith('/')
      ? connect({ path: address })
      : connect({ host: address.slice(0, address.lastIndexOf(':')), port: Number(address.split(':').pop()) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  /** Exactly `n` bytes; rejects if the server closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.#buf.length < n) {
      if (this.#ended) throw new Error(`connection closed with ${this.#buf.length}/${n} bytes read`);
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** Bytes received and not read yet. */
  get pending(): number {
    return this.#buf.length;
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  /** Reads the greeting and sends the client flags; returns the handshake flags. */
  async handshake(clientFlags = 3): Promise<number> {
    const g = await this.read(18);
    if (g.toString('latin1', 0, 8) !== 'NBDMAGIC' || g.toString('latin1', 8, 16) !== 'IHAVEOPT') {
      throw new Error('bad greeting');
    }
    const f = Buffer.alloc(4);
    f.writeUInt32BE(clientFlags);
    this.write(f);
    return g.readUInt16BE(16);
  }

  sendOption(option: number, data: Buffer = Buffer.alloc(0), magic = NBD_OPTS_MAGIC): void {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(magic, 0);
    h.writeUInt32BE(option, 8);
    h.writeUInt32BE(data.length, 12);
    this.write(Buffer.concat([h, data]));
  }

  async readOptionReply(): Promise<OptionReply> {
    const h = await this.read(20);
    if (h.readBigUInt64BE(0) !== NBD_REP_MAGIC) throw new Error('bad option reply magic');
    const len = h.readUInt32BE(16);
    return { option: h.readUInt32BE(8), type: h.readUInt32BE(12), data: await this.read(len) };
  }

  /** Replies up to and including the final one (ACK or an error). */
  async readOptionReplies(): Promise<OptionReply[]> {
    const out: OptionReply[] = [];
    for (;;) {
      const r = await this.readOptionReply();
      out.push(r);
      if (r.type === NbdRep.ack || r.type >= 0x80000000) return out;
    }
  }

  static infoPayload(name: string, infos: number[] = []): Buffer {
    const n = Buffer.from(name);
    const d = Buffer.alloc(4 + n.length + 2 + 2 * infos.length);
    d.writeUInt32BE(n.length, 0);
    n.copy(d, 4);
    d.writeUInt16BE(infos.length, 4 + n.length);
    infos.forEach((t, i) => d.writeUInt16BE(t, 4 + n.length + 2 + 2 * i));
    return d;
  }

  /** Full handshake with NBD_OPT_GO; returns the size and transmission flags. */
  async go(name: string): Promise<{ size: number; flags: number }> {
    await this.handshake();
    this.sendOption(NbdOpt.go, RawClient.infoPayload(name, [3]));
    const replies = await this.readOptionReplies();
    const last = replies[replies.length - 1]!;
    if (last.type !== NbdRep.ack) throw new Error(`GO refused: ${last.type} ${last.data.toString()}`);
    const exp = replies.find((r) => r.type === NbdRep.info && r.data.readUInt16BE(0) === 0)!;
    return { size: Number(exp.data.readBigUInt64BE(2)), flags: exp.data.readUInt16BE(10) };
  }

  sendRequest(args: {
    type: number;
    flags?: number;
    handle: bigint;
    offset?: number;
    length?: number;
    data?: Buffer;
    magic?: number;
  }): void {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(args.magic ?? NBD_REQUEST_MAGIC, 0);
    h.writeUInt16BE(args.flags ?? 0, 4);
    h.writeUInt16BE(args.type, 6);
    h.writeBigUInt64BE(args.handle, 8);
    h.writeBigUInt64BE(BigInt(args.offset ?? 0), 16);
    h.writeUInt32BE(args.length ?? args.data?.length ?? 0, 24);
    this.write(args.data ? Buffer.concat([h, args.data]) : h);
  }

  async readReply(): Promise<SimpleReply> {
    const r = await this.read(16);
    if (r.readUInt32BE(0) !== NBD_SIMPLE_REPLY_MAGIC) throw new Error('bad simple reply magic');
    return { error: r.readUInt32BE(4), handle: r.readBigUInt64BE(8) };
  }

  close(): void {
    this.socket.destroy();
  }
}
