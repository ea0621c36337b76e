/**
 * The NBD server (issue 5: "the volume reaches the application through the NBD protocol"): listens on a unix
 * socket or a TCP address and serves one named export, whose `BlockBackend` is looked up at each NBD_OPT_GO
 * (or NBD_OPT_EXPORT_NAME). The lookup returns `null` while this server does not serve the volume (it is not
 * the active server): the export is then refused with NBD_REP_ERR_UNKNOWN and a message saying so.
 *
 * The protocol per connection lives in connection.ts; this module owns the listening socket, the connection
 * set and the shutdown order: stop listening, let every connection's in-flight requests settle and reply,
 * close the connections, remove the unix socket file.
 *
 * Unix socket: the socket is bound under a temporary name in the same directory, chmod 0600, then renamed to
 * the requested path, so no other user can ever connect through a window of default permissions. A stale
 * socket file (nobody accepts on it) is removed first; a live one is refused (NBD_ADDRESS_IN_USE) and a path
 * that is not a socket is never removed (NBD_PATH_NOT_SOCKET).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmod, lstat, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { BlockBackend } from './types.ts';
import { DEFAULT_BLOCK_SIZES, type BlockSizes } from './protocol.ts';
import { NbdConnection, type NbdLog } from './connection.ts';
import { NbdError, NbdErrorCode, sysCode } from './errors.ts';

export type { NbdLog, NbdLogLevel } from './connection.ts';

export type NbdListen = { readonly path: string } | { readonly host: string; readonly port: number };

export interface NbdServerOptions {
  /** Name of the one export (clients ask for it; the empty name also selects it). */
  readonly exportName: string;
  /** The volume to serve now, or null when this server does not serve it (the export is refused). */
  readonly backend: () => BlockBackend | null;
  readonly listen: NbdListen;
  readonly log?: NbdLog;
  /** Connections beyond this are closed on accept. @default 16 */
  readonly maxConnections?: number;
  /**
   * Minimum block size advertised: 1 lets clients send any offset and length; 512 makes the server refuse
   * misaligned requests with EINVAL (for backends that work in sectors). @default 1
   */
  readonly minimumBlockSize?: 1 | 512;
  /** Per connection: reading pauses while in-flight request bytes plus unsent replies exceed this. @default 64 MiB */
  readonly maxInFlightBytes?: number;
  /** A client that has not finished negotiating within this is disconnected. @default 30000 ms */
  readonly handshakeTimeoutMs?: number;
}

export interface NbdServer {
  /** The unix socket path, or `host:port` (`[v6]:port`) with the port actually bound. */
  readonly address: string;
  /** Open client connections (negotiating or transmitting). */
  readonly connections: number;
  /** Stops listening, lets in-flight requests settle and reply, closes every connection. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_CONNECTIONS = 16;
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

const noLog: NbdLog = () => undefined;

export async function createNbdServer(opts: NbdServerOptions): Promise<NbdServer> {
  const log = opts.log ?? noLog;
  const blockSizes: BlockSizes = { ...DEFAULT_BLOCK_SIZES, minimum: opts.minimumBlockSize ?? 1 };
  const conns = new Set<NbdConnection>();
  let closing = false;
  let nextId = 1;
  const ctx = {
    exportName: opts.exportName,
    backend: opts.backend,
    blockSizes,
    maxInFlightBytes: opts.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES,
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    log,
    closing: () => closing,
  };

  const server = createServer((socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const conn = new NbdConnection(nextId++, socket, ctx);
    conns.add(conn);
    log('debug', 'nbd connection accepted', { conn: conn.id, export: opts.exportName });
    void conn.closed.then(() => conns.delete(conn));
  });
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.on('drop', () =>
    log('warn', 'nbd connection refused: too many connections', {
      export: opts.exportName,
      maxConnections: server.maxConnections,
    }),
  );

  const bound =
    'path' in opts.listen ? await listenUnix(server, opts.listen.path) : await listenTcp(server, opts.listen);
  log('info', 'nbd server listening', { export: opts.exportName, address: bound.address });

  let closed: Promise<void> | null = null;
  return {
    address: bound.address,
    get connections() {
      return conns.size;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...conns].map((c) => c.shutdown()));
        await listenerClosed;
        await bound.cleanup();
        log('info', 'nbd server closed', { export: opts.exportName, address: bound.address });
      })();
      return closed;
    },
  };
}

interface Bound {
  readonly address: string;
  cleanup(): Promise<void>;
}

async function listenTcp(server: Server, l: { host: string; port: number }): Promise<Bound> {
  const object = `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
  await listenOn(server, { host: l.host, port: l.port }, object);
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : l.port;
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return { address: `${host}:${port}`, cleanup: () => Promise.resolve() };
}

async function listenUnix(server: Server, path: string): Promise<Bound> {
  await removeStaleSocket(path);
  // Bind under a short private name next to the target (unix socket paths are limited to 107 bytes).
  const tmp = join(dirname(path), `.nbd-${randomBytes(4).toString('hex')}`);
  await listenOn(server, { path: tmp }, path);
  try {
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(tmp).catch(() => undefined);
    throw new NbdError(
      {
        code: NbdErrorCode.listenFailed,
        object: path,
        message: `Cannot publish the NBD socket ${path} (${sysCode(err) ?? String(err)}).`,
        remedy: `check that the directory ${dirname(path)} is writable by the Tandem daemon.`,
      },
      { cause: err },
    );
  }
  const ino = (await lstat(path)).ino;
  return {
    address: path,
    async cleanup() {
      // Remove the file only if it is still ours: a newer server may have taken the path over.
      const st = await lstat(path).catch(() => null);
      if (st !== null && st.isSocket() && st.ino === ino) await unlink(path).catch(() => undefined);
    },
  };
}

function listenOn(server: Server, how: { path: string } | { host: string; port: number }, object: string) {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      const code = sysCode(err);
      reject(
        code === 'EADDRINUSE'
          ? new NbdError(
              {
                code: NbdErrorCode.addressInUse,
                object,
                message: `Cannot serve NBD on ${object}: the address is already in use.`,
                remedy: 'stop the other process using it, or configure another `nbd` address for the volume.',
              },
              { cause: err },
            )
          : new NbdError(
              {
                code: NbdErrorCode.listenFailed,
                object,
                message: `Cannot serve NBD on ${object} (${code ?? err.message}).`,
                remedy:
                  'path' in how
                    ? `check that the directory exists and is writable, and that the path ${basename(object)} is short enough (107 bytes).`
                    : 'check that the address is one of this server and the port is free.',
              },
              { cause: err },
            ),
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(how);
  });
}

/** Removes a socket file nobody listens on; refuses a live socket or a file that is not a socket. */
async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch((err: unknown) => {
    if (sysCode(err) === 'ENOENT') return null;
    throw err;
  });
  if (st === null) return;
  if (!st.isSocket()) {
    throw new NbdError({
      code: NbdErrorCode.pathNotSocket,
      object: path,
      message: `Cannot serve NBD on ${path}: the path exists and is not a socket.`,
      remedy: 'remove or move that file, or configure another `nbd` socket path for the volume.',
    });
  }
  const live = await new Promise<boolean>((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) {
    throw new NbdError({
      code: NbdErrorCode.addressInUse,
      object: path,
      message: `Cannot serve NBD on ${path}: another process accepts connections on that socket.`,
      remedy: 'stop the other server (is the volume already active here?), or configure another `nbd` path.',
    });
  }
  await unlink(path);
}
