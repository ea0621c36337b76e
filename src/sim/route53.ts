/**
 * The simulator's Route 53 REST-XML API (version 2013-04-01): ListHostedZones, GetHostedZone,
 * ChangeResourceRecordSets, ListResourceRecordSets and GetChange over a `Route53State`
 * (route53-state.ts). Responses and errors use AWS's element names, codes and messages, so the
 * unmodified SDK and the AWS CLI parse them; a change reads PENDING until `insyncDelayMs` has passed.
 *
 * `handleRoute53(req, state, nowMs)` is pure apart from the state object it mutates: the time comes in
 * as `nowMs` and ids come from a counter in the state, so tests replay exactly. server.ts routes every
 * path under `/2013-04-01/` here; the admin API uses `deleteRecord` and `listAll`.
 */
import type { SimRequest, SimResponse } from './http-types.ts';
import { child, children, parseXml, XmlSyntaxError, xmlEscape } from './route53-xml.ts';
import type { XmlElement } from './route53-xml.ts';
import {
  compareRecords,
  findZone,
  inZone,
  normaliseDnsName,
  publishRecords,
  rdataProblem,
  ROUTE53_NAMESPACE,
  RR_TYPES,
  stripPrefix,
} from './route53-state.ts';
import type { HostedZone, Route53Change, Route53Record, Route53State } from './route53-state.ts';

export {
  deleteRecord,
  emptyRoute53State,
  inZone,
  listAll,
  normaliseDnsName,
  parseRoute53World,
  publishedRecords,
  ROUTE53_NAMESPACE,
} from './route53-state.ts';
export type {
  HostedZone,
  HostedZoneView,
  PublishedZone,
  Route53Change,
  Route53Record,
  Route53State,
} from './route53-state.ts';
// ---------------------------------------------------------------------------------------------
// The REST-XML handler

class Route53Fault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'Route53Fault';
  }
}

function nextRequestId(state: Route53State): string {
  state.seq += 1;
  return `00000000-0000-4000-8000-${state.seq.toString(16).padStart(12, '0')}`;
}

function xmlResponse(status: number, requestId: string, body: string): SimResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
  };
}

