/**
 * The forced stop of a peer's instance (issue 4 section 4; the seed's "Fencing" step), run by the daemon's
 * `fence` handler when the core decides a down peer must be stopped before its groups are taken over
 * (src/core/membership/fencing.ts decides when and who; this only acts).
 *
 * 1. Read the instance's state: already `stopped` (or terminated) -> done at once, nothing is sent.
 * 2. `action: reboot` -> RebootInstances; done when EC2 accepted it (a reboot has no end state to wait for).
 * 3. `action: stop` -> StopInstances with Force (no graceful OS shutdown: the instance is presumed sick),
 *    then DescribeInstances 500 ms later and every second after that until the state is `stopped`.
 *    `stopping` is not enough: until the hypervisor stopped it, the instance may still write to shared
 *    storage or answer on its addresses.
 *
 * Everything is bounded by `fencing.timeout` and `ctx.signal`. Any failure throws a ResourceError of the
 * fencing table whose message names the server, the instance and what happened; the core then cancels the
 * takeover and tells the operator to stop the instance by hand and run `tandem server confirm-down`.
 */
import type { AwsFailure } from '../aws-common/call.ts';
import { awsFailureOf, CallBudget, sentence } from '../aws-common/call.ts';
import type { DriverContext, DriverResult } from '../driver.ts';
import { driverError } from '../messages.ts';
import { FENCE_MESSAGES, type FenceMessageId } from './errors.ts';

/** Wait after StopInstances before the first state poll (ms). */
export const FIRST_POLL_MS = 500;
/** Gap between later state polls (ms). */
export const POLL_MS = 1_000;

/** States in which the instance runs nothing any more. */
const DOWN_STATES = new Set(['stopped', 'terminated']);

function byHand(peer: string, instanceId: string): string {
  return `Stop it by hand (aws ec2 stop-instances --force --instance-ids ${instanceId}), then run: tandem server confirm-down ${peer}.`;
}

/**
 * Stop (or reboot) the instance of `peer` as `ctx.config.fencing` says, and wait until it is stopped.
 * Resolves `{ result: 'ok', message }` (the message says what was done, for the alert log); throws a
 * ResourceError of FENCE_MESSAGES otherwise.
 */
export async function fenceServer(ctx: DriverContext, peer: string): Promise<DriverResult<'ok'>> {
  const f = ctx.config.fencing;
  const entry = f?.servers[peer];
  if (!f || !entry) {
    const where = f ? 'fencing.servers has no entry for it' : 'the config has no fencing: section';
    throw driverError(
      FENCE_MESSAGES,
      'FENCE_NOT_CONFIGURED',
      peer,
      `Server ${peer} cannot be stopped: ${where}. Check that its instance is stopped, then run: tandem server confirm-down ${peer}.`,
    );
  }
  const id = entry.instanceId;
  const budget = new CallBudget(f.timeoutMs, ctx.signal, { share: 1 });
  const since = Date.now();
  const fields = { server: peer, instance: id, action: f.action };
  const fail = (what: string, err: unknown): unknown => {
    const failure = awsFailureOf(err, ctx.signal);
    return failure === null ? err : fenceCallError(failure, peer, id, what);
  };

  let state: string;
  try {
    state = await ctx.aws.ec2.instanceState(id, budget.callOptions());
  } catch (err) {
    throw fail('DescribeInstances', err);
  }
  if (DOWN_STATES.has(state)) {
    ctx.log('info', `instance ${id} of ${peer} is already ${state}: nothing to stop`, fields);
    return { result: 'ok', message: `instance ${id} was already ${state}` };
  }

  if (f.action === 'reboot') {
    try {
      await ctx.aws.ec2.rebootInstance(id, budget.callOptions());
    } catch (err) {
      throw fail('RebootInstances', err);
    }
    ctx.log('info', `instance ${id} of ${peer} rebooted`, fields);
    return { result: 'ok', message: `instance ${id} rebooted` };
  }

  try {
    await ctx.aws.ec2.stopInstance(id, true, budget.callOptions());
  } catch (err) {
    throw fail('StopInstances (Force)', err);
  }
  ctx.log(
    'info',
    `forced stop of instance ${id} of ${peer} requested (was ${state}); waiting until stopped`,
    fields,
  );
  for (let n = 0; ; n++) {
    if (!(await budget.sleep(n === 0 ? FIRST_POLL_MS : POLL_MS))) {
      const why = ctx.signal.aborted
        ? 'The forced stop was cancelled'
        : `Not stopped after ${Date.now() - since} ms`;
      throw driverError(
        FENCE_MESSAGES,
        'FENCE_TIMEOUT',
        peer,
        `${why}: instance ${id} of ${peer} was last seen ${state}. ${byHand(peer, id)}`,
      );
    }
    try {
      state = await ctx.aws.ec2.instanceState(id, budget.callOptions());
    } catch (err) {
      throw fail('DescribeInstances', err);
    }
    if (DOWN_STATES.has(state)) {
      const ms = Date.now() - since;
      ctx.log('info', `instance ${id} of ${peer} is ${state} after ${ms} ms`, fields);
      return { result: 'ok', message: `instance ${id} ${state} after ${ms} ms` };
    }
  }
}

function fenceCallError(f: AwsFailure, peer: string, id: string, what: string): unknown {
  const detail = `${what} of instance ${id} of ${peer}: ${sentence(f.text)} ${byHand(peer, id)}`;
  const entry: FenceMessageId =
    f.kind === 'failed'
      ? 'FENCE_STOP_FAILED'
      : f.kind === 'access'
        ? 'FENCE_ACCESS_NOT_SET_UP'
        : 'FENCE_NO_ANSWER';
  return driverError(FENCE_MESSAGES, entry, peer, detail, { cause: f.error });
}
