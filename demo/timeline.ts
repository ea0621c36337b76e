/**
 * The AWS demo's printed timeline and AWS state (issue 4 section 7): merges what the daemons said (their
 * alert logs, read through the API) with what changed on the AWS side (the simulator's world, polled every
 * 10 ms by `SimWatch`), in milliseconds from the moment the demo broke something. Both clocks are this host's
 * wall clock, so the two sources line up.
 */
import type { SimChange } from '../test/process/aws-harness.ts';
import { AWS_NODES, DEMO_VIP } from '../test/process/aws-harness.ts';
import type { WorldView } from '../src/sim/server.ts';

/** An entry of `GET /api/v1/alerts`. */
export interface Alert {
  time: number;
  server: string;
  code: string;
  object: string;
  message: string;
}

interface Row {
  at: number;
  source: string;
  what: string;
  detail: string;
}

/** The alerts a failover timeline shows, with the step each one stands for. */
const STEPS: Record<string, string> = {
  SERVER_LOST: 'heartbeat lost',
  SERVER_DOWN: 'server down',
  NP_ISOLATED: 'NP: isolated',
  FENCE_STARTED: 'forced stop started',
  FENCE_DONE: 'forced stop done',
  FENCE_FAILED: 'forced stop FAILED',
  MONITOR_ERROR: 'monitor error',
  RECOVERY_FINAL_ACTION: 'final action',
  CLUSTER_SERVICE_STOPPED: 'cluster service stopped',
  GROUP_STOPPING: 'group stopping',
  GROUP_OFFLINE: 'group offline',
  GROUP_STARTING: 'group starting',
  GROUP_ONLINE: 'group online',
};

/** `eni-… (node-2)`, `10.0.2.10 (node-2)`: an AWS value with the server it belongs to. */
export function owner(value: string): string {
  const n = AWS_NODES.find((x) => x.eniId === value || x.privateIp === value || x.instanceId === value);
  return n === undefined ? value : `${value} (${n.name})`;
}

function simRow(c: SimChange): Row | undefined {
  const [kind, id = ''] = c.key.split(' ');
  const what =
    kind === 'route'
      ? 'route switched'
      : kind === 'eip'
        ? c.to === 'none'
          ? 'EIP disassociated'
          : 'EIP switched'
        : kind === 'record'
          ? c.to === 'absent'
            ? 'record deleted'
            : 'record switched'
          : kind === 'instance'
            ? `instance ${c.to}`
            : kind === 'az'
              ? `AZ ${c.to}`
              : undefined;
  if (what === undefined) return undefined;
  const detail =
    kind === 'route'
      ? `${id}: ${DEMO_VIP}/32 -> ${owner(c.to)}`
      : kind === 'eip'
        ? `${id} -> ${owner(c.to)}`
        : kind === 'record'
          ? `${id} A -> ${owner(c.to)}`
          : kind === 'instance'
            ? owner(id)
            : id;
  return { at: c.at, source: 'aws', what, detail };
}

/**
 * The rows after `t0`: the alerts of STEPS (each server's own alerts only, so nothing is listed twice), every
 * tracked AWS change, and `extra` rows (the crash, the application's first answer).
 */
export function timeline(
  t0: number,
  alerts: Alert[],
  changes: SimChange[],
  extra: { at: number; source: string; what: string; detail: string }[],
): string {
  const rows: Row[] = [...extra];
  for (const a of alerts) {
    const step = STEPS[a.code];
    if (step !== undefined && a.time >= t0)
      rows.push({ at: a.time, source: a.server, what: step, detail: a.message });
  }
  for (const c of changes) {
    const r = c.at >= t0 ? simRow(c) : undefined;
    if (r !== undefined) rows.push(r);
  }
  rows.sort((a, b) => a.at - b.at);
  return rows
    .map(
      (r) =>
        `  ${String(r.at - t0).padStart(6)} ms  ${r.source.padEnd(6)}  ${r.what.padEnd(20)}  ${r.detail.replace(/\s+/g, ' ')}`,
    )
    .join('\n');
}

/** The routes, EIP, record and instances of the simulator's world, one per line. */
export function awsState(view: WorldView): string {
  const lines: string[] = [];
  for (const rt of view.ec2.routeTables) {
    const r = rt.routes.find((x) => x.destination === `${DEMO_VIP}/32`);
    if (r !== undefined)
      lines.push(`  route table ${rt.id.padEnd(24)}  ${r.destination} -> ${owner(r.target)}`);
  }
  for (const a of view.ec2.addresses) {
    lines.push(
      `  Elastic IP ${a.publicIp} (${a.allocationId})  -> ${a.networkInterfaceId ? owner(a.networkInterfaceId) : 'not associated'}`,
    );
  }
  for (const z of view.route53.hostedZones) {
    for (const r of z.records) {
      if (r.type === 'A')
        lines.push(`  record ${r.name} A ttl ${r.ttl} (${z.id})  -> ${r.values.map(owner).join(', ')}`);
    }
  }
  lines.push(
    `  instances: ${view.instances.map((i) => `${owner(i.id)} ${i.state} in ${i.availabilityZone}`).join(', ')}`,
  );
  lines.push(`  zones: ${view.ec2.availabilityZones.map((z) => `${z.name} ${z.state}`).join(', ')}`);
  return lines.join('\n');
}
