/**
 * The `awsfencew` monitor (issue 4 section 4, "A periodic check shows the fencing as normal or error"): the
 * forced stop is needed exactly when things are already going wrong, so its preconditions are checked ahead
 * of time. For every other server of `fencing.servers`, in parallel:
 *
 * 1. DescribeInstances: the instance exists and is visible with these credentials and region (a terminated
 *    instance counts as missing: the config is stale);
 * 2. StopInstances with Force (RebootInstances for `action: reboot`) as a dry run: EC2 says whether the
 *    call would be allowed, without doing it.
 *
 * Missing instance -> 1, not allowed -> 2 (naming the IAM permission), other AWS errors -> 3, access not set
 * up -> 4; all problems are named in one message with the code of the first. When every problem is a missing
 * answer, the check throws a NoResponseError (6, or 106 under `noResponse: warn`) and the core applies
 * `noResponse`.
 */
import type { MonitorResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledMonitor } from '../../shared/config/types.ts';
import { awsFailureOf, sentence, type CallBudget } from '../aws-common/call.ts';
import { budgetFor, checkResult } from '../aws-common/driver-kit.ts';
import type { DriverContext, DriverResult, MonitorDriver, TypeDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { AWSFENCEW_MESSAGES, type AwsFenceMonitorMessageId } from './errors.ts';

interface PeerProblem {
  id: AwsFenceMonitorMessageId;
  detail: string;
  /** No answer (or throttled): only `noResponse` decides what it means. */
  noAnswer: boolean;
  cause?: unknown;
}

/** AWS error codes meaning "no such instance". */
const NOT_FOUND = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);

export class AwsFenceMonitorDriver implements MonitorDriver {
  readonly type = 'awsfencew';

  describe(): TypeDescription {
    return {
      type: 'awsfencew',
      description:
        'Checks that this server can force-stop every other server: each instance exists and StopInstances (dry run) is allowed.',
      params: [],
      minTimeoutMs: 5_000,
      messages: AWSFENCEW_MESSAGES,
    };
  }

  validate(_monitor: CompiledMonitor, config: CompiledConfig): string[] {
    if (config.fencing === null)
      return ['the config has no fencing: section; add one or remove the awsfencew monitor'];
    const fencing = config.fencing;
    return config.servers
      .filter((s) => fencing.servers[s.name] === undefined)
      .map((s) => `fencing.servers has no instanceId for ${s.name}`);
  }

  async check(monitor: CompiledMonitor, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const f = ctx.config.fencing;
    if (f === null) {
      return checkResult(
        AWSFENCEW_MESSAGES,
        'AWSFENCEW_NOT_CONFIGURED',
        'The config has no fencing: section.',
      );
    }
    const budget = budgetFor(ctx, monitor);
    const peers = Object.entries(f.servers).filter(([name]) => name !== ctx.server);
    const found = await Promise.all(
      peers.map(([name, e]) => this.#checkPeer(name, e.instanceId, f.action, budget, ctx)),
    );
    const problems = found.filter((p): p is PeerProblem => p !== null);
    const first = problems.find((p) => !p.noAnswer) ?? problems[0];
    if (first === undefined) return { result: 'running' };
    const details = problems.map((p) => p.detail).join(' ');
    if (first.noAnswer) {
      const id = monitor.recovery.noResponse === 'warn' ? 'AWSFENCEW_TIMEOUT_WARNING' : 'AWSFENCEW_TIMEOUT';
      throw driverError(AWSFENCEW_MESSAGES, id, monitor.name, details, {
        cause: first.cause,
        noResponse: true,
      });
    }
    return checkResult(AWSFENCEW_MESSAGES, first.id, details);
  }

  async #checkPeer(
    peer: string,
    id: string,
    action: 'stop' | 'reboot',
    budget: CallBudget,
    ctx: DriverContext,
  ): Promise<PeerProblem | null> {
    const problem = (err: unknown, what: string): PeerProblem => {
      const f = awsFailureOf(err, ctx.signal);
      if (f === null) throw err;
      const detail = `${peer} (instance ${id}), ${what}: ${sentence(f.text)}`;
      if (f.kind === 'no-answer') return { id: 'AWSFENCEW_TIMEOUT', detail, noAnswer: true, cause: err };
      if (f.kind === 'access')
        return { id: 'AWSFENCEW_ACCESS_NOT_SET_UP', detail, noAnswer: false, cause: err };
      const missing = f.error.awsCode !== null && NOT_FOUND.has(f.error.awsCode);
      return {
        id: missing ? 'AWSFENCEW_INSTANCE_MISSING' : 'AWSFENCEW_AWS_CALL_FAILED',
        detail,
        noAnswer: false,
        cause: err,
      };
    };
    try {
      const state = await ctx.aws.ec2.instanceState(id, budget.callOptions());
      if (state === 'terminated' || state === 'shutting-down') {
        return {
          id: 'AWSFENCEW_INSTANCE_MISSING',
          detail: `${peer}: instance ${id} is ${state}; fencing.servers names an instance that no longer runs that server.`,
          noAnswer: false,
        };
      }
    } catch (err) {
      return problem(err, 'DescribeInstances');
    }
    const [op, permission, params] =
      action === 'stop'
        ? (['StopInstances', 'ec2:StopInstances', { 'InstanceId.1': id, Force: 'true' }] as const)
        : (['RebootInstances', 'ec2:RebootInstances', { 'InstanceId.1': id }] as const);
    try {
      const verdict = await ctx.aws.ec2.dryRun(op, params, budget.callOptions());
      if (verdict === 'denied') {
        return {
          id: 'AWSFENCEW_STOP_DENIED',
          detail: `${ctx.server} may not stop ${peer}: ${permission} on instance ${id} is denied (dry run).`,
          noAnswer: false,
        };
      }
    } catch (err) {
      return problem(err, `${op} (dry run)`);
    }
    return null;
  }
}
