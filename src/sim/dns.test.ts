/**
 * The simulator's DNS responder through `node:dns` (c-ares) and through its codec: A answers with the
 * record's TTL (case-insensitive), NOERROR-empty for AAAA/ANY, NXDOMAIN inside a zone, REFUSED outside,
 * answers that change only once a Route 53 change is INSYNC, deletions behind the API's back, private zones
 * the VPC resolver does not know (not associated, DNS support off), CNAMEs, malformed queries and faults.
 */
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ChangeResourceRecordSetsCommand, GetChangeCommand, Route53Client } from '@aws-sdk/client-route-53';
import type { ChangeResourceRecordSetsCommandOutput } from '@aws-sdk/client-route-53';
import { answerDatagram, decodeQuery, DnsRcode, DnsType, encodeResponse, resolve } from './dns.ts';
import { DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY, DEMO_WORLD_FILE, WORLDS_DIR } from './main.ts';
import { createSimServer } from './server.ts';
import type { SimServer } from './server.ts';
import { loadWorld } from './world.ts';

let clock = Date.UTC(2026, 0, 1);
let sim: SimServer;
let r53: Route53Client;

function resolver(server: SimServer): Resolver {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`${server.dns.host}:${server.dns.port}`]);
  return r;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'no code';
  }
  return 'resolved';
}

const upsert = (ip: string): Promise<ChangeResourceRecordSetsCommandOutput> =>
  r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: 'Z0123456789ABC',
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'srv.hz1.local.',
              Type: 'A',
              TTL: 30,
              ResourceRecords: [{ Value: ip }],
            },
          },
        ],
      },
    }),
  );

