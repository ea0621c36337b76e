/**
 * The simulator's Route 53 state: hosted zones and their record sets, changes with their PENDING ->
 * INSYNC timing, the world-file parser that seeds them (`hostedZones:`), the DNS-name rules Route 53
 * applies (lowercase FQDN with the trailing dot, listing order with the labels reversed, RDATA checks)
 * and the admin helpers (`deleteRecord`, `listAll`). route53.ts serves the REST-XML API over this state
 * and re-exports everything here, so other modules import from route53.ts only.
 */
import { z } from 'zod';
import { ConfigError } from '../shared/errors.ts';
import type { ConfigIssue } from '../shared/config/types.ts';
export const ROUTE53_NAMESPACE = 'https://route53.amazonaws.com/doc/2013-04-01/';

/** Record types the API accepts (AWS's RRType enum). The world file seeds only A, AAAA, CNAME, TXT. */
export const RR_TYPES = [
  'SOA',
  'A',
  'TXT',
  'NS',
  'CNAME',
  'MX',
  'NAPTR',
  'PTR',
  'SRV',
  'SPF',
  'AAAA',
  'CAA',
  'DS',
  'TLSA',
  'SSHFP',
  'SVCB',
  'HTTPS',
] as const;

export interface Route53Record {
  /** Lowercase FQDN with the trailing dot. */
  name: string;
  type: string;
  ttl: number;
  values: string[];
}

export interface HostedZone {
  /** Bare id, e.g. `Z0123456789ABC` (responses add the `/hostedzone/` prefix). */
  id: string;
  /** Lowercase FQDN with the trailing dot. */
  name: string;
  private: boolean;
  /** VPC ids associated with a private zone. */
  vpcs: string[];
  records: Route53Record[];
  callerReference: string;
  comment: string;
  /** What the DNS responder serves (see `publishedRecords`). */
  dns: PublishedZone;
}

/**
 * The record sets a zone's name servers answer with: those of the last change that became INSYNC. Route 53
 * applies a change to the API at once but propagates it to its name servers within about a minute; the
 * simulator models that with `insyncDelayMs`, so a resolver asked right after an UPSERT may still see the old
 * value.
 */
export interface PublishedZone {
  records: Route53Record[];
  /** Changes not yet propagated, oldest first: each full record list becomes visible at `atMs`. */
  pending: Array<{ atMs: number; records: Route53Record[] }>;
}

export interface Route53Change {
  /** Bare id, e.g. `C000000000001` (responses add the `/change/` prefix). */
  id: string;
  status: 'PENDING' | 'INSYNC';
  submittedAtMs: number;
  /** When GetChange starts answering INSYNC (submittedAtMs + the delay in force at submission). */
  insyncAtMs: number;
  comment: string;
}

export interface Route53State {
  hostedZones: HostedZone[];
  changes: Map<string, Route53Change>;
  /** How long a change stays PENDING. `tandem sim` sets 1000; tests set 0 or small values. */
  insyncDelayMs: number;
  /** Region reported for private-zone VPC associations (GetHostedZone `VPCRegion`). */
  vpcRegion: string;
  /** Counter behind change ids and request ids, so runs are reproducible. */
  seq: number;
}

// ---------------------------------------------------------------------------------------------
// Names

/** `WWW.Example.com` -> `www.example.com.` */
export function normaliseDnsName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** Whether `name` is the zone apex or below it (both normalised). */
export function inZone(name: string, zoneName: string): boolean {
  return name === zoneName || name.endsWith(`.${zoneName}`);
}

/** Route 53 lists record sets by name with the labels reversed (com.example.www), then by type. */
function recordOrderKey(name: string): string {
  return name.replace(/\.$/, '').split('.').reverse().join('.');
}

export function compareRecords(a: { name: string; type: string }, b: { name: string; type: string }): number {
  const ka = recordOrderKey(a.name);
  const kb = recordOrderKey(b.name);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIpv6(value: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(value) || !value.includes(':')) return false;
  const parts = value.split('::');
  if (parts.length > 2) return false;
  const groups = parts.flatMap((p) => (p === '' ? [] : p.split(':')));
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return parts.length === 2 ? groups.length < 8 : groups.length === 8;
}

