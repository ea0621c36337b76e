/**
 * The mirror connect path of one volume (MDC, issue 5 section 2): listening, dialing with retries, the
 * authenticated handshake (mdc.ts) and the keepalive. At most one connection is live at a time; the volume
 * (volume.ts) sees it come up, its messages, and it going down.
 *
 * Who dials: the server whose name sorts first; the other only accepts. Both listen, so a restarted server
 * is found whichever side it is.
 *
 * Keepalive: while connected, each side sends PING every `keepaliveIntervalMs(sendTimeoutMs)` and answers
 * PING with PONG. Any byte received proves the peer alive; when nothing arrives for `sendTimeoutMs`, the
 * connection is dropped like a closed one (peer lost: the primary goes on alone). Without it a peer that
 * vanished without closing its socket (power loss, a silent network) would only be noticed by a write's
 * ack timeout, and an idle volume would never notice.
 */
import { createServer, connect as netConnect } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Logger } from '../ports/logger.ts';
import {
  handshake,
  MsgType,
  type DataHeader,
  type DataMsg,
  type DataStream,
  type MdcConnection,
} from './mdc.ts';

/**
 * PING interval for a given silence timeout: `max(1 s, sendTimeoutMs / 10)` (the rule), but never
 * more than a third of the timeout, so that a short timeout (tests, or a misconfiguration) still sees
 * several PINGs before it expires rather than dropping every idle connection.
 */
export function keepaliveIntervalMs(sendTimeoutMs: number): number {
  return Math.max(1, Math.min(Math.max(1000, sendTimeoutMs / 10), sendTimeoutMs / 3));
}

export interface MirrorLinkOptions {
  /** Volume name (logs). */
  readonly volume: string;
  readonly volumeId: string;
  readonly clusterName: string;
  /** The MDC key (mdcKey of the cluster secret). */
  readonly key: Buffer;
  readonly self: { readonly name: string; readonly mdc: string };
  readonly peer: { readonly name: string; readonly mdc: string };
  readonly connectTimeoutMs: number;
  /** Silence after which the connection is dropped; also sets the PING interval. */
  readonly sendTimeoutMs: number;
  /** Delay between connection attempts. */
  readonly retryMs: number;
  readonly log: Logger;
  /** False while this side must not dial (the operator broke the mirror here). */
  readonly mayDial: () => boolean;
  /** A connection passed the handshake and is now the live one. */
  readonly onUp: (conn: MdcConnection) => void;
  /** A message other than PING/PONG on the live connection, in arrival order. */
  readonly onMessage: (conn: MdcConnection, type: number, payload: Buffer, data: DataMsg | undefined) => void;
  /** Data messages (WRITE, RESYNC_BLOCK) as their bytes arrive; without it they come whole to onMessage. */
  readonly onDataBegin?: (conn: MdcConnection, type: number, h: DataHeader) => DataStream;
  /** The live connection is gone (called synchronously as it goes); redialing waits for the promise. */
  readonly onDown: (conn: MdcConnection) => Promise<unknown>;
}

function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

export class MirrorLink {
  readonly #o: MirrorLinkOptions;
  readonly #server: Server;
  #conn: MdcConnection | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;
  /** Every socket not yet closed (accepted, dialed, or live), destroyed on close. */
  readonly #sockets = new Set<Socket>();

  private constructor(o: MirrorLinkOptions, server: Server) {
    this.#o = o;
    this.#server = server;
  }

