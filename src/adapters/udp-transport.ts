/**
 * UDP heartbeat transport (issue 3 section 3, "Heartbeats"; docs/architecture.md). One datagram socket per
 * interconnect of this server, bound to the address:port the config gives it; interconnect i of this
 * server talks to interconnect i of every peer (`lan1` to `lan1`, ...). Every packet is signed (wire.ts);
 * malformed, unsigned, foreign-cluster and replayed packets are dropped and counted, never passed on.
 *
 * Sending is best effort: a send error (peer's network down, no route) is not counted in `sent` and is
 * logged at debug, at most once per 10 s per destination. Dropped packets are logged at most once per
 * 10 s per interconnect and reason. Our own reports coming back (a peer address that loops to us) are
 * ignored.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from '../ports/logger.ts';
import type { HeartbeatTransport, PeerReport, TransportStats } from '../ports/transport.ts';
import type { CompiledConfig, CompiledInterconnect, CompiledServer } from '../shared/config/types.ts';
import { heartbeatKey } from '../shared/crypto.ts';
import { BugError, ConfigError } from '../shared/errors.ts';
import { ReplayGuard } from './replay-guard.ts';
import { LogThrottle } from './throttle.ts';
import { decodeReport, encodeReport } from './wire.ts';

export interface UdpHeartbeatTransportOptions {
  config: CompiledConfig;
  /** This server's name (one of `config.servers`). */
  self: string;
  /** The cluster secret (contents of `cluster.secretFile`). */
  secret: Buffer;
  log: Logger;
}

interface Lane {
  /** This server's interconnect (socket bound to its address:port). */
  local: CompiledInterconnect;
  socket: Socket;
  /** Where to send on this lane: interconnect i of every peer. */
  peers: { server: string; address: string; port: number }[];
}

