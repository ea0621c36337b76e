/**
 * `tandem daemon` — the composition root (issue 3, section 3; docs/architecture.md). It checks the command
 * line, config, server name, secret and state directory (startup.ts; any problem exits 2), then wires the real
 * ports to the pure core and starts the loop:
 *
 *   SystemClock, FileStateStore, FileAlertLog, pino logger, UdpHeartbeatTransport, HttpNpProber,
 *   HttpWitnessClient (when configured) -> ClusterNode (incarnation from newIncarnation)
 *   MirrorHost (the md copies of this server, opened before the first probe) -> drivers, control API
 *   Executor (real drivers, scripts, OS actions) <-> DaemonLoop -> LoopControl -> control API
 *
 * Every part is registered in a DisposableStore when created and disposed in reverse order on the way out.
 *
 * Stopping: SIGTERM or SIGINT feeds `cluster-stop` (groups are deactivated in reverse dependency order and
 * the peers told, so they fail over at once) and waits until a report saying "service stopped, every group
 * offline" has been broadcast, bounded by the largest group stop time (sum of its resource timeouts) + 5 s;
 * then everything is closed and the exit status is 0 (1 when the bound passed first). A second signal exits
 * at once with status 1. If the loop cannot go on (the state cannot be persisted, or the core broke an
 * invariant) the daemon exits 1 without stopping resources: a restarted daemon finds them with its probes.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileAlertLog } from '../adapters/alert-log.ts';
import { HttpNpProber } from '../adapters/http-np-prober.ts';
import { createLogger } from '../adapters/logger.ts';
import { newIncarnation } from '../adapters/replay-guard.ts';
import { FileStateStore } from '../adapters/state-store.ts';
import { SystemClock } from '../adapters/system-clock.ts';
import { UdpHeartbeatTransport } from '../adapters/udp-transport.ts';
import { HttpWitnessClient } from '../adapters/witness-client.ts';
// The composition root is the one daemon module that wires adapters and the API around the daemon
// (eslint.config.mjs exempts exactly this file; docs/architecture.md "Layers").
import { createApiServer } from '../api/server.ts';
import { ClusterNode, renderPlan } from '../core/node.ts';
import type { PeerReport } from '../core/types.ts';
import { monitorDrivers, resourceDrivers } from '../drivers/registry.ts';
import type { Logger } from '../ports/logger.ts';
import type { CompiledConfig } from '../shared/config/types.ts';
import { apiToken } from '../shared/crypto.ts';
import { ConfigError } from '../shared/errors.ts';
import { LoopControl } from './control-impl.ts';
import { DecisionLog } from './decision-log.ts';
import { Executor } from './executor.ts';
import { createAwsAccess } from '../aws/access.ts';
import { createDefaultHandlers } from './handlers.ts';
import { createMirrorHost } from './mirror-host.ts';
import { DisposableStore, type DaemonPhase } from './lifecycle.ts';
import { DaemonLoop } from './loop.ts';
import {
  ensureStateDir,
  findServer,
  loadDaemonConfig,
  parseDaemonArgs,
  readSecret,
  StartupError,
  usage,
} from './startup.ts';

/** Slack added to the stop bound (issue 3: "the largest stop timeout + 5 s"). */
const STOP_SLACK_MS = 5_000;
/** After everything is closed, exit even if some stray handle would keep the process alive. */
const EXIT_BACKSTOP_MS = 2_000;

/** How long a graceful stop may take: the slowest group's resource timeouts in a row, plus slack. */
export function stopBoundMs(config: CompiledConfig): number {
  let worst = 0;
  for (const g of config.groups) {
    let sum = 0;
    for (const name of g.resources) sum += config.resources.find((r) => r.name === name)?.timeoutMs ?? 0;
    worst = Math.max(worst, sum);
  }
  return worst + STOP_SLACK_MS;
}

/** A report that says this server has left the cluster with nothing running. */
export function isFinalReport(r: PeerReport): boolean {
  return r.service === 'stopped' && Object.values(r.groups).every((g) => g.state === 'offline');
}