/** AWS's RDATA check for the types whose values the simulator understands; undefined when valid. */
export function rdataProblem(type: string, value: string): string | undefined {
  if (type === 'A' && !IPV4.test(value)) {
    return `[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '${value}'']`;
  }
  if (type === 'AAAA' && !isIpv6(value)) {
    return `[Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '${value}'']`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// World file

const RecordSchema = z.object({
  name: z.string().min(1),
  type: z.enum(['A', 'AAAA', 'CNAME', 'TXT']),
  ttl: z.number().int().min(0).max(2147483647).optional(),
  values: z.array(z.string().min(1)).min(1),
});

const ZoneSchema = z.object({
  id: z
    .string()
    .regex(/^Z[A-Z0-9]{1,31}$/, 'a hosted zone id is Z followed by upper-case letters and digits'),
  name: z.string().min(1),
  private: z.boolean().optional(),
  vpcs: z.array(z.string()).optional(),
  records: z.array(RecordSchema).optional(),
});

const ZonesSchema = z.array(ZoneSchema);

function zodPath(path: readonly PropertyKey[]): string {
  let out = 'hostedZones';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  return out;
}

/** An empty Route 53 with the given delay (used when the world file has no `hostedZones`). */
export function emptyRoute53State(insyncDelayMs = 1000): Route53State {
  return { hostedZones: [], changes: new Map(), insyncDelayMs, vpcRegion: 'us-east-1', seq: 0 };
}

/**
 * Validates the world file's `hostedZones` (undefined means none) against the VPC ids the world
 * defines and builds the state. Throws a `ConfigError` whose issues name every problem by YAML path.
 */
export function parseRoute53World(rawHostedZones: unknown, vpcIds: string[]): Route53State {
  const state = emptyRoute53State();
  if (rawHostedZones === undefined || rawHostedZones === null) return state;
  const issues: ConfigIssue[] = [];
  const issue = (path: string, message: string, remedy: string): void => {
    issues.push({ severity: 'error', path, line: 0, col: 0, message, remedy });
  };
  const parsed = ZonesSchema.safeParse(rawHostedZones);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      issue(zodPath(i.path), i.message, 'Fix the hosted zone entry in the world file.');
    }
    throw worldError(issues);
  }
  const knownVpcs = new Set(vpcIds);
  const seenIds = new Set<string>();
  parsed.data.forEach((raw, zi) => {
    const at = `hostedZones[${zi}]`;
    if (seenIds.has(raw.id))
      issue(`${at}.id`, `Hosted zone id ${raw.id} is used twice.`, 'Give each zone its own id.');
    seenIds.add(raw.id);
    const isPrivate = raw.private ?? false;
    const vpcs = raw.vpcs ?? [];
    const unknown = vpcs.filter((v) => !knownVpcs.has(v));
    if (unknown.length > 0) {
      issue(
        `${at}.vpcs`,
        `Hosted zone ${raw.id} is associated with unknown VPC ${unknown.join(', ')}.`,
        `Use VPC ids defined under vpcs (${vpcIds.join(', ') || 'none defined'}).`,
      );
    }
    if (isPrivate && vpcs.length === 0) {
      issue(
        `${at}.vpcs`,
        `Private hosted zone ${raw.id} has no VPC.`,
        'List at least one VPC id under vpcs.',
      );
    }
    if (!isPrivate && vpcs.length > 0) {
      issue(
        `${at}.vpcs`,
        `Public hosted zone ${raw.id} cannot have VPCs.`,
        'Set private: true or remove vpcs.',
      );
    }
    const zoneName = normaliseDnsName(raw.name);
    const records: Route53Record[] = [];
    (raw.records ?? []).forEach((r, ri) => {
      const rat = `${at}.records[${ri}]`;
      const name = normaliseDnsName(r.name);
      if (!inZone(name, zoneName)) {
        issue(
          `${rat}.name`,
          `RRSet with DNS name ${name} is not permitted in zone ${zoneName}.`,
          `Use a name ending in ${zoneName}`,
        );
      }
      if (records.some((x) => x.name === name && x.type === r.type)) {
        issue(rat, `Record ${name} ${r.type} is defined twice.`, 'Merge the values into one record.');
      }
      if (
        r.type === 'CNAME'
          ? records.some((x) => x.name === name)
          : records.some((x) => x.name === name && x.type === 'CNAME')
      ) {
        issue(
          rat,
          `A CNAME record at ${name} conflicts with another record of that name.`,
          'A CNAME must be the only record of its name.',
        );
      }
      if (r.type === 'CNAME' && r.values.length > 1) {
        issue(`${rat}.values`, `CNAME ${name} has more than one value.`, 'Give a CNAME exactly one value.');
      }
      r.values.forEach((v, vi) => {
        const problem = rdataProblem(r.type, v);
        if (problem !== undefined) issue(`${rat}.values[${vi}]`, problem, `Use a valid ${r.type} value.`);
      });
      records.push({ name, type: r.type, ttl: r.ttl ?? 300, values: [...r.values] });
    });
    records.sort(compareRecords);
    state.hostedZones.push({
      id: raw.id,
      name: zoneName,
      private: isPrivate,
      vpcs: [...vpcs],
      records,
      callerReference: `tandem-sim-${raw.id}`,
      comment: '',
      dns: { records: copyRecords(records), pending: [] },
    });
  });
  if (issues.length > 0) throw worldError(issues);
  return state;
}

