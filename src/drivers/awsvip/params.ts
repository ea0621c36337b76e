/**
 * Parameters of the `awsvip` resource and the `awsvipw` monitor (issue 4 sections 2-3): the runtime schema
 * the drivers apply to the compiled params (after per-server overrides are merged) and the descriptions
 * shown by `describe()`. The YAML keys are `ip`, `vpcId`, `eniId` (per server), `interface` and
 * `assignAddress`; the monitor names its resource.
 */
import { z } from 'zod';
import { isIpv4 } from '../../shared/config/address.ts';
import type { ParamDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { AWSVIP_MESSAGES, AWSVIPW_MESSAGES } from './errors.ts';

/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no `/`, no whitespace, no `:` alias labels. */
const IFNAME = /^[^\s/:]{1,15}$/;

export const awsVipParamsSchema = z.object({
  ip: z.string().refine(isIpv4, 'expected an IPv4 address such as 10.1.0.20'),
  vpcId: z.string().regex(/^vpc-[0-9a-zA-Z]+$/, 'expected a VPC ID such as vpc-0123abcd'),
  eniId: z.string().regex(/^eni-[0-9a-zA-Z]+$/, 'expected an ENI ID such as eni-0123abcd'),
  interface: z
    .string()
    .regex(IFNAME, 'expected a network interface name such as eth0 (at most 15 characters)')
    .nullable()
    .default(null),
  assignAddress: z.boolean().default(true),
});
export type AwsVipParams = z.infer<typeof awsVipParamsSchema>;

export const AWSVIP_PARAMS: ParamDescription[] = [
  {
    name: 'ip',
    type: 'string',
    required: true,
    perServer: false,
    description:
      'The virtual IP address (IPv4). It must lie outside every CIDR block of the VPC; clients reach it through a route for ip/32 in the route tables of their subnets.',
  },
  {
    name: 'vpcId',
    type: 'string',
    required: true,
    perServer: true,
    description: 'The VPC whose route tables hold the route for ip/32.',
  },
  {
    name: 'eniId',
    type: 'string',
    required: true,
    perServer: true,
    description:
      "This server's ENI: activation points the VIP route of every route table of the VPC at it. Set per server; disable its Source/Dest check.",
  },
  {
    name: 'interface',
    type: 'string',
    required: false,
    default: null,
    perServer: true,
    description:
      "The local network interface that gets ip/32 (assignAddress). Default: the interface holding one of the ENI's private IP addresses.",
  },
  {
    name: 'assignAddress',
    type: 'boolean',
    required: false,
    default: true,
    perServer: true,
    description:
      "Put ip/32 on the active server's network interface (with iproute2: `ip address replace`) and remove it on deactivation. Needs root or CAP_NET_ADMIN.",
  },
];

function issuesText(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`);
}

/** Validate the merged params of `resource`; throws the AWSVIP_INVALID_PARAMS ResourceError. */
export function parseAwsVipParams(raw: Record<string, unknown>, resource: string): AwsVipParams {
  const r = awsVipParamsSchema.safeParse(raw);
  if (!r.success) {
    throw driverError(AWSVIP_MESSAGES, 'AWSVIP_INVALID_PARAMS', resource, issuesText(r.error).join('; '));
  }
  return r.data;
}

/** Problems with the params, as text (empty = fine). */
export function awsVipParamsProblems(raw: Record<string, unknown>): string[] {
  const r = awsVipParamsSchema.safeParse(raw);
  return r.success ? [] : issuesText(r.error);
}

export const awsVipwParamsSchema = z.object({
  resource: z.string().trim().min(1, 'name the awsvip resource to watch'),
});
export type AwsVipwParams = z.infer<typeof awsVipwParamsSchema>;

export const AWSVIPW_PARAMS: ParamDescription[] = [
  {
    name: 'resource',
    type: 'string',
    required: true,
    perServer: false,
    description: 'Name of the awsvip resource whose VIP route (and address) is watched.',
  },
];

export function parseAwsVipwParams(raw: Record<string, unknown>, monitor: string): AwsVipwParams {
  const r = awsVipwParamsSchema.safeParse(raw);
  if (!r.success) {
    throw driverError(AWSVIPW_MESSAGES, 'AWSVIPW_INVALID_PARAMS', monitor, issuesText(r.error).join('; '));
  }
  return r.data;
}

export function awsVipwParamsProblems(raw: Record<string, unknown>): string[] {
  const r = awsVipwParamsSchema.safeParse(raw);
  return r.success ? [] : issuesText(r.error);
}

// ---- IPv4 arithmetic (the VIP-inside-the-VPC check) ------------------------------------------------------

function ipv4Number(ip: string): number | null {
  if (!isIpv4(ip)) return null;
  return ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);
}

/** Whether `ip` lies inside `cidr` (`10.0.0.0/16`); false for anything malformed. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bits] = cidr.split('/');
  const prefix = Number(bits);
  const net = ipv4Number(base ?? '');
  const n = ipv4Number(ip);
  if (net === null || n === null || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return false;
  const size = 2 ** (32 - prefix);
  const start = net - (net % size);
  return n >= start && n < start + size;
}
