/**
 * The AWS access layer's contract (issue 4 section 1): what drivers, fencing and `tandem doctor` call. One
 * `AwsAccess` per process, created from the config's `aws:` section by `createAwsAccess` (access.ts) without
 * any I/O; region and credentials are resolved on first use. Every call:
 *
 * - is bounded by `min(opts.timeoutMs, aws.callTimeout)` and by `opts.signal`;
 * - retries throttling and 5xx with jittered exponential backoff while the time allows;
 * - fails only with an `AwsCallError` (errors.ts) whose `kind` tells "AWS answered with an error" from
 *   "no answer" from "throttled/unavailable" from "access not set up".
 */
import type { CompiledAws } from '../shared/config/types.ts';

export interface AwsCallOptions {
  signal?: AbortSignal;
  /** Deadline of this call in ms (retries included); capped by `aws.callTimeout`. */
  timeoutMs?: number;
}

/** Where region and credentials come from (doctor, logs). Never contains a secret. */
export interface AwsResolution {
  region: string | null;
  regionSource: 'config' | 'environment' | 'profile' | 'imds' | null;
  /** Why no region was found, when `region` is null. */
  regionError: string | null;
  /** e.g. `environment (AWS_ACCESS_KEY_ID)`, `profile ha (~/.aws/credentials)`, `instance role tandem-ha (IMDS)`. */
  credentialsSource: string | null;
  credentialsError: string | null;
  /** The proxy in use for AWS API calls (password masked), or null. */
  proxy: string | null;
  endpoints: { ec2: string | null; route53: string | null; imds: string };
}

export interface NetworkInterfaceInfo {
  eniId: string;
  vpcId: string;
  subnetId: string;
  availabilityZone: string;
  instanceId: string | null;
  privateIps: string[];
  sourceDestCheck: boolean;
}

export interface AddressInfo {
  allocationId: string;
  publicIp: string;
  eniId: string | null;
  associationId: string | null;
}

export interface Ec2Ops {
  /** CIDR blocks of the VPC (DescribeVpcs). */
  vpcCidrs(vpcId: string, o?: AwsCallOptions): Promise<string[]>;
  /** The VPC's enableDnsSupport attribute (DescribeVpcAttribute). */
  vpcDnsSupport(vpcId: string, o?: AwsCallOptions): Promise<boolean>;
  /**
   * Every route table of the VPC holding a route for `destinationCidr` (e.g. `10.1.0.20/32`), with the
   * route's current target (ENI id, gateway id, instance id, ...; null when the route has none).
   * Throws `answered` InvalidVpcID.NotFound when the VPC does not exist.
   */
  routesFor(
    vpcId: string,
    destinationCidr: string,
    o?: AwsCallOptions,
  ): Promise<Array<{ routeTableId: string; target: string | null }>>;
  replaceRoute(
    routeTableId: string,
    destinationCidr: string,
    eniId: string,
    o?: AwsCallOptions,
  ): Promise<void>;
  networkInterface(eniId: string, o?: AwsCallOptions): Promise<NetworkInterfaceInfo>;
  address(allocationId: string, o?: AwsCallOptions): Promise<AddressInfo>;
  /** AssociateAddress with AllowReassociation; resolves to the association id. */
  associateAddress(allocationId: string, eniId: string, o?: AwsCallOptions): Promise<string>;
  disassociateAddress(associationId: string, o?: AwsCallOptions): Promise<void>;
  /** The zone's state (`available`, `impaired`, `information`, `unavailable`), or null when no such zone. */
  availabilityZone(name: string, o?: AwsCallOptions): Promise<{ name: string; state: string } | null>;
  /** `pending`, `running`, `stopping`, `stopped`, ... */
  instanceState(instanceId: string, o?: AwsCallOptions): Promise<string>;
  stopInstance(instanceId: string, force: boolean, o?: AwsCallOptions): Promise<void>;
  rebootInstance(instanceId: string, o?: AwsCallOptions): Promise<void>;
  /**
   * The same call with DryRun=true: `allowed` (DryRunOperation), `denied` (UnauthorizedOperation); other
   * answers throw. `params` are the operation's EC2 Query parameters (e.g. `{ RouteTableId, ... }`).
   */
  dryRun(
    operation: Ec2DryRunOperation,
    params: Record<string, string>,
    o?: AwsCallOptions,
  ): Promise<'allowed' | 'denied'>;
}

export type Ec2DryRunOperation =
  | 'ReplaceRoute'
  | 'AssociateAddress'
  | 'DisassociateAddress'
  | 'StopInstances'
  | 'RebootInstances'
  | 'DescribeRouteTables'
  | 'DescribeAddresses'
  | 'DescribeAvailabilityZones'
  | 'DescribeInstances'
  | 'DescribeNetworkInterfaces';

export interface HostedZoneInfo {
  id: string;
  /** Lowercase, with the trailing dot. */
  name: string;
  private: boolean;
  vpcs: Array<{ vpcId: string; region: string }>;
}

export interface Route53Ops {
  hostedZone(zoneId: string, o?: AwsCallOptions): Promise<HostedZoneInfo>;
  /** The A record set `name` (lowercase FQDN with trailing dot), or null when absent. */
  recordA(
    zoneId: string,
    name: string,
    o?: AwsCallOptions,
  ): Promise<{ name: string; ttl: number; values: string[] } | null>;
  /** UPSERT of an A record with one value; resolves to the change id. */
  upsertA(zoneId: string, name: string, ip: string, ttl: number, o?: AwsCallOptions): Promise<string>;
  /**
   * DELETE of the current A record set (as read back); null when there was none, or, with `onlyIfHolds`,
   * when the record read back does not hold that value (it is someone else's now). Route 53 refuses a
   * DELETE whose values changed since the read, so the check and the delete cannot straddle a change.
   */
  deleteA(zoneId: string, name: string, o?: AwsCallOptions, onlyIfHolds?: string): Promise<string | null>;
  changeStatus(changeId: string, o?: AwsCallOptions): Promise<'PENDING' | 'INSYNC'>;
}

export interface ImdsOps {
  /** GET of an IMDSv2 path below `/latest/` (e.g. `meta-data/placement/availability-zone`), token handled. */
  get(path: string, o?: AwsCallOptions): Promise<string>;
}

export interface AwsAccess {
  readonly settings: CompiledAws;
  readonly ec2: Ec2Ops;
  readonly route53: Route53Ops;
  readonly imds: ImdsOps;
  /** Resolve region and credentials (may call IMDS); never throws: failures are in the result. */
  resolve(o?: AwsCallOptions): Promise<AwsResolution>;
  /** Release sockets (daemon shutdown, tests). */
  close(): void;
}
