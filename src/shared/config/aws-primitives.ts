/**
 * Value schemas of the AWS parts of the config (issue 4 sections 1-4): regions and availability zones,
 * resource ids (`vpc-`, `eni-`, `eipalloc-`, `i-`), hosted zone ids, record names, IPv4 addresses, the
 * proxy URL, a DNS resolver address and a Linux interface name. Each refusal says what is wrong and how
 * to write it; nothing is looked up here (`tandem doctor` checks that the objects exist).
 */
import { z } from 'zod';
import { formatHostPort, isIpv4, parseHostPort } from './address.ts';
import { issueText } from './primitives.ts';

/**
 * Region names: `us-east-1`, `ap-northeast-1`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`.
 * Two letters, one or more words, a number.
 */
const REGION_PATTERN = '^[a-z]{2}(-[a-z]+)+-\\d{1,2}$';
const REGION_RE = new RegExp(REGION_PATTERN);

/**
 * Availability zone names: a region plus a letter (`us-east-1a`), or a region plus a suffix for Local
 * Zones (`us-west-2-lax-1a`) and Wavelength Zones (`us-east-1-wl1-bos-wlz-1`).
 */
const AZ_PATTERN = '^[a-z]{2}(-[a-z]+)+-\\d{1,2}([a-z]|(-[a-z0-9]+)+)$';
const AZ_RE = new RegExp(AZ_PATTERN);

const str = (what: string, remedy: string) =>
  z.string({ error: issueText(`${what} must be a string`, remedy) });

/** A pattern-checked string whose refusal quotes the value. */
function patterned(what: string, re: RegExp, problem: (input: string) => string, remedy: string) {
  return str(what, remedy).regex(re, {
    error: (iss) => issueText(problem(String(iss.input)), remedy),
  });
}

export function regionSchema() {
  return patterned(
    'region',
    REGION_RE,
    (s) => `"${s}" is not an AWS region name`,
    'write a region such as us-east-1, ap-northeast-1 or us-gov-west-1, or remove region to take it from AWS_REGION, the profile or the instance metadata',
  );
}

/** The region an availability zone belongs to (`us-east-1a` -> `us-east-1`), or null for other forms. */
export function regionOfZone(zone: string): string | null {
  const m = /^([a-z]{2}(?:-[a-z]+)+-\d{1,2})(?:[a-z]|(?:-[a-z0-9]+)+)$/.exec(zone);
  return m?.[1] ?? null;
}

export function availabilityZoneSchema() {
  return patterned(
    'availabilityZone',
    AZ_RE,
    (s) =>
      /^[a-z]{2,4}\d-az\d+$/.test(s)
        ? `"${s}" is an availability zone id, not a zone name`
        : REGION_RE.test(s)
          ? `"${s}" is a region, not an availability zone`
          : `"${s}" is not an availability zone name`,
    "write the zone's name as EC2 shows it in the instance's details, e.g. us-east-1a",
  );
}

/**
 * An EC2 resource id: `prefix-` and lowercase hex digits (AWS uses 8 or 17; any count up to 17 is taken,
 * so ids of AWS-compatible endpoints and simulators work too).
 */
export function awsIdSchema(prefix: string, what: string, example: string) {
  return patterned(
    what,
    new RegExp(`^${prefix}-[0-9a-f]{1,17}$`),
    (s) => `"${s}" is not a valid ${what}`,
    `write ${prefix}- followed by the id's hex digits in lowercase, as the EC2 console shows it, e.g. ${example}`,
  );
}

/**
 * An EC2 instance id: `i-` and lowercase hex digits. AWS issues 8 (older) or 17; 8 to 17 are taken so
 * that the ids of the simulator's demo world and of the docs' examples (`i-0000000000000001`, 16 digits)
 * work too, while a truncated or overlong id is still refused.
 */
export function instanceIdSchema() {
  return patterned(
    'instanceId',
    /^i-[0-9a-f]{8,17}$/,
    (s) => `"${s}" is not a valid EC2 instance id`,
    'write the instance id as the EC2 console shows it: i- and 8 to 17 hex digits in lowercase, e.g. i-0123456789abcdef0 (on the instance: curl http://169.254.169.254/latest/meta-data/instance-id with an IMDSv2 token)',
  );
}

/** An IPv4 address without prefix length. */
export function ipv4Schema(what: string, example: string) {
  const remedy = `write an IPv4 address such as ${example}`;
  return str(what, remedy).refine((s) => isIpv4(s), {
    error: (iss) => {
      const s = String(iss.input);
      const slash = s.indexOf('/');
      if (slash > 0 && isIpv4(s.slice(0, slash)))
        return issueText(
          `"${s}" has a prefix length; ${what} is one address`,
          `write the address alone: ${s.slice(0, slash)}`,
        );
      return issueText(`"${s}" is not an IPv4 address`, remedy);
    },
  });
}

/** Route 53 hosted zone id: `Z...`, optionally written as `/hostedzone/Z...` (the form the API returns). */
export function hostedZoneIdSchema() {
  return patterned(
    'hostedZoneId',
    /^(\/hostedzone\/)?Z[A-Z0-9]{1,32}$/,
    (s) => `"${s}" is not a Route 53 hosted zone id`,
    'write the Hosted zone ID from the Route 53 console, e.g. Z0123456789ABC (uppercase letters and digits starting with Z)',
  );
}

