import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { RecordingLogger } from '../adapters/recording-logger.ts';
import { makeTestCert, sampleReport, skipUnlessRequired } from '../adapters/test-support.ts';
import { HttpWitnessClient } from '../adapters/witness-client.ts';
import { witnessKeyId } from '../adapters/witness-protocol.ts';
import { encodeReport } from '../adapters/wire.ts';
import type { CompiledWitness } from '../shared/config/types.ts';
import { heartbeatKey } from '../shared/crypto.ts';
import { WitnessStore, createWitnessServer } from './server.ts';
import type { WitnessServer } from './server.ts';

const SECRET = Buffer.from('cluster-one-secret');
const OTHER_SECRET = Buffer.from('another-secret');
let witnessNow = 10_000;
let witness: WitnessServer;
const witnessLog = new RecordingLogger();

function witnessConfig(port: number, over: Partial<CompiledWitness> = {}): CompiledWitness {
  return { target: '127.0.0.1', port, ssl: false, intervalMs: 1000, timeoutMs: 4000, ...over };
}

function client(self: string, secret: Buffer, port = witness.address.port): HttpWitnessClient {
  return new HttpWitnessClient({
    witness: witnessConfig(port),
    clusterName: 'cluster1',
    self,
    secret,
    log: new RecordingLogger(),
  });
}

function raw(
  method: string,
  path: string,
  headers: Record<string, string | number>,
  body?: Buffer,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: witness.address.port, method, path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString() || 'null'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  witness = await createWitnessServer({
    host: '127.0.0.1',
    port: 0,
    log: witnessLog,
    nowMs: () => witnessNow,
    wallMs: () => 1_767_225_600_000 + witnessNow,
  });
});
after(() => witness.close());

void test('witness: two servers of one cluster see each other with ages on the witness clock', async () => {
  const c1 = client('node-1', SECRET);
  const c2 = client('node-2', SECRET);
  const r1 = sampleReport({ server: 'node-1', seq: 1 });
  const r2 = sampleReport({ server: 'node-2', incarnation: '001767225600005-00000002', seq: 1 });

  const a1 = await c1.exchange(r1);
  assert.equal(a1.ok, true, a1.detail);
  assert.deepEqual(a1.peers, {});

  witnessNow += 250;
  const a2 = await c2.exchange(r2);
  assert.equal(a2.ok, true, a2.detail);
  assert.match(a2.detail, /^HTTP 200 in \d+ ms, 1 peers$/);
  assert.deepEqual(a2.peers, { 'node-1': { ageMs: 250, report: r1 } });

  witnessNow += 1000;
  const a3 = await c1.exchange({ ...r1, seq: 2 });
  assert.deepEqual(a3.peers, { 'node-2': { ageMs: 1000, report: r2 } });
  assert.ok(
    witnessLog.lines.every((l) => !JSON.stringify(l.fields).includes('TND1')),
    'packets are never logged',
  );
});

void test('witness: a cluster with the same name but another secret sees neither, and is not seen', async () => {
  const stranger = client('node-2', OTHER_SECRET);
  const a = await stranger.exchange(
    sampleReport({ server: 'node-2', incarnation: '001767225699999-ffffffff', seq: 1 }),
  );
  assert.equal(a.ok, true, a.detail);
  assert.deepEqual(a.peers, {});
  const a1 = await client('node-1', SECRET).exchange(sampleReport({ server: 'node-1', seq: 3 }));
  assert.equal(a1.peers['node-2']?.report?.incarnation, '001767225600005-00000002', 'still the real node-2');
  assert.notEqual(witnessKeyId(SECRET, 'cluster1'), witnessKeyId(OTHER_SECRET, 'cluster1'));
  assert.match(witnessKeyId(SECRET, 'cluster1'), /^[0-9a-f]{16}$/);
});

