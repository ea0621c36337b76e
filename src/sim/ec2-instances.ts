/**
 * Instance lifecycle of the simulator's EC2 (issue 4 sections 4 and 5): StopInstances (with `Force`),
 * StartInstances and RebootInstances, the delayed `stopping` -> `stopped` / `pending` -> `running`
 * transitions, and whether an instance is "up" (running and not rebooting), which decides whether its IMDS
 * and its role credentials get an answer. Pure functions of the state, the parameters and the time.
 *
 * Forced stop (the seed's fencing): a graceful stop of an instance whose OS hangs on shutdown (world
 * `hangsOnStop: true`) never completes, the instance stays `stopping`; `Force=true` stops it after the
 * transition delay, also when it is already stuck in `stopping`.
 */
import { STATE_CODES } from './ec2-render.ts';
import { bool, byIds, dryRunOk, listParam } from './ec2-params.ts';
import { Ec2Fault, el, set, wrap } from './ec2-xml.ts';
import type { Ec2State, Instance, InstanceStateName } from './world.ts';

/** Moves instances whose `stopping`/`pending` delay has passed to `stopped`/`running`; ends reboots. */
export function settleInstances(state: Ec2State, nowMs: number): void {
  for (const i of state.instances) {
    if (i.rebootingUntilMs !== undefined && nowMs >= i.rebootingUntilMs) delete i.rebootingUntilMs;
    if (i.settlesAtMs === undefined || nowMs < i.settlesAtMs) continue;
    if (i.state === 'stopping') i.state = 'stopped';
    else if (i.state === 'pending') i.state = 'running';
    delete i.settlesAtMs;
  }
}

/** Whether the instance's machine is up: running and not in the middle of a reboot. */
export function instanceUp(state: Ec2State, instanceId: string, nowMs: number): boolean {
  settleInstances(state, nowMs);
  const i = state.instances.find((x) => x.id === instanceId);
  return i !== undefined && i.state === 'running' && i.rebootingUntilMs === undefined;
}

/** Sets an instance's state at once (admin API: "restart" a fenced instance, or power one off). */
export function forceInstanceState(i: Instance, to: 'running' | 'stopped'): void {
  i.state = to;
  delete i.settlesAtMs;
  delete i.rebootingUntilMs;
}

function instancesOf(s: Ec2State, p: URLSearchParams): Instance[] {
  const ids = listParam(p, 'InstanceId');
  if (ids.length === 0)
    throw new Ec2Fault('MissingParameter', 'The request must contain the parameter InstanceId');
  return byIds(s.instances, ids, (i) => i.id, 'Instance', 'instance');
}

/** StopInstances / StartInstances: the `instancesSet` of state changes, as EC2 answers them. */
export function changeInstances(
  s: Ec2State,
  p: URLSearchParams,
  to: 'stopped' | 'running',
  nowMs: number,
  dryRun: boolean,
): string {
  const insts = instancesOf(s, p);
  const force = to === 'stopped' && bool(p, 'Force');
  if (to === 'running') {
    const busy = insts.find((i) => i.state === 'stopping');
    if (busy !== undefined) {
      throw new Ec2Fault(
        'IncorrectInstanceState',
        `The instance '${busy.id}' is not in a state from which it can be started.`,
      );
    }
  }
  if (dryRun) throw dryRunOk();
  const items = insts.map((i) => {
    const previous = i.state;
    if (to === 'stopped' && (previous === 'running' || previous === 'pending')) {
      i.state = 'stopping';
      delete i.rebootingUntilMs;
      // A hung shutdown never ends by itself; only a forced stop gets the instance to `stopped`.
      if (force || !i.hangsOnStop) i.settlesAtMs = nowMs + s.transitionDelayMs;
      else delete i.settlesAtMs;
    } else if (to === 'stopped' && previous === 'stopping' && force) {
      const at = nowMs + s.transitionDelayMs;
      i.settlesAtMs = i.settlesAtMs === undefined ? at : Math.min(i.settlesAtMs, at);
    } else if (to === 'running' && previous === 'stopped') {
      i.state = 'pending';
      i.settlesAtMs = nowMs + s.transitionDelayMs;
    }
    return { id: i.id, previous };
  });
  settleInstances(s, nowMs);
  const st = (n: InstanceStateName): string => el('code', STATE_CODES[n]) + el('name', n);
  return set(
    'instancesSet',
    items,
    (x) =>
      el('instanceId', x.id) +
      wrap('currentState', st(s.instances.find((i) => i.id === x.id)?.state ?? x.previous)) +
      wrap('previousState', st(x.previous)),
  );
}

/**
 * RebootInstances: EC2 keeps reporting `running`, but for the transition delay the machine is down (its IMDS
 * and its role credentials get no answer). A stopped or stopping instance cannot be rebooted.
 */
export function rebootInstances(s: Ec2State, p: URLSearchParams, nowMs: number, dryRun: boolean): string {
  const insts = instancesOf(s, p);
  const off = insts.find((i) => i.state !== 'running');
  if (off !== undefined) {
    throw new Ec2Fault(
      'IncorrectInstanceState',
      `The instance '${off.id}' is not in a state from which it can be rebooted.`,
    );
  }
  if (dryRun) throw dryRunOk();
  for (const i of insts) {
    if (s.transitionDelayMs > 0) i.rebootingUntilMs = nowMs + s.transitionDelayMs;
  }
  return el('return', true);
}
