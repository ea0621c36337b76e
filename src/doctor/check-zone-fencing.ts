/**
 * Checks 6 and 7 of `tandem doctor` (issue 4 section 6): each `awsazw` zone exists in the region
 * (DescribeAvailabilityZones; an unknown zone is the seed's awsazw 5 "Invalid availability zone") and is
 * available, and, on this machine's server, is the zone IMDS reports; for `fencing:`, each server's
 * instance exists, and StopInstances (RebootInstances for `action: reboot`) is allowed on the instances
 * this machine would fence (DryRun).
 */
import type { CompiledMonitor } from '../shared/config/types.ts';
import { calls, monitorServers, objectName, stringParam, type DoctorContext } from './context.ts';
import {
  callProblem,
  CODES,
  finding,
  isNotFound,
  ok,
  problemFinding,
  skipped,
  type CallCodes,
} from './findings.ts';
import type { Finding } from './types.ts';

const AZ_CODES: CallCodes = { failed: CODES.azwFailed, timeout: CODES.azwTimeout, access: CODES.azwFailed };
const FENCE_CODES: CallCodes = {
  failed: CODES.fenceFailed,
  timeout: CODES.fenceNoAnswer,
  access: CODES.fenceAccess,
};

export async function checkAwsAzw(ctx: DoctorContext, m: CompiledMonitor): Promise<Finding[]> {
  const servers = monitorServers(ctx, m);
  if (servers.length === 0) return [];
  if (ctx.ec2Blocked !== null)
    return [skipped('awsazw.zone', objectName('monitor', m.name, servers), ctx.ec2Blocked)];
  const region = ctx.resolution.region ?? 'the region';
  return Promise.all(
    servers.map(async (server): Promise<Finding> => {
      const obj = objectName('monitor', m.name, [server]);
      const zone = stringParam(m, server, 'availabilityZone');
      if (zone === null) {
        return skipped(
          'awsazw.zone',
          obj,
          `no availabilityZone for ${server}`,
          `Set servers.${server}.availabilityZone of ${m.name}.`,
        );
      }
      const res = await calls.availabilityZone(ctx, zone);
      if (!res.ok) {
        const p = callProblem(
          res.error,
          { service: 'ec2', operation: 'DescribeAvailabilityZones', about: zone },
          AZ_CODES,
          {
            permission: `Grant ec2:DescribeAvailabilityZones to the instance role or user of ${server}.`,
          },
        );
        return problemFinding('awsazw.zone', obj, p, res.ms);
      }
      if (res.value === null) {
        return finding(
          'awsazw.zone',
          'error',
          obj,
          CODES.azwFailed,
          `Invalid availability zone: [${zone}]: ${region} has no such zone`,
          `Set servers.${server}.availabilityZone of ${m.name} to the zone of ${server}'s instance (aws ec2 describe-availability-zones lists the region's zones; the instance metadata's placement/availability-zone gives an instance's own).`,
          res.ms,
        );
      }
      const state = res.value.state;
      if (state === 'unavailable') {
        return finding(
          'awsazw.zone',
          'error',
          obj,
          CODES.azwUnavailable,
          `availability zone ${zone} is unavailable: the monitor reports an error and moves the groups away from ${server}`,
          'Nothing to fix in the config: watch the AWS Health Dashboard; the monitor is normal again once the zone is available.',
          res.ms,
        );
      }
      if (state !== 'available') {
        return finding(
          'awsazw.zone',
          'warning',
          obj,
          CODES.azwDegraded,
          `availability zone ${zone} is ${state}`,
          'AWS reports a problem in the zone: check the AWS Health Dashboard and be ready to move the groups to a server in another zone.',
          res.ms,
        );
      }
      const local = ctx.local;
      if (local.server === server && local.availabilityZone !== null && local.availabilityZone !== zone) {
        return finding(
          'awsazw.zone',
          'warning',
          obj,
          null,
          `this machine (${server}) is in ${local.availabilityZone}, the config says ${server}'s zone is ${zone}`,
          `Set servers.${server}.availabilityZone of ${m.name} to ${local.availabilityZone}, or run tandem doctor --server with the name of this machine's server.`,
          res.ms,
        );
      }
      return ok('awsazw.zone', obj, `availability zone ${zone} exists and is available`, res.ms);
    }),
  );
}

export async function checkFencing(ctx: DoctorContext): Promise<Finding[]> {
  const fencing = ctx.config.fencing;
  if (fencing === null) return [];
  const entries = ctx.config.servers.flatMap((s) => {
    const f = fencing.servers[s.name];
    return f === undefined ? [] : [{ server: s.name, instanceId: f.instanceId }];
  });
  if (ctx.ec2Blocked !== null) return [skipped('fencing', 'fencing', ctx.ec2Blocked)];
  const operation = fencing.action === 'stop' ? 'StopInstances' : 'RebootInstances';
  const permission = `ec2:${operation}`;
  const results = await Promise.all(
    entries.map(async ({ server, instanceId }): Promise<Finding[]> => {
      const obj = `fencing ${server} (${instanceId})`;
      const state = await calls.instanceState(ctx, instanceId);
      const out: Finding[] = [];
      if (!state.ok) {
        const p = callProblem(
          state.error,
          { service: 'ec2', operation: 'DescribeInstances', about: instanceId },
          FENCE_CODES,
          {
            permission:
              'Grant ec2:DescribeInstances to the instance role or user of every server (the fencing check and the forced stop read the instance state).',
            notFound: `Set fencing.servers.${server}.instanceId to the instance of ${server} (aws ec2 describe-instances lists them; the instance metadata's instance-id gives an instance's own), and check that the region is the one it runs in.`,
          },
        );
        out.push(
          problemFinding(
            'fencing.instance',
            obj,
            isNotFound(state.error) ? { ...p, code: CODES.fencewMissing } : p,
            state.ms,
          ),
        );
      } else {
        out.push(
          ok(
            'fencing.instance',
            obj,
            `instance ${instanceId} of ${server} exists (${state.value})`,
            state.ms,
          ),
        );
      }
      // This machine fences the others (with --server), or any of them (without).
      if (ctx.server === server) return out;
      if (!state.ok) {
        out.push(
          skipped(
            'fencing.iam',
            obj,
            `${permission} is not checked: the instance could not be described (see above)`,
          ),
        );
        return out;
      }
      const params: Record<string, string> = {
        InstanceId: instanceId,
        ...(operation === 'StopInstances' ? { Force: 'true' } : {}),
      };
      const dry = await calls.dryRun(ctx, operation, params);
      if (!dry.ok) {
        out.push(
          problemFinding(
            'fencing.iam',
            obj,
            callProblem(
              dry.error,
              { service: 'ec2', operation: `${operation} DryRun`, about: instanceId },
              FENCE_CODES,
              {
                permission: `Grant ${permission} on ${instanceId}.`,
              },
            ),
            dry.ms,
          ),
        );
      } else if (dry.value === 'denied') {
        out.push(
          finding(
            'fencing.iam',
            'error',
            obj,
            CODES.fencewDenied,
            `${permission} is denied on ${instanceId} (DryRun with this machine's credentials): a forced stop of ${server} would fail and its groups would wait for the operator`,
            `Grant ${permission} (and ec2:DescribeInstances) on ${instanceId} to the instance role or user of every other server.`,
            dry.ms,
          ),
        );
      } else {
        out.push(
          ok(
            'fencing.iam',
            obj,
            `${permission} on ${instanceId} is allowed (DryRun with this machine's credentials)`,
            dry.ms,
          ),
        );
      }
      return out;
    }),
  );
  return results.flat();
}
