/**
 * The simulator's DNS responder (issue 4 section 5, "a DNS responder on loopback for its private zones"):
 * a UDP server that plays the VPC's Route 53 Resolver for the world's hosted zones, so that a name
 * resolution check (awsdnsw, `tandem doctor`) can be tested against what Route 53 holds.
 *
 * - A queries for names inside a zone are answered from the zone's *published* record sets: a change is
 *   visible once it is INSYNC (route53-state.ts `publishedRecords`), so a resolver asked right after an
 *   UPSERT may still get the old address, as with Route 53. A CNAME inside the zones is followed.
 * - AAAA, ANY and every other type: NOERROR with no answer for an existing name.
 * - A name inside a zone that has no record (and nothing below it): NXDOMAIN.
 * - A name outside every zone: REFUSED. The responder stands for the resolver of the instances' VPCs, so
 *   a private zone counts only when it is associated with one of them that has `enableDnsSupport` on:
 *   otherwise that resolver does not know it (the mistakes of the `zone-not-associated` and
 *   `dns-support-off` worlds).
 *
 * The RFC 1035 codec is hand-written and minimal: one question, no EDNS (an OPT record in the query is
 * ignored), answers point back at the question's name by compression pointer. Names are matched
 * case-insensitively and the question is echoed byte for byte (0x20-randomising clients are fine).
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { inZone, normaliseDnsName, publishedRecords } from './route53.ts';
import type { World } from './world.ts';

export const DnsRcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type DnsRcode = (typeof DnsRcode)[keyof typeof DnsRcode];

export const DnsType = { A: 1, CNAME: 5, AAAA: 28, ANY: 255 } as const;
const CLASS_IN = 1;

export interface DnsQuestion {
  id: number;
  /** Recursion desired (echoed in the answer). */
  rd: boolean;
  /** The name as sent, without the trailing dot (`Srv.hz1.local`). */
  name: string;
  type: number;
  qclass: number;
  /** The question section's bytes, echoed verbatim in the response. */
  raw: Buffer;
}

export type DecodedQuery =
  { ok: true; question: DnsQuestion } | { ok: false; id: number; rd: boolean; rcode: DnsRcode } | undefined;

/**
 * Decodes a query. `undefined`: not worth an answer (too short, or a response); `ok: false`: answer with
 * the rcode (FORMERR, NOTIMP) and no question.
 */
export function decodeQuery(msg: Buffer): DecodedQuery {
  if (msg.length < 12) return undefined;
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  const rd = (flags & 0x0100) !== 0;
  if ((flags & 0x8000) !== 0) return undefined;
  if (((flags >> 11) & 0xf) !== 0) return { ok: false, id, rd, rcode: DnsRcode.NOTIMP };
  if (msg.readUInt16BE(4) !== 1) return { ok: false, id, rd, rcode: DnsRcode.FORMERR };
  const labels: string[] = [];
  let pos = 12;
  for (;;) {
    const len = msg[pos];
    if (len === undefined || (len & 0xc0) !== 0) return { ok: false, id, rd, rcode: DnsRcode.FORMERR };
    pos += 1;
    if (len === 0) break;
    if (pos + len > msg.length) return { ok: false, id, rd, rcode: DnsRcode.FORMERR };
    labels.push(msg.toString('latin1', pos, pos + len));
    pos += len;
  }
  if (pos + 4 > msg.length || pos - 12 > 255) return { ok: false, id, rd, rcode: DnsRcode.FORMERR };
  const type = msg.readUInt16BE(pos);
  const qclass = msg.readUInt16BE(pos + 2);
  return {
    ok: true,
    question: { id, rd, name: labels.join('.'), type, qclass, raw: Buffer.from(msg.subarray(12, pos + 4)) },
  };
}

/** One resource record of an answer. `name` undefined: the question's name (a compression pointer). */
export interface DnsAnswer {
  name?: string;
  type: number;
  ttl: number;
  /** A: dotted IPv4; CNAME: the target name. */
  data: string;
}

function encodeName(name: string): Buffer {
  const parts = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l !== '');
  const out: Buffer[] = parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([...out, Buffer.from([0])]);
}

function encodeRdata(a: DnsAnswer): Buffer {
  if (a.type === DnsType.A) return Buffer.from(a.data.split('.').map(Number));
  return encodeName(a.data);
}

/** Encodes a response: header (QR, AA, the query's RD), the echoed question, and the answers. */
export function encodeResponse(
  id: number,
  rd: boolean,
  rcode: DnsRcode,
  question: Buffer | undefined,
  answers: readonly DnsAnswer[],
): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | 0x0400 | (rd ? 0x0100 : 0) | rcode, 2);
  header.writeUInt16BE(question === undefined ? 0 : 1, 4);
  header.writeUInt16BE(question === undefined ? 0 : answers.length, 6);
  const rrs = (question === undefined ? [] : answers).map((a) => {
    const owner = a.name === undefined ? Buffer.from([0xc0, 12]) : encodeName(a.name);
    const rdata = encodeRdata(a);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(a.type, 0);
    fixed.writeUInt16BE(CLASS_IN, 2);
    fixed.writeUInt32BE(a.ttl >>> 0, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([owner, fixed, rdata]);
  });
  return Buffer.concat([header, ...(question === undefined ? [] : [question]), ...rrs]);
}

