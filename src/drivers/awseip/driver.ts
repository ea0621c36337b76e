/**
 * The `awseip` resource type (issue 4 section 2; the seed's AWS Elastic IP resource): clients reach the
 * active server through an Elastic IP associated with its ENI.
 *
 * start: AssociateAddress with re-association to the local ENI (taking the EIP over from whichever server
 * had it), then read the address back: it must show the local ENI (54 says where it is instead).
 * stop: disassociate only when the EIP is associated with the local ENI; never take it away from another
 * server (that one is active now). Absent or elsewhere is fine, so stop is idempotent.
 * monitor (the startup probe): `running` when the EIP is associated with the local ENI, else `stopped`.
 *
 * Every call spends at most 90% of the resource timeout on AWS (../aws-common/call.ts); no answer is code 53.
 */
import type { AddressInfo } from '../../aws/types.ts';
import type { MonitorResult, StartStopResult } from '../../core/types.ts';
import type { CompiledConfig, CompiledRecovery, CompiledResource } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';
import type {
  DriverContext,
  DriverResult,
  ResourceCallEnv,
  ResourceDriver,
  TypeDescription,
} from '../driver.ts';
import { driverError, type DriverMessage } from '../messages.ts';
import { AwsCallError } from '../../aws/errors.ts';
import { awsCall, awsFailure, type AwsFailureSpec } from '../aws-common/call.ts';
import { budgetFor, ok, stopBestEffort } from '../aws-common/driver-kit.ts';
import { perServerProblems } from '../awsvip/validate.ts';
import { AWSEIP_MESSAGES } from './errors.ts';
import { AWSEIP_PARAMS, awsEipParamsProblems, parseAwsEipParams, type AwsEipParams } from './params.ts';

/** The AWS failure mapping of an awseip resource or monitor (remedies name the resource's settings). */
export function eipFailureSpec<T extends readonly DriverMessage[]>(
  table: T,
  ids: AwsFailureSpec<T>['ids'],
  object: string,
  resource: string,
  server: string,
  p: AwsEipParams,
  noResponse: CompiledRecovery['noResponse'] | null,
): AwsFailureSpec<T> {
  return {
    table,
    ids,
    object,
    noResponse,
    remedies: {
      InvalidAllocationID: `Specify a correct EIP allocation ID: allocationId of ${resource} on ${server} is ${p.allocationId}.`,
      InvalidNetworkInterfaceID: `Specify a correct ENI ID: eniId of ${resource} on ${server} is ${p.eniId}.`,
      InvalidAssociationID: `The association of ${p.allocationId} changed meanwhile; retry.`,
      permission: `Grant this server's IAM role or user ec2:AssociateAddress, ec2:DisassociateAddress and ec2:DescribeAddresses (for ${p.allocationId} and ${p.eniId}).`,
    },
  };
}

/** `eni-2 (association eipassoc-1)` or `no network interface`. */
export function describeAssociation(a: AddressInfo): string {
  return a.eniId === null
    ? 'no network interface'
    : `${a.eniId}${a.associationId ? ` (association ${a.associationId})` : ''}`;
}

export class AwsEipDriver implements ResourceDriver {
  readonly type = 'awseip';

  describe(): TypeDescription {
    return {
      type: 'awseip',
      description: "AWS Elastic IP: associates the Elastic IP with this server's ENI (with re-association).",
      params: AWSEIP_PARAMS,
      minTimeoutMs: 5_000,
      messages: AWSEIP_MESSAGES,
    };
  }

  validate(resource: CompiledResource, config: CompiledConfig): string[] {
    return validateAwsEip(resource, config);
  }

