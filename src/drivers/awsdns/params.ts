/**
 * Parameters of the `awsdns` resource and the `awsdnsw` monitor (issue 4 sections 2-3), as compiled by the
 * config compiler (per-server overrides merged by `paramsFor`): the runtime schemas the drivers apply and the
 * descriptions `describe()` shows. The compiler already lowercases `recordName` and adds the trailing dot; the
 * driver checks it again because a mixed-case name is the seed's classic cause of code 50.
 */
import { isIP, isIPv4 } from 'node:net';
import { z } from 'zod';
import type { ParamDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { AWSDNS_MESSAGES, AWSDNSW_MESSAGES } from './errors.ts';

/** Lowercase FQDN with the trailing dot; the first label may be the wildcard `*`. */
const FQDN_RE = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+$/;

export const awsDnsParamsSchema = z.object({
  hostedZoneId: z.string().trim().min(1, 'set the hosted zone id (Z...)'),
  recordName: z
    .string()
    .max(254, 'a DNS name has at most 253 characters plus the trailing dot')
    .regex(FQDN_RE, 'must be a lowercase FQDN ending with a dot, such as srv.hz1.local.'),
  // null when neither the common params nor this server's override set it.
  ipAddress: z
    .string({ error: 'no address is set for this server (servers.<server>.ipAddress)' })
    .refine((s) => isIPv4(s), 'must be an IPv4 address'),
  ttl: z.number().int().min(0).max(2_147_483_647).default(300),
  deleteOnStop: z.boolean().default(true),
});
export type AwsDnsParams = z.infer<typeof awsDnsParamsSchema>;

export const awsDnsMonitorParamsSchema = z.object({
  resource: z.string().trim().min(1, 'name the awsdns resource to watch'),
  resolveCheck: z.boolean().default(false),
  resolver: z
    .string()
    .refine(
      (s) => parseResolver(s) !== null,
      'must be a host or IP address with an optional :port ([IPv6]:port)',
    )
    .nullable()
    .default(null),
});
export type AwsDnsMonitorParams = z.infer<typeof awsDnsMonitorParamsSchema>;

/** A host name label sequence (no trailing dot needed). */
const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * `10.0.0.2`, `10.0.0.2:5353`, `::1`, `[::1]:5353`, `ns1.example.com`, `ns1.example.com:5353` -> host and
 * port (53 by default); null when it is none of these. `ip` is false for a host name, which the monitor looks
 * up (getaddrinfo) before each check, since `dns.Resolver` only takes addresses.
 */
export function parseResolver(s: string): { host: string; port: number; ip: boolean } | null {
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  const hostPort = /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(s);
  if (bracketed) [, host = '', portText] = bracketed;
  else if (isIP(s) === 6) host = s;
  else if (hostPort) [, host = '', portText] = hostPort;
  else return null;
  const ip = isIP(host) !== 0;
  if (bracketed && isIP(host) !== 6) return null;
  if (!ip && (/^[0-9.]+$/.test(host) || !HOSTNAME_RE.test(host))) return null;
  const port = portText === undefined ? 53 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return null;
  return { host, port, ip };
}

/** The `dns.Resolver#setServers` form of an address and port. */
export function resolverServer(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

export const AWSDNS_PARAMS: ParamDescription[] = [
  {
    name: 'hostedZoneId',
    type: 'string',
    required: true,
    perServer: false,
    description: 'Id of the Route 53 hosted zone holding the record set (Z...).',
  },
  {
    name: 'recordName',
    type: 'string',
    required: true,
    perServer: false,
    description: 'Name of the A record set, an FQDN (lowercased; the trailing dot is added).',
  },
  {
    name: 'ipAddress',
    type: 'string',
    required: true,
    perServer: true,
    description:
      'IPv4 address the record points at while the resource is active on the server; set it per server when each server has its own address (the same value for all when it is a VIP or an EIP).',
  },
  {
    name: 'ttl',
    type: 'number',
    required: false,
    default: 300,
    perServer: false,
    description: 'TTL of the record set in seconds. Smaller values let clients follow a failover sooner.',
  },
  {
    name: 'deleteOnStop',
    type: 'boolean',
    required: false,
    default: true,
    perServer: false,
    description:
      'Delete the record set on deactivation (only while it still holds the address of this server). When false the record stays and the next activation only updates the address, which clients see sooner.',
  },
];

export const AWSDNSW_PARAMS: ParamDescription[] = [
  {
    name: 'resource',
    type: 'string',
    required: true,
    perServer: false,
    description: 'The awsdns resource whose record set is watched (set automatically for the added monitor).',
  },
  {
    name: 'resolveCheck',
    type: 'boolean',
    required: false,
    default: false,
    perServer: true,
    description:
      'Also resolve the name and check that it gives the address of this server (codes 54 and 55). Mind startWait: right after activation the change may not have propagated yet.',
  },
  {
    name: 'resolver',
    type: 'string',
    required: false,
    default: null,
    perServer: true,
    description:
      'DNS server for resolveCheck: host or IP address with an optional port (IPv6 as [addr]:port); by default the system resolver (/etc/resolv.conf).',
  },
];

function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`).join('; ');
}

/** Problems with awsdns params, as text (empty = fine). */
export function awsDnsParamsProblems(raw: Record<string, unknown>): string[] {
  const r = awsDnsParamsSchema.safeParse(raw);
  return r.success
    ? []
    : r.error.issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`);
}

/** Problems with awsdnsw params, as text (empty = fine). */
export function awsDnsMonitorParamsProblems(raw: Record<string, unknown>): string[] {
  const r = awsDnsMonitorParamsSchema.safeParse(raw);
  return r.success
    ? []
    : r.error.issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`);
}

/** Validate the merged params of an awsdns resource; throws AWSDNS_INVALID_PARAMS. */
export function parseAwsDnsParams(raw: Record<string, unknown>, resource: string): AwsDnsParams {
  const r = awsDnsParamsSchema.safeParse(raw);
  if (!r.success) throw driverError(AWSDNS_MESSAGES, 'AWSDNS_INVALID_PARAMS', resource, issuesText(r.error));
  return r.data;
}

/** Validate the merged params of an awsdnsw monitor; throws AWSDNSW_INVALID_PARAMS. */
export function parseAwsDnsMonitorParams(raw: Record<string, unknown>, monitor: string): AwsDnsMonitorParams {
  const r = awsDnsMonitorParamsSchema.safeParse(raw);
  if (!r.success) throw driverError(AWSDNSW_MESSAGES, 'AWSDNSW_INVALID_PARAMS', monitor, issuesText(r.error));
  return r.data;
}
