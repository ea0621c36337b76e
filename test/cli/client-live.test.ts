/**
 * The typed client against a real control API on a loopback port (fake DaemonControl behind it), plus the
 * failures that only a socket shows: connection refused, no answer in time, an answer that is not the API.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createApiServer } from '../../src/api/server.ts';
import type { ApiServer } from '../../src/api/server.ts';
import { closedPort, FakeControl, RecordingLogger, TOKEN } from '../fixtures/cli/fixtures.ts';
import { ApiClientError, TandemClient } from '../../src/client/client.ts';

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(a !== null && typeof a === 'object' ? a.port : 0);
    });
  });
}

async function rejectsWith(p: Promise<unknown>, check: (e: ApiClientError) => void): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiClientError, `expected ApiClientError, got ${String(err)}`);
    check(err);
    return true;
  });
}

describe('TandemClient against a live API', () => {
  let server: ApiServer;
  let control: FakeControl;
  let client: TandemClient;
  before(async () => {
    control = new FakeControl();
    server = await createApiServer({ control, token: TOKEN, log: new RecordingLogger() });
    await server.listen('127.0.0.1', 0);
    client = new TandemClient({ baseUrl: `http://127.0.0.1:${server.address().port}/`, token: TOKEN });
  });
  after(() => server.close());

  it('reads every document', async () => {
    const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
    assert.deepEqual(await client.status(), json(control.statusDoc));
    assert.equal((await client.cluster()).configHash, control.config.hash);
    assert.deepEqual((await client.servers()).servers, json(control.statusDoc.servers));
    assert.deepEqual((await client.groups()).groups, json(control.statusDoc.groups));
    assert.equal((await client.group('failover1')).server, 'node-1');
    assert.equal((await client.resources()).resources.length, 3);
    assert.deepEqual((await client.monitors()).monitors, json(control.statusDoc.monitors));
    assert.deepEqual(
      (await client.alerts({ after: 41, limit: 10 })).alerts.map((a) => a.seq),
      [42],
    );
    assert.deepEqual(control.lastAlertQuery, { afterSeq: 41, limit: 10 });
    assert.equal((await client.plan()).text, control.planText());
  });

  it('sends each operation to its route', async () => {
    control.operated.length = 0;
    await client.clusterStart();
    await client.clusterStop();
    await client.groupStart('failover1', { server: 'node-2' });
    await client.groupStop('failover1');
    await client.groupMove('failover1', { to: 'node-2' });
    await client.groupMove('failover2');
    await client.groupReset('failover2');
    await client.resourceStart('exec1');
    await client.resourceStop('exec1');
    await client.monitorSuspend('custom1');
    await client.monitorResume();
    assert.deepEqual(
      control.operated.map((o) => o.op),
      [
        { op: 'cluster-start' },
        { op: 'cluster-stop' },
        { op: 'group-start', group: 'failover1', server: 'node-2' },
        { op: 'group-stop', group: 'failover1' },
        { op: 'group-move', group: 'failover1', to: 'node-2' },
        { op: 'group-move', group: 'failover2' },
        { op: 'group-reset', group: 'failover2' },
        { op: 'resource-start', resource: 'exec1' },
        { op: 'resource-stop', resource: 'exec1' },
        { op: 'monitor-suspend', monitor: 'custom1' },
        { op: 'monitor-resume' },
      ],
    );
    assert.deepEqual(await client.groupStop('failover1'), {
      ok: true,
      message: 'group-stop done on node-1',
      server: 'node-1',
    });
  });

  it('encodes names in paths', async () => {
    await rejectsWith(client.group('a/b c'), (e) => {
      assert.equal(e.status, 404);
      assert.equal(e.object, 'group a/b c');
    });
  });

  it('turns an error answer into ApiClientError carrying the ErrorBody', async () => {
    control.reply = () => ({
      requestId: 'r',
      ok: false,
      code: 'SERVER_NOT_ELIGIBLE',
      object: 'failover1',
      message: 'node-2 has a failover mark for failover1',
      remedy: 'run tandem group reset failover1 once the cause is fixed',
    });
    await rejectsWith(client.groupMove('failover1', { to: 'node-2' }), (e) => {
      assert.equal(e.kind, 'http');
      assert.equal(e.status, 409);
      assert.equal(e.code, 'SERVER_NOT_ELIGIBLE');
      assert.equal(e.object, 'group failover1');
      assert.equal(e.message, 'node-2 has a failover mark for failover1');
      assert.equal(e.remedy, 'run tandem group reset failover1 once the cause is fixed');
    });
  });

  it('a wrong token is UNAUTHORIZED', async () => {
    const wrong = new TandemClient({ baseUrl: client.baseUrl, token: 'f'.repeat(64) });
    await rejectsWith(wrong.status(), (e) => {
      assert.equal(e.status, 401);
      assert.equal(e.code, 'UNAUTHORIZED');
    });
  });
});

describe('TandemClient failures without an API answer', () => {
  it('connection refused: names the URL and says to start the daemon', async () => {
    const port = await closedPort();
    const client = new TandemClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN });
    await rejectsWith(client.status(), (e) => {
      assert.equal(e.kind, 'connection');
      assert.equal(e.status, null);
      assert.equal(e.code, 'PEER_UNREACHABLE');
      assert.equal(e.message, `cannot reach the Tandem API at http://127.0.0.1:${port}: ECONNREFUSED`);
      assert.match(e.remedy, /^is the daemon running on that server\? start it with tandem daemon /);
    });
  });

  it('no answer in time: TIMEOUT', async () => {
    const pending = new Set<ServerResponse>();
    const srv = createServer((_req, res) => {
      pending.add(res);
    });
    const port = await listen(srv);
    try {
      const client = new TandemClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, timeoutMs: 150 });
      await rejectsWith(client.status(), (e) => {
        assert.equal(e.kind, 'timeout');
        assert.equal(e.code, 'TIMEOUT');
        assert.match(e.message, /did not answer within 150 ms/);
      });
    } finally {
      for (const res of pending) res.destroy();
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  for (const [what, status, body, pattern] of [
    ['a body that is not JSON', 200, '<html>hello</html>', /not JSON/],
    ['an error without an ErrorBody', 502, '{"message":"bad gateway"}', /HTTP 502 without an error body/],
  ] as const) {
    it(`an answer with ${what} is a protocol error`, async () => {
      const srv = createServer((_req, res) => {
        res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
      });
      const port = await listen(srv);
      try {
        const client = new TandemClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN });
        await rejectsWith(client.status(), (e) => {
          assert.equal(e.kind, 'protocol');
          assert.equal(e.status, status);
          assert.match(e.message, pattern);
          assert.match(e.remedy, /--host/);
        });
      } finally {
        srv.closeAllConnections();
        await new Promise<void>((resolve) => srv.close(() => resolve()));
      }
    });
  }

  it('sends the credential and JSON bodies (injected fetch)', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const fakeFetch = ((url: URL, init: RequestInit) => {
      seen.push({ url: url.toString(), init });
      return Promise.resolve(new Response(JSON.stringify({ ok: true, message: 'done' }), { status: 200 }));
    }) as unknown as typeof fetch;
    const client = new TandemClient({ baseUrl: 'http://[::1]:29003', token: TOKEN, fetch: fakeFetch });
    await client.clusterStop({ all: true });
    await client.forward('/groups/g1/stop', { x: 1 });
    assert.equal(seen[0]?.url, 'http://[::1]:29003/api/v1/cluster/stop');
    assert.equal(seen[0]?.init.body, '{"all":true}');
    assert.deepEqual(seen[0]?.init.headers, {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
    });
    assert.equal((seen[1]?.init.headers as Record<string, string>)['x-tandem-forwarded'], '1');
  });
});