/** A zone as the resolver sees it: its name and the record sets published now. */
export interface DnsZoneView {
  name: string;
  records: ReadonlyArray<{ name: string; type: string; ttl: number; values: readonly string[] }>;
}

/**
 * The zones the resolver knows at `nowMs`. It stands for the Route 53 Resolver of the VPCs the instances
 * are in (of every VPC when the world has no instance): public zones, and private zones associated with one
 * of those VPCs that has DNS support on.
 */
export function visibleZones(world: World, nowMs: number): DnsZoneView[] {
  const withInstances = new Set(world.ec2.instances.map((i) => i.vpcId));
  const dnsVpcs = new Set(
    world.ec2.vpcs
      .filter((v) => v.enableDnsSupport && (withInstances.size === 0 || withInstances.has(v.id)))
      .map((v) => v.id),
  );
  return world.route53.hostedZones
    .filter((z) => !z.private || z.vpcs.some((v) => dnsVpcs.has(v)))
    .map((z) => ({ name: z.name, records: publishedRecords(z, nowMs) }));
}

/** Answers a question from the zones: the rcode and the answer records (pure). */
export function resolve(
  zones: readonly DnsZoneView[],
  qname: string,
  qtype: number,
): { rcode: DnsRcode; answers: DnsAnswer[] } {
  const answers: DnsAnswer[] = [];
  let name = normaliseDnsName(qname);
  // Follow CNAMEs inside the zones (bounded, so a loop cannot spin).
  for (let hop = 0; hop < 8; hop++) {
    const zone = zones.filter((z) => inZone(name, z.name)).sort((a, b) => b.name.length - a.name.length)[0];
    if (zone === undefined) return { rcode: hop === 0 ? DnsRcode.REFUSED : DnsRcode.NOERROR, answers };
    const owner = hop === 0 ? undefined : name;
    const here = zone.records.filter((r) => r.name === name);
    const exists =
      name === zone.name || here.length > 0 || zone.records.some((r) => r.name.endsWith(`.${name}`));
    if (!exists) return { rcode: DnsRcode.NXDOMAIN, answers };
    const cname = here.find((r) => r.type === 'CNAME');
    if (cname !== undefined && qtype !== DnsType.CNAME) {
      const target = cname.values[0] ?? '';
      answers.push({
        ...(owner === undefined ? {} : { name: owner }),
        type: DnsType.CNAME,
        ttl: cname.ttl,
        data: target,
      });
      name = normaliseDnsName(target);
      continue;
    }
    if (qtype === DnsType.A) {
      for (const r of here.filter((x) => x.type === 'A')) {
        for (const v of r.values)
          answers.push({
            ...(owner === undefined ? {} : { name: owner }),
            type: DnsType.A,
            ttl: r.ttl,
            data: v,
          });
      }
    }
    return { rcode: DnsRcode.NOERROR, answers };
  }
  return { rcode: DnsRcode.SERVFAIL, answers: [] };
}

/** Answers one datagram (pure apart from reading the world); undefined: send nothing. */
export function answerDatagram(msg: Buffer, zones: () => readonly DnsZoneView[]): Buffer | undefined {
  const q = decodeQuery(msg);
  if (q === undefined) return undefined;
  if (!q.ok) return encodeResponse(q.id, q.rd, q.rcode, undefined, []);
  const { question } = q;
  if (question.qclass !== CLASS_IN && question.qclass !== 255) {
    return encodeResponse(question.id, question.rd, DnsRcode.REFUSED, question.raw, []);
  }
  const { rcode, answers } = resolve(zones(), question.name, question.type);
  return encodeResponse(question.id, question.rd, rcode, question.raw, answers);
}

export interface DnsResponderOptions {
  world: World;
  host: string;
  port: number;
  now: () => number;
  /** Faults hitting one query (action `DNS`): `noAnswer` drops it, `latency` delays the answer. */
  takeFaults: () => Array<{ kind: string; latencyMs?: number }>;
  delay: (ms: number) => Promise<void>;
}

export interface DnsResponder {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startDnsResponder(opts: DnsResponderOptions): Promise<DnsResponder> {
  const socket: Socket = createSocket(opts.host.includes(':') ? 'udp6' : 'udp4');
  let closed = false;
  const onMessage = async (msg: Buffer, rinfo: { address: string; port: number }): Promise<void> => {
    const faults = opts.takeFaults();
    await opts.delay(faults.filter((f) => f.kind === 'latency').reduce((s, f) => s + (f.latencyMs ?? 0), 0));
    if (closed || faults.some((f) => f.kind === 'noAnswer')) return;
    const out = answerDatagram(msg, () => visibleZones(opts.world, opts.now()));
    if (out !== undefined) socket.send(out, rinfo.port, rinfo.address);
  };
  socket.on('message', (msg, rinfo) => {
    onMessage(msg, rinfo).catch(() => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(opts.port, opts.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // A send to a vanished client must not crash the simulator.
  socket.on('error', () => undefined);
  const addr = socket.address();
  return {
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        socket.close(() => resolve());
      }),
  };
}