function errorResponse(fault: Route53Fault, requestId: string): SimResponse {
  return xmlResponse(
    fault.status,
    requestId,
    `<ErrorResponse xmlns="${ROUTE53_NAMESPACE}"><Error><Type>Sender</Type><Code>${fault.code}</Code>` +
      `<Message>${xmlEscape(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  );
}

/** AWS answers an unsigned or half-signed request before anything else. */
function checkAuthorization(headers: Record<string, string>): void {
  const auth = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  if (auth === undefined || auth.trim() === '') {
    throw new Route53Fault(403, 'MissingAuthenticationToken', 'Missing Authentication Token');
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((p) => !new RegExp(`${p}=`).test(auth));
  if (!auth.startsWith('AWS4-HMAC-SHA256 ') || missing.length > 0) {
    const parts = (missing.length > 0 ? missing : ['Credential', 'SignedHeaders', 'Signature']).map(
      (p) => `Authorization header requires '${p}' parameter.`,
    );
    throw new Route53Fault(403, 'IncompleteSignature', `${parts.join(' ')} Authorization=${auth}`);
  }
}

function requireZone(state: Route53State, id: string): HostedZone {
  const zone = findZone(state, id);
  if (zone === undefined) {
    throw new Route53Fault(
      404,
      'NoSuchHostedZone',
      `No hosted zone found with ID: ${stripPrefix(id, 'hostedzone')}`,
    );
  }
  return zone;
}

function parseMaxItems(query: URLSearchParams, fallback: number): number {
  const raw = query.get('maxitems');
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Route53Fault(
      400,
      'InvalidInput',
      `Invalid value for maxitems: ${raw}. It must be a positive integer.`,
    );
  }
  return Math.min(n, fallback);
}

function zoneXml(zone: HostedZone): string {
  return (
    `<HostedZone><Id>/hostedzone/${zone.id}</Id><Name>${xmlEscape(zone.name)}</Name>` +
    `<CallerReference>${xmlEscape(zone.callerReference)}</CallerReference>` +
    `<Config><Comment>${xmlEscape(zone.comment)}</Comment><PrivateZone>${zone.private}</PrivateZone></Config>` +
    `<ResourceRecordSetCount>${zone.records.length}</ResourceRecordSetCount></HostedZone>`
  );
}

function recordXml(r: Route53Record): string {
  const values = r.values
    .map((v) => `<ResourceRecord><Value>${xmlEscape(v)}</Value></ResourceRecord>`)
    .join('');
  return (
    `<ResourceRecordSet><Name>${xmlEscape(r.name)}</Name><Type>${r.type}</Type><TTL>${r.ttl}</TTL>` +
    `<ResourceRecords>${values}</ResourceRecords></ResourceRecordSet>`
  );
}

function changeXml(change: Route53Change): string {
  const comment = change.comment === '' ? '' : `<Comment>${xmlEscape(change.comment)}</Comment>`;
  return (
    `<ChangeInfo><Id>/change/${change.id}</Id><Status>${change.status}</Status>` +
    `<SubmittedAt>${new Date(change.submittedAtMs).toISOString()}</SubmittedAt>${comment}</ChangeInfo>`
  );
}

function listHostedZones(state: Route53State, query: URLSearchParams): string {
  const maxItems = parseMaxItems(query, 100);
  const marker = query.get('marker');
  let start = 0;
  if (marker !== null) {
    start = state.hostedZones.findIndex((z) => z.id === stripPrefix(marker, 'hostedzone'));
    if (start === -1) throw new Route53Fault(400, 'InvalidInput', `Invalid marker: ${marker}`);
  }
  const page = state.hostedZones.slice(start, start + maxItems);
  const next = state.hostedZones[start + maxItems];
  const markerXml = marker === null ? '' : `<Marker>${xmlEscape(marker)}</Marker>`;
  const tail = next === undefined ? '' : `<NextMarker>${next.id}</NextMarker>`;
  return (
    `<ListHostedZonesResponse xmlns="${ROUTE53_NAMESPACE}"><HostedZones>${page.map(zoneXml).join('')}</HostedZones>` +
    `${markerXml}<IsTruncated>${next !== undefined}</IsTruncated>${tail}<MaxItems>${maxItems}</MaxItems>` +
    `</ListHostedZonesResponse>`
  );
}

function getHostedZone(state: Route53State, zone: HostedZone): string {
  const extra = zone.private
    ? `<VPCs>${zone.vpcs
        .map((v) => `<VPC><VPCRegion>${state.vpcRegion}</VPCRegion><VPCId>${xmlEscape(v)}</VPCId></VPC>`)
        .join('')}</VPCs>`
    : `<DelegationSet><NameServers>${[1, 2, 3, 4]
        .map((n) => `<NameServer>ns-${n}.awsdns-sim.tandem.invalid</NameServer>`)
        .join('')}</NameServers></DelegationSet>`;
  return `<GetHostedZoneResponse xmlns="${ROUTE53_NAMESPACE}">${zoneXml(zone)}${extra}</GetHostedZoneResponse>`;
}

function listResourceRecordSets(zone: HostedZone, query: URLSearchParams): string {
  const maxItems = parseMaxItems(query, 300);
  const startName = query.get('name');
  const startType = query.get('type');
  if (startType !== null && startName === null) {
    throw new Route53Fault(
      400,
      'InvalidInput',
      'The input is not valid: a type must be given together with a name.',
    );
  }
  if (startType !== null && !(RR_TYPES as readonly string[]).includes(startType)) {
    throw new Route53Fault(400, 'InvalidInput', `Invalid type: ${startType}`);
  }
  const sorted = [...zone.records].sort(compareRecords);
  let start = 0;
  if (startName !== null) {
    const from = { name: normaliseDnsName(startName), type: startType ?? '' };
    start = sorted.findIndex((r) => compareRecords(r, from) >= 0);
    if (start === -1) start = sorted.length;
  }
  const page = sorted.slice(start, start + maxItems);
  const next = sorted[start + maxItems];
  const tail =
    next === undefined
      ? ''
      : `<NextRecordName>${xmlEscape(next.name)}</NextRecordName><NextRecordType>${next.type}</NextRecordType>`;
  return (
    `<ListResourceRecordSetsResponse xmlns="${ROUTE53_NAMESPACE}">` +
    `<ResourceRecordSets>${page.map(recordXml).join('')}</ResourceRecordSets>` +
    `<IsTruncated>${next !== undefined}</IsTruncated>${tail}<MaxItems>${maxItems}</MaxItems>` +
    `</ListResourceRecordSetsResponse>`
  );
}

interface ParsedChange {
  action: string;
  record: Route53Record;
}

/** Reads the ChangeBatch; shape errors answer as AWS does (MalformedInput / InvalidInput). */
function parseChangeBatch(body: string): { comment: string; changes: ParsedChange[] } {
  let root: XmlElement;
  try {
    root = parseXml(body);
  } catch (error) {
    if (error instanceof XmlSyntaxError) {
      throw new Route53Fault(400, 'MalformedInput', `Could not parse the request body: ${error.message}`);
    }
    throw error;
  }
  const batch = child(root, 'ChangeBatch');
  const changeList = batch === undefined ? undefined : child(batch, 'Changes');
  if (root.name !== 'ChangeResourceRecordSetsRequest' || batch === undefined || changeList === undefined) {
    throw new Route53Fault(400, 'InvalidInput', 'Invalid XML ; ChangeBatch with Changes is required.');
  }
  const changes = children(changeList, 'Change');
  if (changes.length === 0) {
    throw new Route53Fault(
      400,
      'InvalidInput',
      "1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  const parsed = changes.map((c, i): ParsedChange => {
    const at = `changeBatch.changes.${i + 1}.member`;
    const action = child(c, 'Action')?.text.trim() ?? '';
    if (!['CREATE', 'DELETE', 'UPSERT'].includes(action)) {
      throw new Route53Fault(
        400,
        'InvalidInput',
        `1 validation error detected: Value '${action}' at '${at}.action' failed to satisfy constraint: Member must satisfy enum value set: [CREATE, DELETE, UPSERT]`,
      );
    }
    const rrset = child(c, 'ResourceRecordSet');
    const name = normaliseDnsName(rrset === undefined ? '' : (child(rrset, 'Name')?.text ?? ''));
    const type = rrset === undefined ? '' : (child(rrset, 'Type')?.text.trim() ?? '');
    if (!(RR_TYPES as readonly string[]).includes(type)) {
      throw new Route53Fault(
        400,
        'InvalidInput',
        `1 validation error detected: Value '${type}' at '${at}.resourceRecordSet.type' failed to satisfy constraint: Member must satisfy enum value set: [${RR_TYPES.join(', ')}]`,
      );
    }
    const ttlText = rrset === undefined ? undefined : child(rrset, 'TTL')?.text.trim();
    const rrs = rrset === undefined ? undefined : child(rrset, 'ResourceRecords');
    const values =
      rrs === undefined ? [] : children(rrs, 'ResourceRecord').map((r) => child(r, 'Value')?.text ?? '');
    if (ttlText === undefined || rrs === undefined || values.length === 0) {
      throw new Route53Fault(
        400,
        'InvalidInput',
        `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=${action}, Name=${name}, Type=${type}, SetIdentifier=null]`,
      );
    }
    const ttl = Number(ttlText);
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647) {
      throw new Route53Fault(
        400,
        'InvalidInput',
        `Invalid TTL ${ttlText} in Change with [Action=${action}, Name=${name}, Type=${type}]`,
      );
    }
    return { action, record: { name, type, ttl, values } };
  });
  return { comment: batch === undefined ? '' : (child(batch, 'Comment')?.text ?? ''), changes: parsed };
}

const sameValues = (a: Route53Record, b: Route53Record): boolean =>
  a.ttl === b.ttl && a.values.length === b.values.length && a.values.every((v, i) => v === b.values[i]);

/** Applies the batch atomically: every message is collected, and nothing changes if there is one. */
function changeResourceRecordSets(
  state: Route53State,
  zone: HostedZone,
  body: string,
  nowMs: number,
): string {
  const { comment, changes } = parseChangeBatch(body);
  const working = zone.records.map((r) => ({ ...r, values: [...r.values] }));
  const messages: string[] = [];
  for (const { action, record } of changes) {
    const label = `[name='${record.name}', type='${record.type}']`;
    if (!inZone(record.name, zone.name)) {
      messages.push(`RRSet with DNS name ${record.name} is not permitted in zone ${zone.name}`);
      continue;
    }
    const index = working.findIndex((r) => r.name === record.name && r.type === record.type);
    const existing = index === -1 ? undefined : working[index];
    if (action === 'DELETE') {
      if (existing === undefined)
        messages.push(`Tried to delete resource record set ${label} but it was not found`);
      else if (!sameValues(existing, record)) {
        messages.push(
          `Tried to delete resource record set ${label} but the values provided do not match the current values`,
        );
      } else working.splice(index, 1);
      continue;
    }
    if (action === 'CREATE' && existing !== undefined) {
      messages.push(`Tried to create resource record set ${label} but it already exists`);
      continue;
    }
    const problems = record.values.map((v) => rdataProblem(record.type, v)).filter((p) => p !== undefined);
    if (problems.length > 0) {
      messages.push(...problems);
      continue;
    }
    const conflict =
      record.type === 'CNAME'
        ? working.some((r) => r.name === record.name && r.type !== 'CNAME')
        : working.some((r) => r.name === record.name && r.type === 'CNAME');
    if (conflict) {
      messages.push(
        `RRSet of type CNAME with DNS name ${record.name} is not permitted as it conflicts with other records with the same DNS name in zone ${zone.name}`,
      );
      continue;
    }
    if (record.type === 'CNAME' && record.values.length > 1) {
      messages.push(
        `RRSet of type CNAME with DNS name ${record.name} is not permitted because it contains more than one value`,
      );
      continue;
    }
    if (existing === undefined) working.push(record);
    else working[index] = record;
  }
  if (messages.length > 0) {
    // AWS puts every message of the batch in one bracketed, comma-separated Message, e.g.
    // "[Tried to delete resource record set [name='x.', type='A'] but it was not found]".
    throw new Route53Fault(400, 'InvalidChangeBatch', `[${messages.join(', ')}]`);
  }
  zone.records = working.sort(compareRecords);
  state.seq += 1;
  const change: Route53Change = {
    id: `C${state.seq.toString(36).toUpperCase().padStart(13, '0')}`,
    status: state.insyncDelayMs <= 0 ? 'INSYNC' : 'PENDING',
    submittedAtMs: nowMs,
    insyncAtMs: nowMs + Math.max(0, state.insyncDelayMs),
    comment,
  };
  state.changes.set(change.id, change);
  publishRecords(zone, change.insyncAtMs);
  return `<ChangeResourceRecordSetsResponse xmlns="${ROUTE53_NAMESPACE}">${changeXml(change)}</ChangeResourceRecordSetsResponse>`;
}

function getChange(state: Route53State, id: string, nowMs: number): string {
  const change = state.changes.get(stripPrefix(id, 'change'));
  if (change === undefined) {
    throw new Route53Fault(
      404,
      'NoSuchChange',
      `A change with the specified change ID does not exist: ${stripPrefix(id, 'change')}`,
    );
  }
  if (change.status === 'PENDING' && nowMs >= change.insyncAtMs) change.status = 'INSYNC';
  return `<GetChangeResponse xmlns="${ROUTE53_NAMESPACE}">${changeXml(change)}</GetChangeResponse>`;
}

/**
 * Path segments after `/2013-04-01/`, URL-decoded, with an id the client sent in its prefixed form
 * (`/hostedzone/Z1`, encoded or not) folded back to the bare id.
 */
function routeSegments(path: string): string[] {
  const decoded = path
    .split('?')[0]!
    .split('/')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    })
    .join('/');
  const segs = decoded.split('/').filter((s) => s !== '');
  if (segs[1] !== undefined && segs[1] === segs[2]) segs.splice(2, 1);
  return segs.slice(1);
}

/** Serves one Route 53 request. `nowMs` decides PENDING vs INSYNC and the SubmittedAt of new changes. */
export function handleRoute53(req: SimRequest, state: Route53State, nowMs: number): SimResponse {
  const requestId = nextRequestId(state);
  try {
    checkAuthorization(req.headers);
    const segs = routeSegments(req.path);
    const method = req.method.toUpperCase();
    const [resource, id, sub] = segs;
    if (resource === 'hostedzone' && method === 'GET' && id === undefined) {
      return xmlResponse(200, requestId, listHostedZones(state, req.query));
    }
    if (resource === 'hostedzone' && id !== undefined && segs.length === 2 && method === 'GET') {
      return xmlResponse(200, requestId, getHostedZone(state, requireZone(state, id)));
    }
    if (resource === 'hostedzone' && id !== undefined && sub === 'rrset' && segs.length === 3) {
      if (method === 'GET')
        return xmlResponse(200, requestId, listResourceRecordSets(requireZone(state, id), req.query));
      if (method === 'POST') {
        return xmlResponse(
          200,
          requestId,
          changeResourceRecordSets(state, requireZone(state, id), req.body, nowMs),
        );
      }
    }
    if (resource === 'change' && id !== undefined && segs.length === 2 && method === 'GET') {
      return xmlResponse(200, requestId, getChange(state, id, nowMs));
    }
    throw new Route53Fault(
      400,
      'InvalidAction',
      `The Tandem simulator does not implement ${method} ${req.path} (supported: ListHostedZones, GetHostedZone, ChangeResourceRecordSets, ListResourceRecordSets, GetChange).`,
    );
  } catch (error) {
    if (error instanceof Route53Fault) return errorResponse(error, requestId);
    throw error;
  }
}
