import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heartbeatKey, hmac } from '../shared/crypto.ts';
import { BugError, ConfigError } from '../shared/errors.ts';
import { sampleReport } from './test-support.ts';
import { MAX_PACKET_BYTES, decodeReport, encodeReport, unverifiedBody } from './wire.ts';

const key = heartbeatKey(Buffer.from('secret-one'));

void test('wire: a report survives encode and decode unchanged', () => {
  const report = sampleReport();
  const packet = encodeReport(report, key);
  assert.equal(packet.subarray(0, 4).toString('ascii'), 'TND1');
  assert.equal(packet.readUInt32BE(4), packet.length - 8 - 32);
  assert.deepEqual(decodeReport(packet, key, 'cluster1'), { ok: true, report });
});

void test('wire: fields unknown to this version are kept, not stripped', () => {
  const report = { ...sampleReport(), futureField: { x: 1 } };
  const decoded = decodeReport(encodeReport(report, key), key, 'cluster1');
  assert.ok(decoded.ok);
  assert.deepEqual((decoded.report as unknown as Record<string, unknown>).futureField, { x: 1 });
});

void test('wire: a flipped bit anywhere in the JSON or the MAC -> unsigned', () => {
  const packet = encodeReport(sampleReport(), key);
  for (const at of [8, 20, packet.length - 33, packet.length - 32, packet.length - 1]) {
    const bad = Buffer.from(packet);
    bad[at]! ^= 0x01;
    assert.deepEqual(decodeReport(bad, key, 'cluster1'), { ok: false, reason: 'unsigned' }, `byte ${at}`);
  }
});

void test('wire: a flipped bit in the framing -> malformed', () => {
  const packet = encodeReport(sampleReport(), key);
  for (const at of [0, 3, 7]) {
    const bad = Buffer.from(packet);
    bad[at]! ^= 0x01;
    assert.deepEqual(decodeReport(bad, key, 'cluster1'), { ok: false, reason: 'malformed' }, `byte ${at}`);
  }
});

void test('wire: another secret -> unsigned', () => {
  const packet = encodeReport(sampleReport(), heartbeatKey(Buffer.from('secret-two')));
  assert.deepEqual(decodeReport(packet, key, 'cluster1'), { ok: false, reason: 'unsigned' });
});

void test('wire: same secret, another cluster name -> foreign', () => {
  const packet = encodeReport(sampleReport({ cluster: 'cluster2' }), key);
  assert.deepEqual(decodeReport(packet, key, 'cluster1'), { ok: false, reason: 'foreign' });
});

void test('wire: garbage, truncation and bad JSON shapes -> malformed', () => {
  const packet = encodeReport(sampleReport(), key);
  const cases: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from('hello world, this is not a heartbeat packet at all!'),
    packet.subarray(0, packet.length - 1),
    Buffer.concat([packet, Buffer.from([0])]),
    Buffer.alloc(MAX_PACKET_BYTES + 1),
  ];
  for (const buf of cases)
    assert.deepEqual(decodeReport(buf, key, 'cluster1'), { ok: false, reason: 'malformed' });
  // Correctly signed but not a report: a sender bug, still malformed (never passed on).
  const signed = (json: string): Buffer => {
    const body = Buffer.from(json);
    const head = Buffer.alloc(8);
    head.write('TND1', 0, 'ascii');
    head.writeUInt32BE(body.length, 4);
    const unsigned = Buffer.concat([head, body]);
    return Buffer.concat([unsigned, hmac(key, unsigned)]);
  };
  assert.deepEqual(decodeReport(signed('{not json'), key, 'cluster1'), { ok: false, reason: 'malformed' });
  assert.deepEqual(decodeReport(signed('{"cluster":"cluster1"}'), key, 'cluster1'), {
    ok: false,
    reason: 'malformed',
  });
  const noSeq = { ...sampleReport(), seq: -1 };
  assert.deepEqual(decodeReport(signed(JSON.stringify(noSeq)), key, 'cluster1'), {
    ok: false,
    reason: 'malformed',
  });
});

void test('wire: an oversize packet is never produced and never accepted', () => {
  const huge = sampleReport({
    resources: Object.fromEntries(
      Array.from({ length: 4000 }, (_, i) => [`resource-${i}`, 'online' as const]),
    ),
  });
  assert.throws(
    () => encodeReport(huge, key),
    (err: unknown) => err instanceof ConfigError && /HEARTBEAT_TOO_LARGE/.test(err.message),
  );
  assert.equal(unverifiedBody(Buffer.alloc(MAX_PACKET_BYTES + 1)), null);
});

void test('wire: incarnations must come from newIncarnation: encode refuses, decode says malformed', () => {
  assert.throws(() => encodeReport(sampleReport({ incarnation: 'run-1' }), key), BugError);
  const good = encodeReport(sampleReport(), key);
  const text = good.toString('latin1').replace('001767225600000-0badcafe', '001767225600000-0BADCAFE');
  const body = Buffer.from(text, 'latin1').subarray(0, good.length - 32);
  const forged = Buffer.concat([body, hmac(key, body)]);
  assert.deepEqual(decodeReport(forged, key, 'cluster1'), { ok: false, reason: 'malformed' });
});

void test('wire: optional report fields (release, hold, resetEpochs) round-trip and are checked', () => {
  const report = sampleReport({
    groups: {
      failover1: {
        state: 'offline',
        claim: null,
        release: { id: 3, kind: 'move', to: 'node-2', rule: 'stable', reason: 'operator move' },
        hold: false,
      },
    },
    resetEpochs: { failover1: 2 },
  });
  assert.deepEqual(decodeReport(encodeReport(report, key), key, 'cluster1'), { ok: true, report });
  const bad = sampleReport({ resetEpochs: { failover1: 'x' as unknown as number } });
  assert.deepEqual(decodeReport(encodeReport(bad, key), key, 'cluster1'), { ok: false, reason: 'malformed' });
});
