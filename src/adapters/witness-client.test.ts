import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { CompiledWitness } from '../shared/config/types.ts';
import { heartbeatKey } from '../shared/crypto.ts';
import { RecordingLogger } from './recording-logger.ts';
import { freeTcpPort, sampleReport } from './test-support.ts';
import { decodeReport, encodeReport } from './wire.ts';
import { HttpWitnessClient } from './witness-client.ts';
import { witnessKeyId } from './witness-protocol.ts';

const SECRET = Buffer.from('witness-client-secret');
const KEY = heartbeatKey(SECRET);

/** A fake (malicious or broken) witness: answers whatever the test sets, records what it got. */
let answer: { status: number; body: string } | 'hang' = { status: 200, body: '{"now":0,"peers":{}}' };
let lastRequest: { headers: IncomingHttpHeaders; body: Buffer } | null = null;
let fake: Server;
let port: number;
let clientNow = 1000;

before(async () => {
  fake = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      lastRequest = { headers: req.headers, body: Buffer.concat(chunks) };
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => fake.listen({ host: '127.0.0.1', port: 0 }, resolve));
  port = (fake.address() as AddressInfo).port;
});

after(
  () =>
    new Promise<void>((resolve) => {
      fake.close(() => resolve());
      fake.closeAllConnections();
    }),
);

function witness(over: Partial<CompiledWitness> = {}): CompiledWitness {
  return { target: '127.0.0.1', port, ssl: false, intervalMs: 1000, timeoutMs: 4000, ...over };
}

function newClient(over: Partial<CompiledWitness> = {}): HttpWitnessClient {
  return new HttpWitnessClient({
    witness: witness(over),
    clusterName: 'cluster1',
    self: 'node-1',
    secret: SECRET,
    log: new RecordingLogger(),
    nowMs: () => clientNow,
  });
}

function reply(peers: Record<string, { ageMs: number; packet: Buffer }>): void {
  const out: Record<string, { ageMs: number; packet: string }> = {};
  for (const [k, v] of Object.entries(peers))
    out[k] = { ageMs: v.ageMs, packet: v.packet.toString('base64') };
  answer = { status: 200, body: JSON.stringify({ now: 1_767_225_600_000, peers: out }) };
}

void test('witness client: posts a signed packet with the cluster name and key id', async () => {
  reply({});
  const report = sampleReport({ server: 'node-1', seq: 42 });
  const a = await newClient().exchange(report);
  assert.equal(a.ok, true, a.detail);
  assert.ok(lastRequest);
  assert.equal(lastRequest.headers['content-type'], 'application/octet-stream');
  assert.equal(lastRequest.headers['x-tandem-cluster'], 'cluster1');
  assert.equal(lastRequest.headers['x-tandem-key-id'], witnessKeyId(SECRET, 'cluster1'));
  assert.deepEqual(decodeReport(lastRequest.body, KEY, 'cluster1'), { ok: true, report });
});

void test('witness client: tampered, misfiled, foreign and garbage packets from a malicious witness are dropped', async () => {
  const good = sampleReport({ server: 'node-3', incarnation: '001767225600003-00000003', seq: 1 });
  const tampered = encodeReport(
    sampleReport({ server: 'node-2', incarnation: '001767225600002-00000002' }),
    KEY,
  );
  tampered[20]! ^= 0x04;
  reply({
    'node-1': { ageMs: 0, packet: encodeReport(sampleReport({ server: 'node-1' }), KEY) },
    'node-2': { ageMs: 10, packet: tampered },
    'node-3': { ageMs: 20, packet: encodeReport(good, KEY) },
    'node-4': { ageMs: 30, packet: encodeReport(good, KEY) },
    'node-5': { ageMs: 40, packet: encodeReport(sampleReport({ server: 'node-5', cluster: 'other' }), KEY) },
    'node-6': { ageMs: 50, packet: Buffer.from('not a packet') },
  });
  const c = newClient();
  const a = await c.exchange(sampleReport());
  assert.equal(a.ok, true, a.detail);
  assert.deepEqual(a.peers, {
    'node-2': { ageMs: 10, report: null },
    'node-3': { ageMs: 20, report: good },
    'node-4': { ageMs: 30, report: null },
    'node-5': { ageMs: 40, report: null },
    'node-6': { ageMs: 50, report: null },
  });
  assert.deepEqual(c.stats(), {
    exchanges: 1,
    failures: 0,
    droppedUnsigned: 1,
    droppedForeign: 1,
    droppedMalformed: 1,
    droppedReplayed: 0,
    droppedMismatched: 1,
  });
});

void test('witness client: a packet re-posted to the witness is aged from its first sighting; an older one is a replay', async () => {
  const c = newClient();
  const r5 = sampleReport({ server: 'node-2', incarnation: '001767225600002-00000002', seq: 5 });
  clientNow = 10_000;
  reply({ 'node-2': { ageMs: 100, packet: encodeReport(r5, KEY) } });
  assert.deepEqual((await c.exchange(sampleReport())).peers, { 'node-2': { ageMs: 100, report: r5 } });

  clientNow = 13_000; // the witness claims the same packet just arrived again
  reply({ 'node-2': { ageMs: 0, packet: encodeReport(r5, KEY) } });
  assert.deepEqual((await c.exchange(sampleReport())).peers, { 'node-2': { ageMs: 3100, report: r5 } });

  clientNow = 14_000;
  reply({ 'node-2': { ageMs: 0, packet: encodeReport({ ...r5, seq: 4 }, KEY) } });
  assert.deepEqual((await c.exchange(sampleReport())).peers, { 'node-2': { ageMs: 4100, report: null } });
  assert.equal(c.stats().droppedReplayed, 1);

  clientNow = 15_000; // a real new report is accepted with the witness's age
  const r6 = { ...r5, seq: 6 };
  reply({ 'node-2': { ageMs: 7, packet: encodeReport(r6, KEY) } });
  assert.deepEqual((await c.exchange(sampleReport())).peers, { 'node-2': { ageMs: 7, report: r6 } });
});

void test('witness client: errors, bad answers, refusals and silence resolve as not ok', async () => {
  answer = {
    status: 503,
    body: JSON.stringify({
      error: { code: 'WITNESS_FULL', object: 'cluster1', message: 'full', remedy: 'x' },
    }),
  };
  assert.deepEqual(await newClient().exchange(sampleReport()), {
    ok: false,
    detail: 'HTTP 503 WITNESS_FULL: full',
    peers: {},
  });

  answer = { status: 200, body: '{"now":1,"peers":{"node-2":{"ageMs":-5,"packet":""}}}' };
  const bad = await newClient().exchange(sampleReport());
  assert.equal(bad.ok, false);
  assert.match(bad.detail, /not valid JSON of the protocol/);

  const closed = await freeTcpPort('127.0.0.1');
  const refused = await newClient({ port: closed }).exchange(sampleReport());
  assert.deepEqual(refused, { ok: false, detail: `connect ECONNREFUSED 127.0.0.1:${closed}`, peers: {} });

  answer = 'hang';
  const c = newClient({ timeoutMs: 300 });
  assert.equal(c.requestTimeoutMs, 200, 'half the witness timeout, at least 200 ms');
  const t0 = performance.now();
  const silent = await c.exchange(sampleReport());
  const took = performance.now() - t0;
  assert.deepEqual(silent, { ok: false, detail: 'timeout after 200 ms', peers: {} });
  assert.ok(took >= 190 && took < 1000, `took ${took} ms`);
  assert.equal(c.stats().failures, 1);
});