export async function main(argv: string[], opts: { prog: string }): Promise<number> {
  const prog = opts.prog;
  try {
    const args = parseDaemonArgs(argv, process.env, prog);
    if (args.help) {
      process.stdout.write(usage(prog));
      return 0;
    }
    const { config, warnings } = loadDaemonConfig(args.configPath, prog);
    for (const w of warnings) process.stderr.write(w + '\n');
    const self = findServer(config, args.server, prog);
    const secret = readSecret(config, prog);
    ensureStateDir(args.stateDir, prog);
    const logger = createLogger({ level: args.logLevel, server: self.name });
    return await run({ config, self: self.name, secret, stateDir: args.stateDir, logger, prog });
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(err.message);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${prog} daemon: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

interface RunOptions {
  config: CompiledConfig;
  self: string;
  secret: Buffer;
  stateDir: string;
  logger: Logger;
  prog: string;
}

async function run(o: RunOptions): Promise<number> {
  const disposables = new DisposableStore((name, err) =>
    o.logger.error({ err, part: name }, `closing ${name} failed`),
  );
  try {
    return await runWired(o, disposables);
  } catch (err) {
    // Whatever was wired before the failure is closed again (sockets, pid file, timers).
    await disposables.dispose();
    throw err;
  }
}

async function runWired(o: RunOptions, disposables: DisposableStore): Promise<number> {
  const { config, self, stateDir, logger } = o;
  const server = config.servers.find((s) => s.name === self)!;
  let phase: DaemonPhase = 'starting';
  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => (finish = r));

  const pidFile = join(stateDir, 'daemon.pid');
  writeFileSync(pidFile, `${process.pid}\n`);
  disposables.defer('pid file', () => rmSync(pidFile, { force: true }));

  const clock = new SystemClock();
  const store = new FileStateStore({ stateDir });
  const alertLog = await FileAlertLog.open({ dir: stateDir, size: config.cluster.alertLogSize, log: logger });
  disposables.defer('alert log', () => alertLog.close());
  const persisted = await store.load();
  const decisionLog = new DecisionLog({
    dir: join(stateDir, 'decisions'),
    wallMs: () => clock.wallMs(),
    logger,
  });
  disposables.defer('decision log', () => decisionLog.flush());

  const incarnation = newIncarnation(clock.wallMs(), Math.random);
  const node = new ClusterNode({ config, self, incarnation, nowMs: clock.nowMs(), persisted });
  const transport = new UdpHeartbeatTransport({ config, self, secret: o.secret, log: logger });
  const witness = config.cluster.witness
    ? new HttpWitnessClient({
        witness: config.cluster.witness,
        clusterName: config.cluster.name,
        self,
        secret: o.secret,
        log: logger,
      })
    : null;

  const aws = createAwsAccess(config.aws);
  // The mirror disk copies follow the peer whether or not their group runs here: opened before the first
  // probe, closed after the groups are stopped (disposables run in reverse order).
  const mirror = await createMirrorHost({
    config,
    self,
    stateDir,
    secret: o.secret,
    log: logger.child({ component: 'mirror' }),
  });
  disposables.defer('mirror disks', () => mirror.close());
  // The executor emits into the loop and the loop dispatches to the executor: late-bound through `loop`.
  let loop: DaemonLoop | null = null;
  const executor = new Executor({
    config,
    clock,
    logger: logger.child({ component: 'executor' }),
    handlers: createDefaultHandlers({
      server: self,
      config,
      stateDir,
      resourceDrivers: resourceDrivers(),
      monitorDrivers: monitorDrivers(),
      aws,
      mirror,
      npProber: new HttpNpProber(),
      witness,
    }),
    emit: (e) => loop?.enqueue(e),
    lastReport: () => loop?.lastSent() ?? null,
  });
  const theLoop = new DaemonLoop({
    server: self,
    configHash: config.hash,
    node,
    clock,
    store,
    transport,
    alertLog,
    logger: logger.child({ component: 'loop' }),
    dispatch: (a) => executor.run(a),
    decisionLog,
    decisionSnapshot: () => {
      // The config index is derived from the config (named by its hash in the record): not saved.
      const { ix: _ix, ...state } = node.snapshot();
      return state;
    },
    renderPlan,
    onFatal: () => {
      logger.error({}, 'the daemon stops because its loop cannot go on; resources are left as they are');
      finish(1);
    },
  });
  loop = theLoop;

  await transport.start((report, via) => theLoop.enqueue({ type: 'heartbeat', via, report }));
  disposables.defer('heartbeat transport', () => transport.close());
  disposables.defer('executor', () => executor.dispose());
  disposables.defer('loop', () => theLoop.dispose());

  // Signals are handled from here on: a SIGTERM during the rest of the startup still stops gracefully.
  const gracefulStop = async (signal: string): Promise<void> => {
    phase = 'stopping';
    const limitMs = stopBoundMs(config);
    logger.info({ signal, limitMs }, 'stopping: leaving the cluster (groups are stopped, peers told)');
    let reply: string | null = null;
    void theLoop
      .request({ op: 'cluster-stop', daemonShutdown: true }, limitMs)
      .then((r) => (reply = r.message));
    const final = await theLoop.waitForReport(isFinalReport, limitMs);
    if (final === null) {
      logger.error(
        { limitMs, reply },
        `groups were not all stopped within ${limitMs} ms; exiting anyway (check the alert log)`,
      );
      finish(1);
      return;
    }
    logger.info({ seq: final.seq }, 'left the cluster; final report sent');
    finish(0);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (phase === 'stopping') {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    void gracefulStop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  disposables.defer('signal handlers', () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  });

  const control = new LoopControl({
    server: self,
    config,
    loop: theLoop,
    alertLog,
    logger: logger.child({ component: 'control' }),
    renderPlan,
    transportStats: () => transport.stats(),
    mirror,
  });
  const api = await createApiServer({
    control,
    token: apiToken(o.secret, config.cluster.name),
    log: logger.child({ component: 'api' }),
  });
  disposables.defer('control API', () => api.close());
  try {
    await api.listen(server.api.address, server.api.port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new StartupError(
      2,
      `${o.prog} daemon: cannot listen on the control API address ${server.api.address}:${server.api.port} of ${self} (${code}); ` +
        `stop what uses it, or change servers[${server.priority}].api in ${config.sourceFile}\n`,
      { cause: err },
    );
  }
  // Both sockets are bound: only now is anything probed or started.
  theLoop.start();
  const bound = api.address();
  if (phase === 'starting') phase = 'running';
  logger.info(
    { api: `${bound.address}:${bound.port}`, incarnation, stateDir, config: config.sourceFile },
    'daemon ready',
  );

  const code = await finished;
  phase = 'stopping';
  await disposables.dispose();
  phase = 'stopped';
  logger.info({ code, phase }, 'daemon stopped');
  setTimeout(() => process.exit(code), EXIT_BACKSTOP_MS).unref();
  return code;
}