  /** Listens on `self.mdc` and starts dialing (when this side dials). */
  static async open(o: MirrorLinkOptions): Promise<MirrorLink> {
    const { host, port } = splitHostPort(o.self.mdc);
    let link: MirrorLink | null = null;
    const server = createServer((sock) => {
      if (link === null) sock.destroy();
      else link.#adopt(sock);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    link = new MirrorLink(o, server);
    link.dial();
    return link;
  }

  /** The address actually listened on (host:port; useful with port 0). */
  get address(): string {
    const a = this.#server.address();
    return a !== null && typeof a === 'object' ? `${a.address}:${a.port}` : this.#o.self.mdc;
  }

  /** The live connection, or null. */
  get conn(): MdcConnection | null {
    return this.#conn;
  }

  /** Dials the peer now unless this side does not dial, a connection or an attempt exists, or dialing is barred. */
  dial(): void {
    if (this.#closed || !this.#dials() || this.#conn !== null || this.#retry !== null || !this.#o.mayDial())
      return;
    const { host, port } = splitHostPort(this.#o.peer.mdc);
    const sock = netConnect({ host, port });
    const timer = setTimeout(() => sock.destroy(), this.#o.connectTimeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      this.#adopt(sock);
    });
    sock.once('error', () => undefined);
    sock.once('close', () => {
      clearTimeout(timer);
      if (this.#conn === null) this.#scheduleDial();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    this.#conn?.close();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  /** The server whose name sorts first dials; the other only accepts. */
  #dials(): boolean {
    return this.#o.self.name < this.#o.peer.name;
  }

  #scheduleDial(): void {
    if (this.#closed || !this.#dials() || this.#retry !== null) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.dial();
    }, this.#o.retryMs);
  }

  #adopt(sock: Socket): void {
    if (this.#closed || this.#conn !== null) {
      sock.destroy();
      return;
    }
    this.#sockets.add(sock);
    sock.on('close', () => this.#sockets.delete(sock));
    sock.setNoDelay(true);
    handshake(sock, {
      key: this.#o.key,
      clusterName: this.#o.clusterName,
      volumeId: this.#o.volumeId,
      server: this.#o.self.name,
      timeoutMs: this.#o.connectTimeoutMs,
      log: this.#o.log,
    }).then(
      (conn) => {
        if (this.#closed || this.#conn !== null) return conn.close();
        this.#conn = conn;
        const stopKeepalive = this.#keepalive(conn, sock);
        // Before start: frames that arrived with the handshake (the peer's meta) are delivered by start.
        this.#o.onUp(conn);
        const onDataBegin = this.#o.onDataBegin;
        const streamTo =
          onDataBegin === undefined
            ? undefined
            : (t: number, h: DataHeader): DataStream => onDataBegin(conn, t, h);
        conn.start(
          (t, p, d) => {
            if (t === MsgType.ping) conn.send(MsgType.pong);
            else if (t !== MsgType.pong) this.#o.onMessage(conn, t, p, d);
          },
          (err?: Error) => {
            stopKeepalive();
            // Why it dropped (a refused frame, a socket error), so a mirror break is never a mystery.
            if (err !== undefined)
              this.#o.log.warn(
                { volume: this.#o.volume, peer: this.#o.peer.name, err: err.message },
                'mirror connection dropped',
              );
            if (this.#conn !== conn) return;
            this.#conn = null;
            void this.#o.onDown(conn).then(
              () => this.#scheduleDial(),
              (err: unknown) => {
                this.#o.log.error(
                  { volume: this.#o.volume, err: (err as Error).message },
                  'handling the loss of the mirror connection failed',
                );
                this.#scheduleDial();
              },
            );
          },
          streamTo,
        );
      },
      () => this.#scheduleDial(),
    );
  }

  /** PINGs the peer and drops the connection after `sendTimeoutMs` without a byte from it. */
  #keepalive(conn: MdcConnection, sock: Socket): () => void {
    const timeoutMs = this.#o.sendTimeoutMs;
    const silence = setTimeout(() => {
      this.#o.log.warn(
        { volume: this.#o.volume, peer: this.#o.peer.name },
        `nothing received from ${this.#o.peer.name} for ${timeoutMs} ms; dropping the mirror connection`,
      );
      conn.close();
    }, timeoutMs);
    // Any byte counts, not only whole frames: a large block still arriving proves the peer alive.
    const alive = (): void => {
      silence.refresh();
    };
    sock.on('data', alive);
    const ping = setInterval(() => conn.send(MsgType.ping), keepaliveIntervalMs(timeoutMs));
    return () => {
      clearTimeout(silence);
      clearInterval(ping);
      sock.off('data', alive);
    };
  }
}
