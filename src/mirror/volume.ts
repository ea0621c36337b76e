/**
 * The live mirror volume of one server (issue 5 section 2): the data partition, its metadata, the MDC link
 * to the peer, and the state machine of src/mirror/core/volume-state.ts. Events go through one serialized
 * queue (`#dispatch`): the reducer decides, then the actions are carried out in order (persist before send).
 *
 * Writes (primary only, through the BlockBackend `promote` returns; the pieces, acks and FLUSH are
 * write-path.ts): the regions a write touches are marked in the dirty bitmap, and each is on disk as dirty
 * BEFORE the write starts (`#markDirty`), so a crash of the primary leaves every region that may differ on
 * record. The persisted bitmap is the in-memory one plus the hot extents (hot-regions.ts, an activity log
 * in extents of `hotExtent`): an extent written recently stays marked on disk, so writing it again costs no
 * metadata save; an extent not hot is saved before its write starts. An in-memory bit is cleared once every
 * write to its region is both on the local copy and acknowledged by the peer (`#regionsDone`); the disk
 * follows lazily (the next save, once the extent has left the hot set; a clean close saves the exact
 * bitmap). When the peer is lost, unacknowledged writes complete locally and their regions stay dirty.
 *
 * Going alone: when the peer is lost, writes waiting for its ack complete only after the state machine
 * has persisted the new generation and `peerOutdated` (volume-state.ts), and so do writes started while
 * that is being persisted: no write is acknowledged alone before this copy has recorded that it is the
 * newer one. A copy opened without its peer is `Consistent` until they connect; `promote` can wait for
 * the peer (`waitForPeerMs`) instead of refusing at once.
 *
 * Disk failure: a read, write or sync of the data partition that fails marks the copy Failed (the state
 * machine's `local-io-error`, persisted best effort). A primary then fails every further write with EIO
 * (mdw reports the failure and the cluster fails the group over to the peer); a secondary drops mirrored
 * data from then on and tells the primary through its meta (replica.ts), which goes on alone. `openData`
 * lets tests inject a failing data partition.
 *
 * Operator break on the primary: the peer is told its copy is outdated, and the link drops once it has
 * acknowledged (bounded wait, `#outdatePeer`).
 *
 * The connection (dialing, handshake, keepalive) is link.ts; the resync's copy loop is resync.ts (the
 * source side drives: the regions dirty on either side, or all when the generations say full).
 */
