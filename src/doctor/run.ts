/**
 * `tandem doctor` (issue 4 section 6): preflight checks of a compiled config against AWS, so that every
 * cause in the seed's troubleshooting chapter that can be seen before it bites is reported with the code
 * it would otherwise cause, the object and the fix. Runs locally, without the daemon, with the same AWS
 * access layer (and so the same region, credentials, proxy and endpoints) as the daemon.
 *
 * Order: config warnings; AWS access (region, credentials, proxy, endpoints; no AWS call); the instance
 * metadata and one call per service in parallel (the gates: when EC2 or Route 53 cannot be used, the checks
 * needing it are skipped with the reason instead of failing one by one); then every resource, zone monitor
 * and fencing check in parallel, their AWS calls bounded by the probe (8 at once by default); last the
 * timing check over every call made. Findings come out in that order, each check's in config order,
 * whatever order the calls finished in.
 */
import { createAwsAccess } from '../aws/access.ts';
import type { AwsAccess } from '../aws/types.ts';
import type { CompiledConfig, ConfigIssue } from '../shared/config/types.ts';
import { accessFindings, awsUseOf, imdsFindings, serviceGates } from './check-access.ts';
import { checkAwsEip, checkAwsVip } from './check-address.ts';
import { checkAwsDns } from './check-dns.ts';
import { timingFindings } from './check-timing.ts';
import { checkAwsAzw, checkFencing } from './check-zone-fencing.ts';
import type { DoctorContext } from './context.ts';
import { finding, ok, skipped } from './findings.ts';
import { Probe } from './probe.ts';
import type { DoctorReport, Finding } from './types.ts';

/** Doctor's own bound on one AWS call (ms): below `aws.callTimeout` (100 s), so a dead endpoint costs seconds. */
export const DOCTOR_CALL_TIMEOUT_MS = 20_000;

export interface DoctorOptions {
  /** `--server NAME`: check only what that server runs, and compare this machine with it. @default every server */
  server?: string | null;
  /** The process environment (`aws.environment` is laid over it by the access layer). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The AWS access to use (tests); by default one is created from `config.aws` and closed at the end. */
  aws?: AwsAccess;
  /** AWS calls in flight at once. @default 8 */
  concurrency?: number;
  /** Deadline of one AWS call (ms). @default min(aws.callTimeout, DOCTOR_CALL_TIMEOUT_MS) */
  callTimeoutMs?: number;
  /** Warnings of the config file, reported first. */
  configWarnings?: readonly ConfigIssue[];
  /** Monotonic clock (ms). @default performance.now */
  now?: () => number;
}

const NO_ACCESS = 'AWS access is not set up on this machine (see aws access above)';

function configFinding(issue: ConfigIssue, file: string): Finding {
  const where = issue.line > 0 ? `${file}:${issue.line}:${issue.col}` : file;
  return finding(
    'config.warning',
    'warning',
    `config ${issue.path === '' ? file : issue.path}`,
    null,
    `${issue.message} (${where})`,
    issue.remedy === '' ? null : issue.remedy,
  );
}

export async function runDoctor(config: CompiledConfig, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const server = opts.server ?? null;
  if (server !== null && !config.servers.some((s) => s.name === server)) {
    throw new RangeError(`unknown server ${server}`);
  }
  const env = opts.env ?? process.env;
  const findings: Finding[] = (opts.configWarnings ?? []).map((i) => configFinding(i, config.sourceFile));
  const use = awsUseOf({ config });
  if (use.types.size === 0) {
    findings.push(
      ok(
        'aws.unused',
        'aws access',
        'the config has no AWS resources, monitors or fencing: nothing to check against AWS',
      ),
    );
    return report(findings, server, now() - started);
  }

  const aws = opts.aws ?? createAwsAccess(config.aws, env);
  const callTimeoutMs = opts.callTimeoutMs ?? Math.min(config.aws.callTimeoutMs, DOCTOR_CALL_TIMEOUT_MS);
  try {
    const resolution = await aws.resolve({ timeoutMs: callTimeoutMs });
    findings.push(...accessFindings(resolution, use, { ...env, ...config.aws.environment }));
    const accessOk = resolution.region !== null && resolution.credentialsSource !== null;
    const ctx: DoctorContext = {
      config,
      aws,
      probe: new Probe({
        callTimeoutMs,
        now,
        ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
      }),
      server,
      resolution,
      ec2Blocked: accessOk ? null : NO_ACCESS,
      route53Blocked: accessOk ? null : NO_ACCESS,
      local: { instanceId: null, availabilityZone: null, vpcId: null, server },
    };
    const [imds, gates] = await Promise.all([imdsFindings(ctx), accessOk ? serviceGates(ctx, use) : null]);
    findings.push(...imds.findings);
    ctx.local = imds.local;
    if (gates !== null) {
      findings.push(...gates.findings);
      ctx.ec2Blocked = gates.ec2Blocked;
      ctx.route53Blocked = gates.route53Blocked;
    }

    const checks: Array<Promise<Finding[]>> = [];
    for (const r of config.resources) {
      if (r.type === 'awsvip') checks.push(checkAwsVip(ctx, r));
      else if (r.type === 'awseip') checks.push(checkAwsEip(ctx, r));
      else if (r.type === 'awsdns') checks.push(checkAwsDns(ctx, r));
    }
    for (const m of config.monitors) if (m.type === 'awsazw') checks.push(checkAwsAzw(ctx, m));
    checks.push(checkFencing(ctx));
    findings.push(...(await Promise.all(checks)).flat());
    findings.push(
      ...(accessOk ? timingFindings(ctx) : [skipped('timing.aws-calls', 'aws timing', NO_ACCESS)]),
    );
  } finally {
    if (opts.aws === undefined) aws.close();
  }
  return report(findings, server, now() - started);
}

function report(findings: Finding[], server: string | null, durationMs: number): DoctorReport {
  const count = (s: Finding['status']): number => findings.filter((f) => f.status === s).length;
  return {
    findings,
    summary: {
      ok: count('ok'),
      warning: count('warning'),
      error: count('error'),
      skipped: count('skipped'),
      server,
      durationMs: Math.round(durationMs),
    },
  };
}
