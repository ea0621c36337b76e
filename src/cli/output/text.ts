/**
 * Text renderers of the CLI (STYLE.md 22): pure functions from API documents to the text `tandem` prints.
 * Every command's output goes through one of these, and each has a golden test (test/fixtures/cli/golden).
 *
 * `renderStatus` is the view in the spirit of EXPRESSCLUSTER's `clpstat`: the cluster, each server (a `*`
 * marks the server that answered) with each heartbeat path and NP resource, each group with its current
 * server and resources, each monitor, then the warnings. States are capitalised as clpstat shows them; the
 * JSON output (`--json`) keeps the lower-case values of the StatusDoc contract.
 */
import type { AlertDoc, OpResult, PlanDoc } from '../../client/types.ts';
import type { ErrorBody } from '../../shared/errors.ts';
import type {
  HeartbeatStatus,
  MirrorDiskStatus,
  NpStatus,
  ServerStatus,
  StatusDoc,
} from '../../shared/status.ts';

const RULE_WIDTH = 70;
const STATE_WIDTH = 11;

function cap(state: string): string {
  return state.length === 0 ? state : state[0]?.toUpperCase() + state.slice(1);
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** One status row: `indent + name`, dots (top-level rows) or spaces to the column, `: State  detail`. */
function row(
  indent: string,
  name: string,
  width: number,
  dots: boolean,
  state: string,
  detail: string,
): string {
  const head = indent + name;
  const pad = width - head.length;
  const filler = dots && pad > 1 ? ' ' + '.'.repeat(pad - 1) : ' '.repeat(Math.max(pad, 0));
  const stateCol = detail === '' ? state : state.padEnd(STATE_WIDTH) + ' ' + detail;
  return `${head}${filler}: ${stateCol}`.trimEnd();
}

function heartbeatDetail(h: HeartbeatStatus): string {
  const kind =
    h.name === 'witness' ? 'witness heartbeat' : /^lan\d+$/.test(h.name) ? 'LAN heartbeat' : 'heartbeat';
  if (h.lastHeardAgoMs === undefined) return kind;
  return h.lastHeardAgoMs === null
    ? `${kind}, never heard`
    : `${kind}, last heard ${seconds(h.lastHeardAgoMs)} ago`;
}

function npDetail(n: NpStatus): string {
  return n.detail === undefined || n.detail === '' ? 'HTTP NP resolution' : `HTTP NP resolution, ${n.detail}`;
}

function serverDetail(s: ServerStatus): string {
  const parts: string[] = [];
  if (s.priority !== undefined) parts.push(s.priority === 0 ? 'master server' : `priority ${s.priority}`);
  if (s.service !== undefined) parts.push(`cluster service ${s.service}`);
  if (s.heardVia === 'interconnect' || s.heardVia === 'witness') parts.push(`heard via ${s.heardVia}`);
  else if (s.heardVia === 'none') parts.push('not heard');
  if (s.configMismatch !== undefined && s.configMismatch !== null) parts.push('CONFIG MISMATCH');
  if (s.fencing && s.fencing.state !== 'none')
    parts.push(`forced stop ${s.fencing.state}${s.fencing.detail ? ` (${s.fencing.detail})` : ''}`);
  return parts.join(', ');
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/**
 * One word for a mirror disk copy: Normal, Resyncing, RecoveryPending (autoRecovery off), Degraded (peer
 * lost), SplitBrain, DiskFailed, Error.
 */
function mirrorState(m: MirrorDiskStatus): string {
  if (m.error) return 'Error';
  if (m.diskFailure) return 'DiskFailed';
  if (m.connection.startsWith('SplitBrain')) return 'SplitBrain';
  if (m.connection.startsWith('Resyncing')) return 'Resyncing';
  if (m.recoveryPending || m.connection.startsWith('RecoveryPending')) return 'RecoveryPending';
  if (m.connection === 'Connected' && m.local === 'UpToDate' && m.peer === 'UpToDate') return 'Normal';
  return 'Degraded';
}

function mirrorDetail(m: MirrorDiskStatus): string {
  if (m.error) return `${m.error.code}: ${m.error.message}`;
  if (m.diskFailure) {
    const f = m.diskFailure;
    return `${m.server} ${m.role} Failed, ${m.peerServer} ${m.peer}, ${f.code}: ${f.message} Remedy: ${f.remedy}`;
  }
  const parts = [`${m.server} ${m.role} ${m.local}`, `${m.peerServer} ${m.peer}`, m.connection];
  if (m.recoveryPending) parts.push(`mirror recovery pending: run \`${m.recoveryPending.command}\``);
  if (m.dirtyBytes > 0) parts.push(`dirty ${mib(m.dirtyBytes)}`);
  const r = m.resync;
  if (r) {
    const pct = r.totalBytes > 0 ? Math.floor((100 * r.doneBytes) / r.totalBytes) : 100;
    const eta = r.etaSec === null ? '' : `, ETA ${Math.ceil(r.etaSec)} s`;
    parts.push(`resync ${pct}% of ${mib(r.totalBytes)} at ${mib(r.rateBytesPerSec)}/s${eta}`);
  }
  if (m.asyncQueueDepth > 0) parts.push(`async queue ${m.asyncQueueDepth}`);
  return parts.join(', ');
}

/** `tandem md status`: one block per mirror disk copy of the answering server. */
export function renderMirrors(doc: { mirrors: readonly MirrorDiskStatus[] }): string {
  if (doc.mirrors.length === 0) return 'No mirror disk on this server.\n';
  const lines: string[] = [];
  for (const m of doc.mirrors) lines.push(`${m.name}: ${mirrorState(m)}  ${mirrorDetail(m)}`);
  return lines.join('\n') + '\n';
}

/** The `tandem status` / `clpstat` text view. */
export function renderStatus(doc: StatusDoc): string {
  const names: number[] = [
    ...doc.servers.map((s) => 4 + s.name.length),
    ...doc.servers.flatMap((s) => [...s.heartbeats, ...s.np].map((h) => 6 + h.name.length)),
    ...doc.groups.map((g) => 4 + g.name.length),
    ...doc.groups.flatMap((g) => g.resources.map((r) => 6 + r.name.length)),
    ...doc.monitors.map((m) => 4 + m.name.length),
    ...(doc.mirrors ?? []).map((m) => 4 + m.name.length),
  ];
  const width = Math.max(20, ...names.map((n) => n + 2));
  const title = '  CLUSTER STATUS  ';
  const side = Math.floor((RULE_WIDTH - title.length) / 2);
  const lines: string[] = [];
  lines.push(' ' + '='.repeat(side) + title + '='.repeat(RULE_WIDTH - title.length - side));
  lines.push(`  Cluster : ${doc.cluster.name}  (${cap(doc.cluster.state)})`);

  lines.push('  <server>');
  if (doc.servers.length === 0) lines.push('    (none)');
  for (const s of doc.servers) {
    lines.push(row(s.local ? '   *' : '    ', s.name, width, true, cap(s.state), serverDetail(s)));
    for (const h of s.heartbeats)
      lines.push(row('      ', h.name, width, false, cap(h.state), heartbeatDetail(h)));
    for (const n of s.np) lines.push(row('      ', n.name, width, false, cap(n.state), npDetail(n)));
  }

  lines.push('  <group>');
  if (doc.groups.length === 0) lines.push('    (none)');
  for (const g of doc.groups) {
    const marks =
      g.failedOn !== undefined && g.failedOn.length > 0 ? `failover marks on ${g.failedOn.join(', ')}` : '';
    lines.push(row('    ', g.name, width, true, cap(g.state), marks));
    lines.push(row('      ', 'current', width, false, g.server ?? '-', ''));
    for (const r of g.resources) {
      const err =
        r.error !== undefined && r.error !== null ? `, error ${r.error.code}: ${r.error.message}` : '';
      lines.push(row('      ', r.name, width, false, cap(r.state), r.type + err));
    }
  }

  lines.push('  <monitor>');
  if (doc.monitors.length === 0) lines.push('    (none)');
  for (const m of doc.monitors) {
    const parts = [m.type];
    if (m.servers !== undefined) {
      const per = Object.entries(m.servers).map(([server, state]) => `${server} ${state}`);
      if (per.length > 0) parts.push(per.join(', '));
    }
    if (m.lastError !== undefined && m.lastError !== null)
      parts.push(`error ${m.lastError.code}: ${m.lastError.message}`);
    lines.push(row('    ', m.name, width, false, cap(m.state), parts.join(', ')));
  }

  if (doc.mirrors !== undefined && doc.mirrors.length > 0) {
    lines.push('  <mirror>');
    for (const m of doc.mirrors)
      lines.push(row('    ', m.name, width, false, mirrorState(m), mirrorDetail(m)));
  }

  const warnings = [
    ...(doc.cluster.warnings ?? []),
    ...doc.servers
      .filter((s) => s.configMismatch !== undefined && s.configMismatch !== null)
      .map(
        (s) =>
          `server ${s.name} runs a different configuration (ours ${s.configMismatch?.ours.slice(0, 12)}, ` +
          `theirs ${s.configMismatch?.theirs.slice(0, 12)}); apply the same config file on every server`,
      ),
  ];
  if (warnings.length > 0) {
    lines.push('  <warning>');
    for (const w of warnings) lines.push(`    ${w}`);
  }
  lines.push(' ' + '='.repeat(RULE_WIDTH));
  return lines.join('\n') + '\n';
}

/** A successful operation: its message, then the per-server results of `--all`. */
export function renderOpResult(r: OpResult): string {
  const lines = [r.message];
  for (const p of r.results ?? []) {
    lines.push(`  ${p.server}: ${p.ok ? 'done' : `failed (${p.code ?? 'OPERATION_FAILED'})`}: ${p.message}`);
  }
  return lines.join('\n') + '\n';
}

/** `tandem alerts`: one aligned row per entry, times in UTC (ISO 8601). */
export function renderAlerts(alerts: readonly AlertDoc[]): string {
  if (alerts.length === 0) return 'no alerts\n';
  const header = ['SEQ', 'TIME (UTC)', 'SERVER', 'LEVEL', 'OBJECT', 'CODE', 'MESSAGE'];
  const rows = alerts.map((a) => [
    String(a.seq),
    new Date(a.time).toISOString(),
    a.server,
    a.level,
    `${a.objectKind} ${a.object}`,
    a.code,
    a.message,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) =>
        i === 0 ? c.padStart(widths[0] ?? 0) : i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n') + '\n';
}

/** `tandem plan`: the daemon's own rendering of its plan. */
export function renderPlan(doc: PlanDoc): string {
  const text = doc.text.trimEnd();
  if (text !== '') return text + '\n';
  return doc.plan.steps.length === 0
    ? `server ${doc.plan.server}: nothing to do\n`
    : doc.plan.steps.map((s) => `${s.text} (${s.reason})`).join('\n') + '\n';
}

/** Operation codes that report a failure rather than a refusal. */
const FAILED_CODES = new Set(['OPERATION_FAILED', 'TIMEOUT', 'PEER_UNREACHABLE', 'SERVER_UNAVAILABLE']);

/**
 * An API error as one line: `tandem: group failover1: refused (SERVER_NOT_ELIGIBLE): message; remedy`.
 * Connection problems (no HTTP answer) have no object prefix: `tandem: cannot reach ...; remedy`.
 */
export function renderApiError(prog: string, e: ErrorBody['error'], answered: boolean): string {
  if (!answered) return `${prog}: ${e.message}; ${e.remedy}\n`;
  const verb = FAILED_CODES.has(e.code) ? 'failed' : 'refused';
  return `${prog}: ${e.object}: ${verb} (${e.code}): ${e.message}; ${e.remedy}\n`;
}

/** `tandem config check`: every issue line, then a summary. */
export function renderConfigCheck(r: {
  file: string;
  /** Issues already formatted as `FILE:LINE:COL: path: message; remedy`. */
  lines: readonly string[];
  errors: number;
  warnings: number;
  /** Present when the config is valid. */
  summary: { cluster: string; servers: number; groups: number; resources: number; monitors: number } | null;
}): string {
  const n = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;
  const out = [...r.lines];
  if (r.summary !== null) {
    const s = r.summary;
    out.push(
      `${r.file}: valid: cluster ${s.cluster}, ${n(s.servers, 'server')}, ${n(s.groups, 'group')}, ` +
        `${n(s.resources, 'resource')}, ${n(s.monitors, 'monitor')}` +
        (r.warnings > 0 ? ` (${n(r.warnings, 'warning')})` : ''),
    );
  } else {
    out.push(
      `${r.file}: not valid: ${n(r.errors, 'error')}, ${n(r.warnings, 'warning')}; fix the errors above and check again`,
    );
  }
  return out.join('\n') + '\n';
}
