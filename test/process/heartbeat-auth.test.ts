/**
 * Multi-process test: a running daemon drops forged (wrong key), foreign-cluster and replayed heartbeat
 * packets and counts them (issue "Cluster core", section 5). The packets come from a raw UDP socket on
 * loopback; the counters are read from the local server's entry of the status document.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { makeClusterDir, ProcCluster } from './harness.ts';
import { encodeReport } from '../../src/adapters/wire.ts';
import { sampleReport } from '../../src/adapters/test-support.ts';
import { heartbeatKey } from '../../src/shared/crypto.ts';

test('forged, foreign and replayed heartbeats are dropped and counted', { timeout: 60_000 }, async () => {
  const cd = await makeClusterDir({
    servers: [
      { name: 'node-1', address: '127.0.0.1' },
      { name: 'node-2', address: '127.0.0.2' },
    ],
    body: `groups:
  - name: failover1
    resources:
      - { name: exec1, type: exec, start: "true", stop: "true" }
`,
  });
  const pc = new ProcCluster(cd);
  pc.start('node-1');
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.2', r));
  const send = (buf: Buffer) =>
    new Promise<void>((res, rej) =>
      sock.send(buf, cd.servers[0]!.udpPort, '127.0.0.1', (e) => (e ? rej(e) : res())),
    );
  try {
    const stats = async () => {
      const st = await pc.status('node-1');
      return st?.servers.find((s) => s.local)?.heartbeatStats ?? null;
    };
    const before = await pc.waitFor('daemon up', stats);
    const report = sampleReport({
      cluster: cd.clusterName,
      server: 'node-2',
      seq: 7,
      configHash: 'not-the-same',
    });
    const good = encodeReport(report, heartbeatKey(cd.secret));
    await send(encodeReport(report, heartbeatKey('some other secret'))); // forged
    await send(encodeReport({ ...report, cluster: 'other-cluster' }, heartbeatKey(cd.secret))); // foreign
    await send(good);
    await send(good); // replayed
    await send(Buffer.from('not a heartbeat')); // malformed
    const after = await pc.waitFor('counters', async () => {
      const s = await stats();
      return s && s.droppedReplayed > before.droppedReplayed && s.droppedMalformed > before.droppedMalformed
        ? s
        : null;
    });
    assert.equal(after.droppedUnsigned - before.droppedUnsigned, 1);
    assert.equal(after.droppedForeign - before.droppedForeign, 1);
    assert.equal(after.droppedReplayed - before.droppedReplayed, 1);
    assert.equal(after.droppedMalformed - before.droppedMalformed, 1);
    assert.ok(after.received > before.received);
  } finally {
    sock.close();
    await pc.dispose();
  }
});