/** `/hostedzone/Z123` -> `Z123`. */
export function bareHostedZoneId(id: string): string {
  return id.startsWith('/hostedzone/') ? id.slice('/hostedzone/'.length) : id;
}

const LABEL_RE = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** Why `s` is not a record name Tandem can manage, or null. */
function recordNameProblem(s: string): string | null {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name === '') return `"${s}" is not a fully qualified domain name`;
  if (name.length > 253) return `"${s}" is longer than 253 characters`;
  const labels = name.split('.');
  if (labels.some((l) => l === '')) return `"${s}" has an empty label ("..")`;
  // A wildcard record (`*.example.com`) is allowed as Route 53 allows it: `*` as the first label only.
  const bad = labels.find((l, i) => !LABEL_RE.test(l) && !(i === 0 && l === '*'));
  if (bad !== undefined)
    return `label "${bad}" of "${s}" is not 1-63 letters, digits, "-" or "_" (starting and ending with a letter, digit or "_")`;
  if (labels.length < 2) return `"${s}" is not a fully qualified domain name`;
  return null;
}

/** A DNS record name with at least two labels; `normalizeRecordName` gives the compiled form. */
export function recordNameSchema() {
  const remedy =
    'write the full name of the record in the hosted zone, e.g. srv.hz1.local. (the trailing dot is optional)';
  return str('recordName', remedy).refine((s) => recordNameProblem(s) === null, {
    error: (iss) => issueText(recordNameProblem(String(iss.input)) ?? 'not a record name', remedy),
  });
}

/** Lowercase FQDN with the trailing dot, as Route 53 stores it: `SRV.hz1.local` -> `srv.hz1.local.`. */
export function normalizeRecordName(s: string): string {
  const lower = s.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** `http://user:secret@host:3128` -> `http://user:***@host:3128`: messages never show a proxy password. */
export function maskUrlPassword(s: string): string {
  return s.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

function proxyProblem(s: string): string | null {
  const shown = `"${maskUrlPassword(s)}"`;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `${shown} is not a URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `${shown} is a ${u.protocol.slice(0, -1)} URL; only http:// and https:// proxies are supported`;
  if (u.hostname === '') return `${shown} names no host`;
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '')
    return `${shown} has a path, query or fragment; a proxy URL is scheme, host and port only`;
  return null;
}

/** An HTTP(S) proxy URL, `user:password@` allowed (percent-encoded). */
export function proxyUrlSchema() {
  const remedy =
    'write http://host:port or http://user:password@host:port (percent-encode special characters of the password), or remove proxy';
  return str('proxy', remedy).refine((s) => proxyProblem(s) === null, {
    error: (iss) => issueText(proxyProblem(String(iss.input)) ?? 'not a proxy URL', remedy),
  });
}

/** A DNS resolver: a host with an optional port (`10.0.0.2`, `10.0.0.2:53`, `[fd00::2]:53`, `ns1.example`). */
export function resolverSchema() {
  const remedy =
    "write the resolver's address or host name with an optional port, e.g. 10.0.0.2 or 10.0.0.2:53 (the VPC resolver is the VPC CIDR base + 2; IPv6 as [fd00::2]:53), or remove resolver to use the system resolver";
  return str('resolver', remedy).refine((s) => parseHostPort(s, 53).ok, {
    error: (iss) => {
      const r = parseHostPort(String(iss.input), 53);
      return issueText(r.ok ? 'not a resolver' : r.reason, remedy);
    },
  });
}

/** `10.0.0.2` -> `10.0.0.2:53`, `fd00::2` -> `[fd00::2]:53`: always `host:port`, IPv6 in brackets. */
export function compileResolver(s: string): string {
  const r = parseHostPort(s, 53);
  return r.ok ? formatHostPort(r.address, r.port) : s;
}

/**
 * A Linux network interface name: at most 15 characters (IFNAMSIZ - 1), no "/", white space or ":"
 * (an `eth0:1` alias label is not a device), and not `.` or `..`.
 */
export function interfaceNameSchema() {
  const remedy =
    'write the interface name as `ip -br addr` shows it, e.g. eth0 or ens5, or remove interface to use the one holding the ENI private address';
  return patterned(
    'interface',
    /^(?!\.\.?$)[^\s/:]{1,15}$/,
    (s) => `"${s}" is not a Linux interface name`,
    remedy,
  );
}

/**
 * The name of a resource's automatic AWS monitor, by the seed's rule: a resource whose name starts with
 * its type gets the monitor type in its place (`awsvip1` -> `awsvipw1`), any other gets
 * `<monitor type>-<name>` (`vip` -> `awsvipw-vip`).
 */
export function awsAutoMonitorName(resourceName: string, resourceType: string, monitorType: string): string {
  return resourceName.startsWith(resourceType)
    ? `${monitorType}${resourceName.slice(resourceType.length)}`
    : `${monitorType}-${resourceName}`;
}