  async start(
    resource: CompiledResource,
    _env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const p = parseAwsEipParams(paramsFor(resource, ctx.server), name);
    const budget = budgetFor(ctx, resource);
    const spec = this.#spec(name, ctx.server, p);
    const ec2 = ctx.aws.ec2;
    const assoc = await awsCall(
      spec,
      budget,
      'ec2',
      'AssociateAddress',
      `${p.allocationId} to ${p.eniId}`,
      (o) => ec2.associateAddress(p.allocationId, p.eniId, o),
    );
    const a = await awsCall(spec, budget, 'ec2', 'DescribeAddresses', p.allocationId, (o) =>
      ec2.address(p.allocationId, o),
    );
    if (a.eniId !== p.eniId) {
      throw driverError(
        AWSEIP_MESSAGES,
        'AWSEIP_NOT_ASSOCIATED_AFTER',
        name,
        `${p.allocationId} (${a.publicIp}) is associated with ${describeAssociation(a)} instead of ${p.eniId} right after association ${assoc}. Check whether another cluster or tool associates the same Elastic IP.`,
      );
    }
    ctx.log('info', `${p.allocationId} (${a.publicIp}) is associated with ${p.eniId}`, {
      allocationId: p.allocationId,
      eniId: p.eniId,
      associationId: a.associationId,
    });
    return ok('ok');
  }

  /**
   * Best effort: an Elastic IP is associated with one ENI at a time and the next active server re-associates
   * it (AllowReassociation), so a disassociation that fails, or is skipped on a hard stop (isolation: AWS is
   * likely unreachable), can never make two servers hold it. Failing the stop would only trigger the
   * deactivation final action (shutdown by default) for nothing.
   */
  async stop(
    resource: CompiledResource,
    env: ResourceCallEnv,
    ctx: DriverContext,
  ): Promise<DriverResult<StartStopResult>> {
    const left = {
      kept: 'the Elastic IP is left associated',
      action: 'disassociate the Elastic IP',
      repair: 'the next active server re-associates it',
    };
    return await stopBestEffort(env, ctx, left, () => this.#stop(resource, ctx));
  }

  async #stop(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<StartStopResult>> {
    const name = resource.name;
    const p = parseAwsEipParams(paramsFor(resource, ctx.server), name);
    const budget = budgetFor(ctx, resource);
    const spec = this.#spec(name, ctx.server, p);
    const ec2 = ctx.aws.ec2;
    const a = await awsCall(spec, budget, 'ec2', 'DescribeAddresses', p.allocationId, (o) =>
      ec2.address(p.allocationId, o),
    );
    if (a.eniId !== p.eniId || a.associationId === null) {
      // Not ours (another server took it over, or nobody has it): leave it as it is.
      ctx.log(
        'info',
        `${p.allocationId} is associated with ${describeAssociation(a)}; nothing to disassociate`,
      );
      return ok('ok');
    }
    const associationId = a.associationId;
    try {
      await ec2.disassociateAddress(associationId, budget.options('ec2', 'DisassociateAddress'));
    } catch (err) {
      if (!(err instanceof AwsCallError)) throw err;
      // Gone meanwhile (another server re-associated it): the goal is reached.
      if (err.kind === 'answered' && /^InvalidAssociationID\.NotFound$/i.test(err.awsCode ?? ''))
        return ok('ok');
      throw awsFailure(spec, err, associationId);
    }
    ctx.log('info', `${p.allocationId} (${a.publicIp}) disassociated from ${p.eniId}`, {
      allocationId: p.allocationId,
      associationId,
    });
    return ok('ok');
  }

  async monitor(resource: CompiledResource, ctx: DriverContext): Promise<DriverResult<MonitorResult>> {
    const p = parseAwsEipParams(paramsFor(resource, ctx.server), resource.name);
    const budget = budgetFor(ctx, resource);
    const a = await awsCall(
      this.#spec(resource.name, ctx.server, p),
      budget,
      'ec2',
      'DescribeAddresses',
      p.allocationId,
      (o) => ctx.aws.ec2.address(p.allocationId, o),
    );
    return ok(a.eniId === p.eniId ? 'running' : 'stopped');
  }

  #spec(name: string, server: string, p: AwsEipParams): AwsFailureSpec<typeof AWSEIP_MESSAGES> {
    return eipFailureSpec(
      AWSEIP_MESSAGES,
      { failed: 'AWSEIP_AWS_FAILED', access: 'AWSEIP_ACCESS_NOT_SET_UP', timeout: 'AWSEIP_TIMEOUT' },
      name,
      name,
      server,
      p,
      null,
    );
  }
}

/** Checks of `validate()` shared with the monitor: params per server, distinct ENIs. */
export function validateAwsEip(resource: CompiledResource, config: CompiledConfig): string[] {
  return perServerProblems(resource, config, awsEipParamsProblems, 'the Elastic IP');
}