export class UdpHeartbeatTransport implements HeartbeatTransport {
  readonly #config: CompiledConfig;
  readonly #self: CompiledServer;
  readonly #key: Buffer;
  readonly #log: Logger;
  readonly #guard: ReplayGuard;
  readonly #throttle = new LogThrottle();
  readonly #stats: TransportStats = {
    sent: 0,
    received: 0,
    droppedUnsigned: 0,
    droppedForeign: 0,
    droppedReplayed: 0,
    droppedMalformed: 0,
  };
  #lanes: Lane[] = [];
  #state: 'new' | 'starting' | 'started' | 'closed' = 'new';
  #onReport: ((report: PeerReport, via: string) => void) | null = null;

  constructor(opts: UdpHeartbeatTransportOptions) {
    const self = opts.config.servers.find((s) => s.name === opts.self);
    if (self === undefined) {
      const message = `Server ${opts.self} is not in the servers list of ${opts.config.sourceFile}.`;
      const remedy = `Pass one of ${opts.config.servers.map((s) => s.name).join(', ')} as --server.`;
      throw new ConfigError(`${message} ${remedy}`, [
        { severity: 'error', path: 'servers', line: 0, col: 0, message, remedy },
      ]);
    }
    this.#config = opts.config;
    this.#self = self;
    this.#key = heartbeatKey(opts.secret);
    this.#log = opts.log.child({ component: 'heartbeat' });
    this.#guard = new ReplayGuard({ maxServers: Math.max(64, opts.config.servers.length * 4) });
  }

  /**
   * Bind every interconnect socket. Rejects with a ConfigError naming the interconnect, its address and
   * the system error when one cannot be bound (sockets already bound are closed again).
   */
  async start(onReport: (report: PeerReport, via: string) => void): Promise<void> {
    if (this.#state !== 'new') throw new BugError(`heartbeat transport already ${this.#state}`);
    this.#state = 'starting';
    this.#onReport = onReport;
    const peers = this.#config.servers.filter((s) => s.name !== this.#self.name);
    const results = await Promise.allSettled(
      this.#self.interconnects.map((local, i) => this.#bindLane(local, i, peers)),
    );
    const lanes = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0 || this.#state !== 'starting') {
      await Promise.all(lanes.map((l) => closeSocket(l.socket)));
      if (this.#state !== 'starting') return; // closed while starting
      this.#state = 'closed';
      const failure = results[failed];
      const cause: unknown = failure?.status === 'rejected' ? failure.reason : undefined;
      const ic = this.#self.interconnects[failed]!;
      const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'ERROR';
      const serverIndex = this.#config.servers.indexOf(this.#self);
      const message = `Cannot bind heartbeat interconnect ${ic.name} of server ${this.#self.name} to UDP ${ic.address}:${ic.port} (${code}).`;
      const remedy =
        code === 'EADDRINUSE'
          ? 'Another process (perhaps another Tandem daemon) uses this port: stop it or change the port.'
          : 'Use an address configured on this machine for this server, or correct --server.';
      throw new ConfigError(
        `${message} (HEARTBEAT_BIND_FAILED) ${remedy}`,
        [
          {
            severity: 'error',
            path: `servers[${serverIndex}].interconnects[${failed}]`,
            line: 0,
            col: 0,
            message,
            remedy,
          },
        ],
        { cause },
      );
    }
    this.#lanes = lanes;
    this.#state = 'started';
    this.#log.debug(
      { interconnects: lanes.map((l) => `${l.local.name}=${l.local.address}:${l.local.port}`).join(' ') },
      'heartbeat sockets bound',
    );
  }

  broadcast(report: PeerReport): void {
    if (this.#state !== 'started') return;
    let packet: Buffer;
    try {
      packet = encodeReport(report, this.#key);
    } catch (err) {
      if (this.#throttle.take('encode').log) this.#log.error({ err }, 'cannot encode heartbeat');
      return;
    }
    for (const lane of this.#lanes) {
      for (const peer of lane.peers) {
        try {
          lane.socket.send(packet, peer.port, peer.address, (err) => {
            if (err === null || err === undefined) this.#stats.sent += 1;
            else this.#sendFailed(lane, peer, err);
          });
        } catch (err) {
          this.#sendFailed(lane, peer, err);
        }
      }
    }
  }

  stats(): TransportStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const lanes = this.#lanes;
    this.#lanes = [];
    await Promise.all(lanes.map((l) => closeSocket(l.socket)));
  }

  #bindLane(local: CompiledInterconnect, index: number, peers: CompiledServer[]): Promise<Lane> {
    const socket = createSocket({ type: isIPv6(local.address) ? 'udp6' : 'udp4' });
    const lane: Lane = {
      local,
      socket,
      peers: peers.flatMap((p) => {
        const ic = p.interconnects[index];
        return ic === undefined ? [] : [{ server: p.name, address: ic.address, port: ic.port }];
      }),
    };
    return new Promise<Lane>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.removeListener('listening', onListening);
        try {
          socket.close();
        } catch {
          // never bound: nothing to close
        }
        reject(err);
      };
      const onListening = (): void => {
        socket.removeListener('error', onError);
        socket.on('error', (err) => {
          if (this.#throttle.take(`socket:${local.name}`).log) {
            this.#log.warn({ interconnect: local.name, err }, 'heartbeat socket error');
          }
        });
        socket.on('message', (msg, rinfo) => this.#onPacket(local.name, msg, rinfo));
        resolve(lane);
      };
      socket.once('error', onError);
      socket.once('listening', onListening);
      socket.bind({ address: local.address, port: local.port, exclusive: true });
    });
  }

  #onPacket(via: string, msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#state !== 'started') return;
    const decoded = decodeReport(msg, this.#key, this.#config.cluster.name);
    if (!decoded.ok) {
      if (decoded.reason === 'malformed') this.#stats.droppedMalformed += 1;
      else if (decoded.reason === 'unsigned') this.#stats.droppedUnsigned += 1;
      else this.#stats.droppedForeign += 1;
      this.#dropped(via, decoded.reason, rinfo);
      return;
    }
    const report = decoded.report;
    if (report.server === this.#self.name) return; // our own packet looped back
    if (this.#guard.check(report.server, via, report.incarnation, report.seq) === 'replayed') {
      this.#stats.droppedReplayed += 1;
      this.#dropped(via, 'replayed', rinfo);
      return;
    }
    this.#stats.received += 1;
    try {
      this.#onReport?.(report, via);
    } catch (err) {
      this.#log.error({ err, interconnect: via, peer: report.server }, 'heartbeat handler failed');
    }
  }

  /**
   * Unsigned, foreign and malformed packets point at a misconfiguration (another secret, two clusters
   * sharing a secret, mixed versions) or an attack: warn, rate-limited. Replays also happen on healthy
   * networks (duplicated datagrams): debug.
   */
  #dropped(via: string, reason: string, rinfo: RemoteInfo): void {
    const t = this.#throttle.take(`drop:${via}:${reason}`);
    if (t.log) {
      this.#log[reason === 'replayed' ? 'debug' : 'warn'](
        { interconnect: via, reason, from: `${rinfo.address}:${rinfo.port}`, suppressed: t.suppressed },
        'heartbeat packet dropped',
      );
    }
  }

  #sendFailed(lane: Lane, peer: { server: string; address: string; port: number }, err: unknown): void {
    const t = this.#throttle.take(`send:${lane.local.name}:${peer.server}`);
    if (t.log) {
      this.#log.debug(
        {
          interconnect: lane.local.name,
          peer: peer.server,
          to: `${peer.address}:${peer.port}`,
          err: (err as Error | undefined)?.message ?? String(err),
          suppressed: t.suppressed,
        },
        'heartbeat send failed',
      );
    }
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