import { open as openFile, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { BackendError, type BlockBackend, type Bytes, type WriteStream } from '../nbd/types.ts';
import { DEFAULT_REGION_SIZE, DirtyBitmap } from './core/bitmap.ts';
import { initialGenerations, JUST_CREATED, type Generations } from './core/generations.ts';
import {
  CLEAN_FLAGS,
  initVolumeState,
  isReplicating,
  resyncStatus,
  step,
  diskFailedRefusal,
  type PeerInfo,
  type RecoverSource,
  type VolumeAction,
  type VolumeEvent,
  type VolumeState,
} from './core/volume-state.ts';
import { MetadataStore, type MirrorMeta } from './metadata.ts';
import { decodeData, decodeSeq, mdcKey, MsgType, type DataMsg, type MdcConnection } from './mdc.ts';
import { MirrorLink } from './link.ts';
import { copyRegions, RegionActivity } from './resync.ts';
import { Replica } from './replica.ts';
import { ActiveVolume, type VolumeIo } from './active-volume.ts';
import { DEFAULT_HOT_EXTENT, HotRegions } from './hot-regions.ts';
import { WritePath } from './write-path.ts';
import { MirrorRefusedError, type MirrorStatus, type MirrorVolumeOptions } from './volume-types.ts';

export { MirrorRefusedError, type MirrorStatus, type MirrorVolumeOptions } from './volume-types.ts';

/** Longest wait for the peer's OUTDATE_ACK during an operator break. */
const OUTDATE_ACK_MS = 5_000;

export class MirrorVolume implements VolumeIo {
  readonly name: string;
  readonly size: number;
  readonly #o: MirrorVolumeOptions;
  readonly #data: FileHandle;
  readonly #meta: MetadataStore;
  readonly #bitmap: DirtyBitmap;
  readonly #key: Buffer;
  #state: VolumeState;
  #link: MirrorLink | null = null;
  #peerBitmap: DirtyBitmap | null = null;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  /** The write path of the active copy (write-path.ts). */
  readonly #writes: WritePath;
  readonly #activity = new RegionActivity();
  /** The hot set (hot-regions.ts), by extent: extent e covers regions e*k .. e*k+k-1, k = #extentRegions. */
  readonly #hot: HotRegions;
  readonly #extentRegions: number;
  /** The latest save requested: the bitmap it writes, and when it is durable. */
  #lastSave: { bitmap: DirtyBitmap; done: Promise<void> } | null = null;
  readonly #replica: Replica;
  #resyncing = false;
  #resyncBytes = 0;
  #backend: ActiveVolume | null = null;
  /** Called after every state change (promote's wait for the peer). */
  readonly #watchers = new Set<() => void>();
  /** A break on the primary waiting for the peer's OUTDATE_ACK (true: acknowledged). */
  #outdateWait: ((acked: boolean) => void) | null = null;
  #outdateAcked = false;

  private constructor(o: MirrorVolumeOptions, data: FileHandle, meta: MetadataStore, m: MirrorMeta) {
    this.#o = o;
    this.name = o.name;
    this.size = m.size;
    this.#data = data;
    this.#meta = meta;
    this.#bitmap = m.bitmap;
    this.#key = mdcKey(o.secret, o.clusterName);
    this.#hot = new HotRegions(o.hotRegions);
    this.#extentRegions = Math.max(1, Math.ceil((o.hotExtent ?? DEFAULT_HOT_EXTENT) / m.bitmap.regionSize));
    this.#writes = new WritePath(
      { name: o.name, mode: o.mode, queueSize: o.queueSize, ackTimeoutMs: o.ackTimeoutMs, log: o.log },
      {
        data,
        checkWritable: (offset, length) => this.#checkWritable(offset, length),
        markDirty: (offset, length) => this.#markDirty(offset, length),
        regionsDone: (r, peerHas) => this.#regionsDone(r, peerHas),
        link: () => ({ conn: this.#conn, replicating: isReplicating(this.#state.connection) }),
        settled: () => this.#queue,
        ioFailed: (op, err) => this.#ioFailed(op, err),
      },
    );
    this.#replica = new Replica({
      volume: o.name,
      data,
      log: o.log,
      isPrimary: () => this.#state.role === 'primary',
      onIoError: (err, op) => void this.#ioFailed(op, err),
      isFailed: () => this.#state.flags.diskFailed,
    });
    this.#state = initVolumeState({
      name: o.name,
      server: o.self.name,
      peerServer: o.peer.name,
      volumeId: o.volumeId,
      size: m.size,
      generations: m.generations,
      flags: m.flags,
      dirtyBytes: m.bitmap.dirtyBytes(),
      autoRecovery: o.autoRecovery ?? true,
      dataPath: o.dataPath,
    });
  }

  /** Opens the copy (creating its metadata on a blank cluster partition), listens and dials the peer. */
  static async open(o: MirrorVolumeOptions): Promise<MirrorVolume> {
    const data = await (o.openData ?? ((path: string) => openFile(path, 'r+')))(o.dataPath);
    try {
      const size = o.size ?? (await stat(o.dataPath)).size;
      const regionSize = o.regionSize ?? DEFAULT_REGION_SIZE;
      const initial =
        o.initialSync === 'skip'
          ? createHash('sha256').update(`tandem md initial ${o.volumeId}`).digest('hex').slice(0, 16)
          : JUST_CREATED;
      const { store, meta } = await MetadataStore.open(
        o.clusterPath,
        { volumeId: o.volumeId, size, regionSize },
        () => ({
          volumeId: o.volumeId,
          size,
          regionSize,
          generations: initialGenerations(initial),
          flags: CLEAN_FLAGS,
          bitmap: new DirtyBitmap(size, regionSize),
        }),
      );
      const v = new MirrorVolume(o, data, store, meta);
      try {
        v.#link = await MirrorLink.open({
          volume: o.name,
          volumeId: o.volumeId,
          clusterName: o.clusterName,
          key: v.#key,
          self: o.self,
          peer: o.peer,
          connectTimeoutMs: o.connectTimeoutMs,
          sendTimeoutMs: o.sendTimeoutMs,
          retryMs: o.retryMs ?? 500,
          log: o.log,
          // Dialed even when broken: the link then comes up refused (MD_BROKEN), so that a `recover` run
          // on either server reaches the other.
          mayDial: () => true,
          onUp: (conn) => v.#onUp(conn),
          onMessage: (conn, t, p, d) => v.#onMessage(conn, t, p, d),
          onDataBegin: (conn, t, h) => v.#replica.begin(conn, t, h),
          onDown: (conn) => v.#onDown(conn),
        });
      } catch (err) {
        await store.close();
        throw err;
      }
      return v;
    } catch (err) {
      await data.close();
      throw err;
    }
  }

  /** The MDC address actually listened on (host:port; useful with port 0). */
  get mdcAddress(): string {
    return this.#link?.address ?? this.#o.self.mdc;
  }

  get #conn(): MdcConnection | null {
    return this.#link?.conn ?? null;
  }

  status(): MirrorStatus {
    const s = this.#state;
    return {
      name: s.name,
      role: s.role,
      local: s.local,
      peer: s.peer,
      connection: s.connection,
      dirtyBytes: this.#bitmap.dirtyBytes(),
      resync: resyncStatus(s, this.#o.now()),
      asyncQueueDepth: this.#o.mode === 'async' ? this.#writes.peerWrites : 0,
      generations: s.generations,
      resyncBytesSent: this.#resyncBytes,
      lastDecision: s.lastDecision === null ? null : `${s.lastDecision.kind}: ${s.lastDecision.why}`,
      flags: s.flags,
      diskFailure: s.flags.diskFailed ? diskFailedRefusal(s) : null,
      recoveryPending:
        s.connection.kind === 'RecoveryPending'
          ? {
              direction: s.connection.direction,
              full: s.connection.full,
              why: s.connection.why,
              command: `tandem md recover ${s.name}`,
            }
          : null,
    };
  }

  /**
   * Activates the copy; resolves with the block device to serve, or rejects with MirrorRefusedError.
   * `force` activates a copy that is not known to be the latest (the operator accepts losing what only the
   * peer holds). `waitForPeerMs`: when the copy's freshness is unknown (`Consistent`, opened without its
   * peer), first wait up to that long for the peer to connect and the copies to be compared, as DRBD waits
   * for its peer at startup (wfc-timeout); without it such a copy is refused at once (MD_PEER_UNKNOWN).
   */
  async promote(opts: { force?: boolean; waitForPeerMs?: number } = {}): Promise<BlockBackend> {
    const waitMs = opts.waitForPeerMs ?? 0;
    if (opts.force !== true && waitMs > 0) {
      await this.#waitFor(
        () => this.#state.local !== 'Consistent' || this.#state.connection.kind !== 'Disconnected',
        waitMs,
      );
    }
    const acts = await this.#dispatch({
      type: 'promote',
      nowMs: this.#o.now(),
      force: opts.force === true,
      newId: this.#newId(),
    });
    const r = acts.find((a) => a.type === 'refuse');
    if (r !== undefined && r.type === 'refuse') throw new MirrorRefusedError(r.refusal);
    this.#backend ??= new ActiveVolume(this);
    return this.#backend;
  }

  async demote(): Promise<void> {
    this.#backend?.retire();
    this.#backend = null;
    await this.#dispatch({ type: 'demote', nowMs: this.#o.now() });
  }

  /**
   * The operator's mirror break. `peerOutdated`: on the primary, the mirrored peer acknowledged that its
   * copy is now outdated before the link dropped (false: not mirrored, not primary, or no answer in time).
   */
  async break(): Promise<{ peerOutdated: boolean }> {
    this.#outdateAcked = false;
    await this.#dispatch({ type: 'break', nowMs: this.#o.now(), newId: this.#newId() });
    return { peerOutdated: this.#outdateAcked };
  }

  /**
   * `recover`: `local` keeps this copy, `peer` overwrites it from the peer, `auto` (no `--source`) takes
   * the direction the generations say (MD_RECOVER_NEEDS_SOURCE for a split brain or unrelated copies).
   */
  async recover(source: RecoverSource): Promise<void> {
    const acts = await this.#dispatch({
      type: 'recover',
      nowMs: this.#o.now(),
      source,
      newId: this.#newId(),
    });
    const r = acts.find((a) => a.type === 'refuse');
    if (r !== undefined && r.type === 'refuse') throw new MirrorRefusedError(r.refusal);
    this.#link?.dial();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#backend?.retire();
    for (const w of this.#watchers) w();
    await this.#link?.close();
    // Mirrored writes still queued on the secondary side go to the data file before it is closed.
    await this.#replica.drain();
    await this.#queue.catch(() => undefined);
    // No write can start any more and every one not both local and acknowledged keeps its bit in memory:
    // the exact bitmap replaces the hot regions on disk, so a clean restart copies nothing extra.
    this.#hot.clear();
    await this.#save().catch(() => undefined);
    await this.#meta.close();
    await this.#data.close();
  }

  #newId(): string {
    return this.#o.random(8).toString('hex');
  }

  /** Saves the metadata (every save goes through here: `#lastSave` must be the latest requested). */
  #save(): Promise<void> {
    const meta = this.#snapshot();
    const done = this.#meta.save(meta);
    this.#lastSave = { bitmap: meta.bitmap, done };
    // A failed save proves nothing on disk: the next write must request its own.
    done.catch(() => {
      if (this.#lastSave?.done === done) this.#lastSave = null;
    });
    return done;
  }

  /** What a save writes: the in-memory bitmap plus the hot regions (see the module comment). */
  #snapshot(): MirrorMeta {
    const bitmap = this.#bitmap.clone();
    const k = this.#extentRegions;
    for (const e of this.#hot.regions()) {
      const end = Math.min((e + 1) * k, bitmap.regions);
      for (let i = e * k; i < end; i++) bitmap.setRegion(i);
    }
    return {
      volumeId: this.#o.volumeId,
      size: this.size,
      regionSize: this.#bitmap.regionSize,
      generations: this.#state.generations,
      flags: this.#state.flags,
      bitmap,
    };
  }

  #info(): PeerInfo {
    const s = this.#state;
    return {
      volumeId: s.volumeId,
      size: s.size,
      generations: s.generations,
      flags: s.flags,
      role: s.role,
      dirtyBytes: this.#bitmap.dirtyBytes(),
    };
  }

  /** Feeds one event through the reducer and carries out its actions; events are strictly serialized. */
  #dispatch(event: VolumeEvent): Promise<readonly VolumeAction[]> {
    const run = async (): Promise<readonly VolumeAction[]> => {
      const was = this.#state.connection;
      const r = step(this.#state, event);
      this.#state = r.state;
      for (const a of r.actions) await this.#act(a);
      // Mirroring stopped with the link up (a refusal, a failed disk, a pending recovery): writes waiting
      // for the peer complete alone, now that the actions persisted that this copy goes on alone.
      if (isReplicating(was) && !isReplicating(this.#state.connection)) this.#releasePeerWaits();
      for (const w of this.#watchers) w();
      return r.actions;
    };
    const p = this.#queue.then(run);
    this.#queue = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Resolves once `cond` holds (checked after every state change), after `timeoutMs`, or on close. */
  #waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#watchers.delete(check);
        resolve();
      };
      const check = (): void => {
        if (this.#closed || cond()) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#watchers.add(check);
      check();
    });
  }

  async #act(a: VolumeAction): Promise<void> {
    const log = this.#o.log;
    switch (a.type) {
      case 'persist':
        if (a.bestEffort)
          await this.#save().catch((err: unknown) =>
            log.error(
              { volume: this.name, err: (err as Error).message },
              'the metadata could not be saved (the disk failure is kept in memory)',
            ),
          );
        else await this.#save();
        break;
      case 'send-meta':
        this.#conn?.sendJson(MsgType.meta, { info: this.#info() });
        break;
      case 'start-resync':
        void this.#runResync(a.full).catch((err: unknown) =>
          this.#o.log.error(
            { volume: this.name, err: (err as Error).message },
            'mirror recovery failed; it restarts on the next connect',
          ),
        );
        break;
      case 'send-resync-done':
        this.#conn?.sendJson(MsgType.resyncDone, { generations: a.generations });
        break;
      case 'send-recover':
        this.#conn?.send(MsgType.recover);
        break;
      case 'send-recover-start':
        this.#conn?.send(MsgType.recoverStart);
        break;
      case 'send-outdate':
        this.#outdateAcked = await this.#outdatePeer();
        break;
      case 'send-outdate-ack':
        this.#conn?.send(MsgType.outdateAck);
        break;
      case 'disconnect':
        this.#conn?.close();
        break;
      case 'refuse':
        log.warn({ volume: this.name, code: a.refusal.code }, a.refusal.message);
        break;
      case 'log':
        log[a.level]({ volume: this.name }, a.message);
        break;
    }
  }

  /**
   * Tells the peer its copy is outdated (operator break on the primary) and waits for its OUTDATE_ACK, at
   * most `min(ackTimeoutMs, 5 s)`: without an answer the break goes on (this copy's `peerOutdated` still
   * keeps the peer from being taken as the latest by this side).
   */
  async #outdatePeer(): Promise<boolean> {
    const conn = this.#conn;
    if (conn === null || !conn.send(MsgType.outdate)) return false;
    const acked = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), Math.min(this.#o.ackTimeoutMs, OUTDATE_ACK_MS));
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.#outdateWait = null;
        resolve(ok);
      };
      this.#outdateWait = done;
    });
    if (!acked)
      this.#o.log.warn(
        { volume: this.name, peer: this.#o.peer.name },
        `${this.#o.peer.name} did not acknowledge that its copy is outdated; breaking the mirror anyway`,
      );
    return acked;
  }

  /** Writes and flushes waiting for the peer complete locally (their regions stay dirty). */
  #releasePeerWaits(): void {
    this.#writes.takeWaiting()(null);
  }

  /**
   * The data partition failed an I/O: the state machine marks the copy Failed (first error kept). Returns
   * the EIO to fail the request with.
   */
  #ioFailed(op: 'read' | 'write' | 'flush', err: unknown): BackendError {
    const e = err as NodeJS.ErrnoException;
    const error = `${e.message ?? String(err)}`;
    if (!this.#closed) {
      void this.#dispatch({ type: 'local-io-error', nowMs: this.#o.now(), op, error }).catch(
        (dispatchErr: unknown) =>
          this.#o.log.error(
            { volume: this.name, err: (dispatchErr as Error).message },
            'recording the disk failure failed',
          ),
      );
    }
    return new BackendError('EIO', `local ${op} on volume ${this.name} failed: ${error}`, { cause: err });
  }

  // ---- the connection (link.ts calls these) ----

  #onUp(conn: MdcConnection): void {
    this.#peerBitmap = null;
    conn.sendJson(MsgType.meta, {
      info: this.#info(),
      bitmap: Buffer.from(this.#bitmap.serialize()).toString('base64'),
    });
  }

  #onDown(conn: MdcConnection): Promise<unknown> {
    this.#resyncing = false;
    this.#outdateWait?.(false);
    // Taken now: a new connection's writes must not be completed by this loss.
    const release = this.#writes.takeWaiting();
    this.#o.log.info({ volume: this.name, peer: conn.peer.server }, 'mirror connection closed');
    // Writes waiting for the peer complete locally (their regions stay dirty, already persisted), but only
    // once peer-lost has persisted that this copy goes on alone: none is acknowledged before that.
    // If that cannot be persisted (cluster partition failing), they fail rather than be acknowledged.
    if (this.#closed) {
      // The volume is closing, not going on alone: no new generation, no peerOutdated (the peer may well
      // take over now). Writes the peer did not acknowledge are not acknowledged either.
      release(new BackendError('ESHUTDOWN', `volume ${this.name} was closed before the peer acknowledged`));
      return Promise.resolve();
    }
    return this.#dispatch({ type: 'peer-lost', nowMs: this.#o.now(), newId: this.#newId() }).then(
      () => release(null),
      (err: unknown) => {
        release(
          new BackendError(
            'EIO',
            `volume ${this.name}: peer lost and the metadata could not be saved: ${(err as Error).message}`,
            { cause: err },
          ),
        );
        throw err;
      },
    );
  }

  #onMessage(conn: MdcConnection, type: number, p: Buffer, data: DataMsg | undefined): void {
    try {
      switch (type) {
        case MsgType.meta: {
          const m = JSON.parse(p.toString('utf8')) as { info: PeerInfo; bitmap?: string };
          const first = this.#peerBitmap === null && m.bitmap !== undefined;
          if (m.bitmap !== undefined) {
            this.#peerBitmap = DirtyBitmap.deserialize(
              this.size,
              this.#bitmap.regionSize,
              Buffer.from(m.bitmap, 'base64'),
            );
          }
          void this.#dispatch({
            type: first ? 'peer-connected' : 'peer-meta',
            nowMs: this.#o.now(),
            peer: m.info,
            newId: this.#newId(),
          });
          break;
        }
        case MsgType.write:
        case MsgType.resyncBlock: {
          this.#replica.apply(conn, type, data ?? decodeData(p));
          break;
        }
        case MsgType.ack:
          this.#writes.acked(decodeSeq(p).seq);
          break;
        case MsgType.flush:
          this.#replica.afterDurable(conn, () => conn.send(MsgType.flushAck, p));
          break;
        case MsgType.flushAck: {
          this.#writes.flushed(decodeSeq(p).seq);
          break;
        }
        case MsgType.resyncDone: {
          const m = JSON.parse(p.toString('utf8')) as { generations: Generations };
          this.#replica.afterDurable(conn, () =>
            this.#dispatch({ type: 'resync-done', nowMs: this.#o.now(), generations: m.generations }),
          );
          break;
        }
        case MsgType.recover:
          void this.#dispatch({
            type: 'recover',
            nowMs: this.#o.now(),
            source: 'peer',
            newId: this.#newId(),
          });
          break;
        case MsgType.recoverStart:
          void this.#dispatch({ type: 'peer-recover-start', nowMs: this.#o.now(), newId: this.#newId() });
          break;
        case MsgType.outdate:
          // The ack goes out (send-outdate-ack) once the outdated flag is persisted.
          void this.#dispatch({ type: 'peer-outdate', nowMs: this.#o.now() });
          break;
        case MsgType.outdateAck:
          this.#outdateWait?.(true);
          break;
        default:
          break;
      }
    } catch (err) {
      this.#o.log.error(
        { volume: this.name, err: (err as Error).message },
        'malformed mirror message; dropping the connection',
      );
      conn.close();
    }
  }

  // ---- the write path (primary) ----

  /**
   * Marks the regions dirty and resolves once each is marked on disk: a region not hot is saved now, one
   * whose save is still pending is waited for. The caller must end the write with `#regionsDone`.
   */
  async #markDirty(offset: number, length: number): Promise<{ first: number; last: number } | null> {
    const r = this.#bitmap.regionsOf(offset, length);
    if (r === null) return null;
    this.#activity.begin(r);
    if (this.#bitmap.setRange(offset, length) > 0)
      void this.#dispatch({ type: 'dirty', nowMs: this.#o.now(), dirtyBytes: this.#bitmap.dirtyBytes() });
    const k = this.#extentRegions;
    const { added, pending } = this.#hot.touch(Math.floor(r.first / k), Math.floor(r.last / k));
    if (added.length > 0) {
      // Regions the latest save requested already marks (dirty while alone, say) need no new save: it
      // leaves them on disk, and every later save keeps them (their bits stay set while this write runs).
      // Every region of each new extent must be marked by it: later writes to the extent save nothing.
      const last = this.#lastSave;
      const marked = (bm: DirtyBitmap): boolean =>
        added.every((e) => {
          const end = Math.min((e + 1) * k, bm.regions);
          for (let i = e * k; i < end; i++) if (!bm.isDirty(i)) return false;
          return true;
        });
      const save = last !== null && marked(last.bitmap) ? last.done : this.#save();
      this.#hot.covered(added, save);
      pending.push(save);
    }
    if (pending.length === 0) return r;
    try {
      await (pending.length === 1 ? pending[0] : Promise.all(pending));
    } catch (err) {
      this.#regionsDone(r, false);
      throw new BackendError(
        'EIO',
        `volume ${this.name}: the dirty bitmap could not be saved before the write: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return r;
  }

  /**
   * A write is over; `peerHas`: it is on the local copy and the peer acknowledged it. Its regions may then
   * be clean in memory again (when no other write to them is in flight).
   */
  #regionsDone(r: { first: number; last: number }, peerHas: boolean): void {
    for (let i = r.first; i <= r.last; i++) {
      const idle = this.#activity.end(i);
      if (
        idle &&
        peerHas &&
        this.#conn !== null &&
        this.#state.connection.kind === 'Connected' &&
        !this.#resyncing
      ) {
        this.#bitmap.clearRegion(i);
      }
    }
  }

  // ---- the write path (primary): write-path.ts ----

  /** Called by ActiveVolume. */
  write(offset: number, data: Bytes, fua: boolean): Promise<void> {
    return this.#writes.write(offset, data, fua);
  }

  /** Called by ActiveVolume: a write whose data arrive in pieces (write-path.ts). */
  writeStream(offset: number, length: number, fua: boolean): WriteStream {
    return this.#writes.writeStream(offset, length, fua);
  }

  flush(): Promise<void> {
    return this.#writes.flush();
  }

  /** Throws when a write may not run: not active here, out of range, or the disk failed. */
  #checkWritable(offset: number, length: number): void {
    if (this.#state.role !== 'primary')
      throw new BackendError('EPERM', `volume ${this.name} is not active on this server`);
    if (offset < 0 || offset + length > this.size)
      throw new BackendError('EINVAL', `write beyond the end of volume ${this.name}`);
    // A failed disk takes no more writes (the simplest safe rule; mdw reports it, the group fails over).
    if (this.#state.flags.diskFailed) throw new BackendError('EIO', diskFailedRefusal(this.#state).message);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    // Not zero-filled first: every byte is read, and only what lies past the end of the file (a data
    // partition shorter than the volume, e.g. a sparse file truncated later) is zeroed.
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#data
        .read(buf, done, length - done, offset + done)
        .catch((err: unknown) => {
          throw this.#ioFailed('read', err);
        });
      if (bytesRead === 0) {
        buf.fill(0, done);
        break;
      }
      done += bytesRead;
    }
    return buf;
  }

  // ---- resync (source side) ----

  async #runResync(full: boolean): Promise<void> {
    const conn = this.#conn;
    if (conn === null || this.#resyncing) return;
    this.#resyncing = true;
    try {
      const regions = this.#bitmap.clone();
      if (full) regions.setAll();
      if (this.#peerBitmap !== null) regions.merge(this.#peerBitmap);
      const r = await copyRegions({
        conn,
        regions,
        activity: this.#activity,
        read: (offset, length) => this.read(offset, length),
        // Stops when the link drops or stops mirroring (the peer's disk failed, say).
        live: () => this.#conn === conn && this.#state.connection.kind === 'Resyncing',
        now: () => this.#o.now(),
        progress: (doneBytes, totalBytes) =>
          void this.#dispatch({ type: 'resync-progress', nowMs: this.#o.now(), doneBytes, totalBytes }),
        sent: (bytes) => (this.#resyncBytes += bytes),
      });
      if (r === null) return;
      await this.#dispatch({ type: 'resync-progress', nowMs: this.#o.now(), ...r });
      for (const reg of regions.dirtyRegions())
        if (!this.#activity.busy(reg.index)) this.#bitmap.clearRegion(reg.index);
      this.#peerBitmap = null;
      this.#resyncing = false;
      await this.#dispatch({ type: 'resync-done', nowMs: this.#o.now() });
    } finally {
      this.#resyncing = false;
    }
  }
}