void test('witness: bad requests are refused with a JSON error', async () => {
  const packet = encodeReport(sampleReport({ server: 'node-7' }), heartbeatKey(SECRET));
  const headers = {
    'content-type': 'application/octet-stream',
    'x-tandem-cluster': 'cluster1',
    'x-tandem-key-id': witnessKeyId(SECRET, 'cluster1'),
  };
  const health = await raw('GET', '/v1/health', {});
  assert.equal(health.status, 200);
  assert.equal((health.json as { ok: boolean }).ok, true);
  assert.equal((await raw('GET', '/v1/heartbeat', {})).status, 405);
  assert.equal((await raw('POST', '/nope', headers, packet)).status, 404);
  assert.equal(
    (await raw('POST', '/v1/heartbeat', { ...headers, 'content-type': 'application/json' }, packet)).status,
    415,
  );
  const noKey = await raw('POST', '/v1/heartbeat', { ...headers, 'x-tandem-key-id': 'xyz' }, packet);
  assert.equal(noKey.status, 400);
  assert.equal((noKey.json as { error: { code: string } }).error.code, 'INVALID_REQUEST');
  const wrongCluster = await raw(
    'POST',
    '/v1/heartbeat',
    { ...headers, 'x-tandem-cluster': 'cluster2' },
    packet,
  );
  assert.equal((wrongCluster.json as { error: { code: string } }).error.code, 'MALFORMED_PACKET');
  assert.equal((await raw('POST', '/v1/heartbeat', headers, Buffer.from('garbage'))).status, 400);
  const big = await raw('POST', '/v1/heartbeat', headers, Buffer.alloc(64 * 1024 + 1));
  assert.equal(big.status, 413);
  assert.equal((big.json as { error: { code: string } }).error.code, 'BODY_TOO_LARGE');
});

void test('witness store: bounded clusters and servers, idle entries evicted after the retention', () => {
  const store = new WitnessStore({
    maxClusters: 2,
    maxServersPerCluster: 2,
    maxBodyBytes: 65536,
    retentionMs: 3_600_000,
  });
  const p = Buffer.from('p');
  assert.equal(store.post('a', '0000000000000001', 's1', p, 0).ok, true);
  assert.equal(
    store.post('a', '0000000000000002', 's1', p, 0).ok,
    true,
    'same name, other key id: another cluster',
  );
  const third = store.post('b', '0000000000000001', 's1', p, 0);
  assert.equal(third.ok, false);
  assert.equal(!third.ok && third.status, 503);
  assert.equal(!third.ok && third.body.error.code, 'WITNESS_FULL');
  assert.equal(store.post('a', '0000000000000001', 's2', p, 10).ok, true);
  assert.equal(store.post('a', '0000000000000001', 's3', p, 10).ok, false, 'third server of a cluster');
  assert.deepEqual(store.size(), { clusters: 2, servers: 3 });
  // An hour after s1's post (and cluster a/2's only post) those entries are gone; s2 posted later survives.
  const later = store.post('a', '0000000000000001', 's2', p, 3_600_005);
  assert.deepEqual(later.ok && later.peers, {});
  assert.deepEqual(store.size(), { clusters: 1, servers: 1 });
  const back = store.post('a', '0000000000000001', 's1', p, 3_600_011);
  assert.deepEqual(back.ok && back.peers, { s2: { ageMs: 6, packet: p } });
  assert.equal(
    store.post('b', '0000000000000001', 's1', p, 3_600_011).ok,
    true,
    'room for another cluster again',
  );
});

void test('witness: HTTPS with a certificate the client trusts', async (t) => {
  const made = makeTestCert();
  if ('missing' in made) {
    t.skip(skipUnlessRequired(made.missing));
    return;
  }
  const tlsWitness = await createWitnessServer({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: made.cert, key: made.key },
  });
  try {
    assert.match(tlsWitness.address.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const cfg = witnessConfig(tlsWitness.address.port, { ssl: true });
    const log = new RecordingLogger();
    const trusted = new HttpWitnessClient({
      witness: cfg,
      clusterName: 'cluster1',
      self: 'node-1',
      secret: SECRET,
      log,
      ca: made.cert,
    });
    const a = await trusted.exchange(sampleReport());
    assert.equal(a.ok, true, a.detail);
    const untrusted = new HttpWitnessClient({
      witness: cfg,
      clusterName: 'cluster1',
      self: 'node-1',
      secret: SECRET,
      log,
    });
    const b = await untrusted.exchange(sampleReport({ seq: 2 }));
    assert.equal(b.ok, false);
    assert.match(b.detail, /self[- ]signed|unable to verify/i);
  } finally {
    await tlsWitness.close();
  }
});