before(async () => {
  const world = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
  sim = await createSimServer({ world, host: '127.0.0.1', port: 0, now: () => clock });
  r53 = new Route53Client({
    endpoint: sim.url,
    region: 'us-east-1',
    credentials: { accessKeyId: DEMO_ACCESS_KEY_ID, secretAccessKey: DEMO_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
});
after(async () => {
  r53.destroy();
  await sim.close();
});
beforeEach(() => sim.clearFaults());

describe('DNS answers from the hosted zones', () => {
  it('answers A with the record TTL, case-insensitively', async () => {
    assert.equal(sim.dns.host, '127.0.0.1');
    const r = resolver(sim);
    assert.deepEqual(await r.resolve4('srv.hz1.local', { ttl: true }), [{ address: '10.1.0.20', ttl: 60 }]);
    assert.deepEqual(await r.resolve4('SRV.Hz1.LOCAL'), ['10.1.0.20']);
  });

  it('NOERROR with no answer for AAAA, NXDOMAIN inside a zone, REFUSED outside every zone', async () => {
    const r = resolver(sim);
    assert.equal(await code(r.resolve6('srv.hz1.local')), 'ENODATA');
    assert.equal(await code(r.resolve4('hz1.local')), 'ENODATA', 'the zone apex exists');
    assert.equal(await code(r.resolve4('nope.hz1.local')), 'ENOTFOUND');
    assert.equal(await code(r.resolve4('example.com')), 'EREFUSED');
    assert.equal(await code(r.resolve4('hz1.local.example.com')), 'EREFUSED');
  });

  it('shows an UPSERT only once the change is INSYNC, like Route 53 propagation', async () => {
    sim.world.route53.insyncDelayMs = 1000;
    const r = resolver(sim);
    const change = await upsert('10.1.0.21');
    assert.equal(change.ChangeInfo?.Status, 'PENDING');
    assert.deepEqual(await r.resolve4('srv.hz1.local'), ['10.1.0.20'], 'still the old answer');
    clock += 999;
    assert.deepEqual(await r.resolve4('srv.hz1.local'), ['10.1.0.20']);
    clock += 1;
    const status = await r53.send(new GetChangeCommand({ Id: change.ChangeInfo?.Id ?? '' }));
    assert.equal(status.ChangeInfo?.Status, 'INSYNC');
    assert.deepEqual(await r.resolve4('srv.hz1.local', { ttl: true }), [{ address: '10.1.0.21', ttl: 30 }]);
    sim.world.route53.insyncDelayMs = 0;
    await upsert('10.1.0.20');
    assert.deepEqual(await r.resolve4('srv.hz1.local'), ['10.1.0.20'], 'no delay: visible at once');
  });

  it('a record deleted behind the API is gone for resolvers at once', async () => {
    const res = await fetch(`${sim.url}/_sim/record/delete`, {
      method: 'POST',
      body: JSON.stringify({ zoneId: 'Z0123456789ABC', name: 'srv.hz1.local.', type: 'A' }),
    });
    assert.equal(res.status, 200);
    assert.equal(await code(resolver(sim).resolve4('srv.hz1.local')), 'ENOTFOUND');
    sim.world.route53.insyncDelayMs = 0;
    await upsert('10.1.0.20');
  });

  it('DNS faults: noAnswer drops the query', async () => {
    sim.injectFault({ action: 'DNS', kind: 'noAnswer', count: 1 });
    assert.equal(await code(resolver(sim).resolve4('srv.hz1.local')), 'ETIMEOUT');
    assert.deepEqual(await resolver(sim).resolve4('srv.hz1.local'), ['10.1.0.20']);
  });
});

describe('private zones the VPC resolver does not know', () => {
  for (const [file, why] of [
    ['zone-not-associated.yaml', 'the zone is associated with another VPC only'],
    ['dns-support-off.yaml', 'the VPC has DNS support off'],
  ] as const) {
    it(`REFUSED in ${file} (${why})`, async () => {
      const path = join(WORLDS_DIR, file);
      const other = await createSimServer({
        world: loadWorld(readFileSync(path, 'utf8'), path),
        host: '127.0.0.1',
        port: 0,
      });
      try {
        assert.equal(await code(resolver(other).resolve4('srv.hz1.local')), 'EREFUSED');
      } finally {
        await other.close();
      }
    });
  }
});

describe('codec and resolution (pure)', () => {
  const query = (name: string, type: number, id = 0x1234): Buffer => {
    const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(type, 0);
    tail.writeUInt16BE(1, 2);
    const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    return Buffer.concat([header, ...labels, Buffer.from([0]), tail]);
  };
  const zones = [
    {
      name: 'hz1.local.',
      records: [
        { name: 'srv.hz1.local.', type: 'A', ttl: 60, values: ['10.1.0.20', '10.1.0.21'] },
        { name: 'www.hz1.local.', type: 'CNAME', ttl: 300, values: ['srv.hz1.local'] },
        { name: 'a.b.hz1.local.', type: 'TXT', ttl: 60, values: ['"x"'] },
      ],
    },
  ];

  it('encodes an A answer with a compression pointer to the question, and echoes id, RD and the question', () => {
    const q = query('Srv.hz1.local', DnsType.A);
    const out = answerDatagram(q, () => zones);
    assert.ok(out !== undefined);
    assert.equal(out.readUInt16BE(0), 0x1234);
    assert.equal(out.readUInt16BE(2), 0x8000 | 0x0400 | 0x0100 | DnsRcode.NOERROR);
    assert.equal(out.readUInt16BE(6), 2, 'two answers');
    assert.deepEqual(out.subarray(12, q.length), q.subarray(12), 'question echoed byte for byte');
    const rr = out.subarray(q.length);
    assert.deepEqual([...rr.subarray(0, 2)], [0xc0, 12]);
    assert.equal(rr.readUInt16BE(2), DnsType.A);
    assert.equal(rr.readUInt32BE(6), 60);
    assert.equal(rr.readUInt16BE(10), 4);
    assert.deepEqual([...rr.subarray(12, 16)], [10, 1, 0, 20]);
  });

  it('follows a CNAME inside the zones, treats names with descendants as existing, answers ANY empty', () => {
    const www = resolve(zones, 'www.hz1.local', DnsType.A);
    assert.equal(www.rcode, DnsRcode.NOERROR);
    assert.deepEqual(
      www.answers.map((a) => [a.name, a.type, a.data]),
      [
        [undefined, DnsType.CNAME, 'srv.hz1.local'],
        ['srv.hz1.local.', DnsType.A, '10.1.0.20'],
        ['srv.hz1.local.', DnsType.A, '10.1.0.21'],
      ],
    );
    assert.deepEqual(resolve(zones, 'b.hz1.local', DnsType.A), { rcode: DnsRcode.NOERROR, answers: [] });
    assert.deepEqual(resolve(zones, 'srv.hz1.local', DnsType.ANY), { rcode: DnsRcode.NOERROR, answers: [] });
    const encoded = encodeResponse(
      7,
      false,
      www.rcode,
      query('www.hz1.local', DnsType.A).subarray(12),
      www.answers,
    );
    assert.equal(encoded.readUInt16BE(6), 3);
  });

  it('refuses malformed queries with FORMERR, other opcodes with NOTIMP, and ignores responses and runts', () => {
    assert.equal(decodeQuery(Buffer.alloc(5)), undefined);
    const response = query('srv.hz1.local', DnsType.A);
    response[2] = 0x81;
    assert.equal(decodeQuery(response), undefined);
    const truncated = query('srv.hz1.local', DnsType.A).subarray(0, 20);
    assert.deepEqual(decodeQuery(truncated), { ok: false, id: 0x1234, rd: true, rcode: DnsRcode.FORMERR });
    const pointer = Buffer.concat([
      query('x', DnsType.A).subarray(0, 12),
      Buffer.from([0xc0, 12, 0, 1, 0, 1]),
    ]);
    assert.equal((decodeQuery(pointer) as { rcode: number }).rcode, DnsRcode.FORMERR);
    const notify = query('srv.hz1.local', DnsType.A);
    notify[2] = 0x20; // opcode 4 (NOTIFY)
    const out = answerDatagram(notify, () => zones);
    assert.equal((out?.readUInt16BE(2) ?? 0) & 0xf, DnsRcode.NOTIMP);
  });
});
