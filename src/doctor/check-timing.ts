/**
 * Check 8 of `tandem doctor` (issue 4 section 6; the seed: "Timeout for Monitor (common) at or larger than
 * the time required for running the AWS CLI"): the time of every AWS call doctor made that got an answer
 * (min / median / max), and a warning for each AWS monitor whose timeout, and for `aws.callTimeout` when
 * it, is not comfortably longer than the slowest call: less than `MARGIN` times it. A call that took 40 ms
 * today can take ten times that under load; a monitor that times out on a slow answer reports a timeout
 * (or, with `noResponse: recover`, fails the group over) for nothing.
 */
import { CODES, finding, ok, skipped } from './findings.ts';
import { monitorServers, type DoctorContext } from './context.ts';
import { spread } from './probe.ts';
import type { Finding } from './types.ts';

/** A timeout shorter than this many times the slowest measured call gets a warning. */
export const MARGIN = 2;

/** The timeout code of each AWS monitor type. */
const MONITOR_TIMEOUT_CODES: Record<string, string> = {
  awsvipw: CODES.vipwTimeout,
  awseipw: CODES.eipwTimeout,
  awsdnsw: CODES.dnswTimeout,
  awsazw: CODES.azwTimeout,
  awsfencew: CODES.fencewTimeout,
};

const SERVICE_NAMES = { ec2: 'EC2', route53: 'Route 53', imds: 'IMDS' } as const;

/** `850 ms`, `12.5 s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

export function timingFindings(ctx: DoctorContext): Finding[] {
  const answered = ctx.probe.records().filter((r) => r.answered && r.service !== 'imds');
  const stats = spread(answered.map((r) => r.ms));
  const obj = 'aws timing';
  if (stats === null) {
    return [skipped('timing.aws-calls', obj, 'no AWS call got an answer, so the call time is not known')];
  }
  const slowest = answered.reduce((a, b) => (b.ms > a.ms ? b : a));
  const limit = MARGIN * stats.max;
  const out: Finding[] = [
    ok(
      'timing.aws-calls',
      obj,
      `${answered.length} AWS calls answered in min ${formatMs(stats.min)}, median ${formatMs(stats.median)}, max ${formatMs(stats.max)} (slowest: ${SERVICE_NAMES[slowest.service]} ${slowest.operation})`,
    ),
  ];

  const callTimeout = ctx.config.aws.callTimeoutMs;
  out.push(
    callTimeout < limit
      ? finding(
          'timing.call-timeout',
          'warning',
          obj,
          null,
          `aws.callTimeout (${formatMs(callTimeout)}) is less than ${MARGIN}x the slowest measured AWS call (${formatMs(stats.max)}): calls only a little slower than now fail with a timeout`,
          `Raise aws.callTimeout to at least ${formatMs(Math.ceil(limit))} (the default is 100 s), or find out why AWS answers this machine slowly (load, proxy, route to the endpoint).`,
        )
      : ok(
          'timing.call-timeout',
          obj,
          `aws.callTimeout (${formatMs(callTimeout)}) is at least ${MARGIN}x the slowest measured call`,
        ),
  );

  for (const m of ctx.config.monitors) {
    const code = MONITOR_TIMEOUT_CODES[m.type];
    if (code === undefined || monitorServers(ctx, m).length === 0) continue;
    const mobj = `monitor ${m.name}`;
    out.push(
      m.timeoutMs < limit
        ? finding(
            'timing.monitor',
            'warning',
            mobj,
            code,
            `the timeout of ${m.name} (${formatMs(m.timeoutMs)}) is less than ${MARGIN}x the slowest measured AWS call (${formatMs(stats.max)}): the monitor may report a timeout when AWS is only a little slower`,
            `Raise timeout of ${m.name} to at least ${formatMs(Math.ceil(limit))} (the AWS monitors default to 100 s), or find out why AWS answers this machine slowly.`,
          )
        : ok(
            'timing.monitor',
            mobj,
            `timeout ${formatMs(m.timeoutMs)} is at least ${MARGIN}x the slowest measured AWS call`,
          ),
    );
  }
  return out;
}