function worldError(issues: ConfigIssue[]): ConfigError {
  const lines = issues.map((i) => `  ${i.path}: ${i.message} ${i.remedy}`);
  return new ConfigError(
    `The world file's hostedZones has ${issues.length} problem(s):\n${lines.join('\n')}`,
    issues,
  );
}

// ---------------------------------------------------------------------------------------------
// Admin helpers

/** Deletes a record behind Tandem's back (admin API). Returns false when there was no such record. */
export function deleteRecord(state: Route53State, zoneId: string, name: string, type: string): boolean {
  const zone = findZone(state, zoneId);
  if (zone === undefined) return false;
  const fqdn = normaliseDnsName(name);
  const matches = (r: Route53Record): boolean => r.name === fqdn && r.type === type.toUpperCase();
  const index = zone.records.findIndex(matches);
  if (index === -1) return false;
  zone.records.splice(index, 1);
  // Someone deleting a record behind Tandem's back (the console, another tool) is seen by resolvers too,
  // and no change still propagating brings it back.
  for (const list of [zone.dns.records, ...zone.dns.pending.map((p) => p.records)]) {
    const i = list.findIndex(matches);
    if (i !== -1) list.splice(i, 1);
  }
  return true;
}

export function copyRecords(records: readonly Route53Record[]): Route53Record[] {
  return records.map((r) => ({ ...r, values: [...r.values] }));
}

/** Queues the zone's current record sets for the name servers, visible from `atMs` on. */
export function publishRecords(zone: HostedZone, atMs: number): void {
  zone.dns.pending.push({ atMs, records: copyRecords(zone.records) });
}

/**
 * The record sets the zone's name servers serve at `nowMs`. Changes propagate in the order they were made
 * (a later change never overtakes an earlier one that is still pending).
 */
export function publishedRecords(zone: HostedZone, nowMs: number): readonly Route53Record[] {
  const dns = zone.dns;
  while (dns.pending[0] !== undefined && dns.pending[0].atMs <= nowMs) {
    dns.records = dns.pending[0].records;
    dns.pending.shift();
  }
  return dns.records;
}

export interface HostedZoneView {
  id: string;
  name: string;
  private: boolean;
  vpcs: string[];
  records: Route53Record[];
}

/** Plain copies of every zone and its records in Route 53's listing order (for `tandem sim show`). */
export function listAll(state: Route53State): HostedZoneView[] {
  return state.hostedZones.map((z) => ({
    id: z.id,
    name: z.name,
    private: z.private,
    vpcs: [...z.vpcs],
    records: [...z.records].sort(compareRecords).map((r) => ({ ...r, values: [...r.values] })),
  }));
}

export function stripPrefix(id: string, prefix: 'hostedzone' | 'change'): string {
  return id.replace(new RegExp(`^/?${prefix}/`), '');
}

export function findZone(state: Route53State, id: string): HostedZone | undefined {
  const bare = stripPrefix(id, 'hostedzone');
  return state.hostedZones.find((z) => z.id === bare);
}
