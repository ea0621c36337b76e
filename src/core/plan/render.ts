/**
 * The plain-text plan summary (STYLE.md 2) shown by `tandem plan`, logged by the daemon and compared by the
 * golden scenario tests:
 *
 * ```
 * Plan for node-2:
 *   1. start exec1 on node-2 (failover1) -- failover from node-1: heartbeat lost
 *   2. start exec2 on node-2 (failover1) [waiting] -- after 1; depends on exec1
 * ```
 *
 * A step in flight says `[running]`; a blocked one `[waiting: <what>]`.
 */
import type { Plan, PlanStep } from '../types.ts';

function statusTag(step: PlanStep): string {
  if (step.status === 'running') return ' [running]';
  if (step.status === 'waiting') return step.waitingFor ? ` [waiting: ${step.waitingFor}]` : ' [waiting]';
  return '';
}

export function renderPlan(plan: Plan): string {
  if (plan.steps.length === 0) return `Plan for ${plan.server}: nothing to do`;
  const lines = [`Plan for ${plan.server}:`];
  for (const step of plan.steps) {
    const after = step.dependsOn.length > 0 ? `after ${step.dependsOn.join(', ')}; ` : '';
    lines.push(`  ${step.id}. ${step.text}${statusTag(step)} -- ${after}${step.reason}`);
  }
  return lines.join('\n');
}
