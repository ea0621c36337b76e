/**
 * Control API tests through `app.inject()` with a fake DaemonControl (no sockets), except the forwarding
 * tests, which run a second API (the peer) on a loopback port.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OperatorOp } from '../core/types.ts';
import { OperationError } from '../shared/errors.ts';
import {
  closedPort,
  FakeControl,
  RecordingLogger,
  sampleMirrors,
  TOKEN,
} from '../../test/fixtures/cli/fixtures.ts';
import type { ApiServer } from './server.ts';
import { createApiServer } from './server.ts';

const auth = { authorization: `Bearer ${TOKEN}` };

async function api(control = new FakeControl(), log = new RecordingLogger()): Promise<ApiServer> {
  return createApiServer({ control, token: TOKEN, log });
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

async function call(
  server: ApiServer,
  method: 'GET' | 'POST',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = auth,
): Promise<Answer> {
  const res = await server.app.inject({
    method,
    url,
    headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(payload === undefined
      ? {}
      : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
  });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

function errorOf(a: Answer): { code: string; object: string; message: string; remedy: string } {
  const e = a.body['error'] as { code: string; object: string; message: string; remedy: string } | undefined;
  assert.ok(e, `expected an ErrorBody, got ${JSON.stringify(a.body)}`);
  assert.deepEqual(Object.keys(a.body), ['error']);
  for (const k of ['code', 'object', 'message', 'remedy'] as const) assert.equal(typeof e[k], 'string');
  return e;
}

describe('control API: authentication', () => {
  let s: ApiServer;
  const log = new RecordingLogger();
  before(async () => {
    s = await api(new FakeControl(), log);
  });
  after(() => s.close());

  for (const [what, headers] of [
    ['no credential', {}],
    ['a wrong token', { authorization: `Bearer ${'b'.repeat(64)}` }],
    ['a token of another length', { authorization: 'Bearer abc' }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
  ] as const) {
    it(`refuses a request with ${what}: 401 ErrorBody UNAUTHORIZED`, async () => {
      const a = await call(s, 'GET', '/api/v1/status', undefined, headers);
      assert.equal(a.status, 401);
      const e = errorOf(a);
      assert.equal(e.code, 'UNAUTHORIZED');
      assert.equal(e.object, 'api');
      assert.match(e.remedy, /--config/);
      assert.equal(a.headers['www-authenticate'], 'Bearer realm="tandem"');
    });
  }

  it('refuses unauthenticated POSTs before looking at them, and unknown routes too', async () => {
    assert.equal((await call(s, 'POST', '/api/v1/cluster/stop', {}, {})).status, 401);
    assert.equal((await call(s, 'GET', '/api/v1/nothing-here', undefined, {})).status, 401);
  });

  it('logs refusals without the credential', () => {
    const refused = log.lines.filter((l) => l.level === 'warn');
    assert.ok(refused.length > 0);
    assert.ok(!JSON.stringify(log.lines).includes(TOKEN));
    assert.ok(!JSON.stringify(log.lines).includes('b'.repeat(64)));
  });

  it('accepts the scheme in any case', async () => {
    const a = await call(s, 'GET', '/api/v1/cluster', undefined, { authorization: `bearer ${TOKEN}` });
    assert.equal(a.status, 200);
  });

  it('refuses to start with an empty token', async () => {
    await assert.rejects(createApiServer({ control: new FakeControl(), token: '', log }), /empty API token/);
  });
});

describe('control API: reads', () => {
  let s: ApiServer;
  let control: FakeControl;
  before(async () => {
    control = new FakeControl();
    s = await api(control);
  });
  after(() => s.close());

  it('GET /status answers the whole StatusDoc, keeping fields the schema does not list', async () => {
    const doc = { ...control.statusDoc, extra: { added: 'later' } };
    control.statusDoc = doc;
    const a = await call(s, 'GET', '/api/v1/status');
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, JSON.parse(JSON.stringify(doc)));
  });

  it('GET /cluster', async () => {
    const a = await call(s, 'GET', '/api/v1/cluster');
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, {
      name: 'cluster1',
      state: 'degraded',
      warnings: control.statusDoc.cluster.warnings,
      server: 'node-1',
      configHash: control.config.hash,
      servers: ['node-1', 'node-2'],
    });
  });

  it('GET /servers, /groups, /monitors', async () => {
    const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
    assert.deepEqual((await call(s, 'GET', '/api/v1/servers')).body, {
      servers: json(control.statusDoc.servers),
    });
    assert.deepEqual((await call(s, 'GET', '/api/v1/groups')).body, {
      groups: json(control.statusDoc.groups),
    });
    assert.deepEqual((await call(s, 'GET', '/api/v1/monitors')).body, {
      monitors: json(control.statusDoc.monitors),
    });
  });

  it('GET /groups/:name answers one group, 404 NOT_FOUND listing the valid names otherwise', async () => {
    const a = await call(s, 'GET', '/api/v1/groups/failover2');
    assert.equal(a.status, 200);
    assert.equal(a.body['name'], 'failover2');
    const b = await call(s, 'GET', '/api/v1/groups/nope');
    assert.equal(b.status, 404);
    const e = errorOf(b);
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e.object, 'group nope');
    assert.match(e.message, /valid groups: failover1, failover2/);
  });

  it('GET /resources lists every resource with its group and server', async () => {
    const a = await call(s, 'GET', '/api/v1/resources');
    assert.deepEqual(
      (a.body['resources'] as { name: string; group: string; server: string | null }[]).map((r) => [
        r.name,
        r.group,
        r.server,
      ]),
      [
        ['exec1', 'failover1', 'node-1'],
        ['exec2', 'failover1', 'node-1'],
        ['exec3', 'failover2', null],
      ],
    );
  });

  it('GET /alerts passes after and limit, defaulting limit to 100', async () => {
    const a = await call(s, 'GET', '/api/v1/alerts?after=41&limit=5');
    assert.equal(a.status, 200);
    assert.deepEqual(control.lastAlertQuery, { afterSeq: 41, limit: 5 });
    assert.deepEqual(
      (a.body['alerts'] as { seq: number }[]).map((x) => x.seq),
      [42],
    );
    await call(s, 'GET', '/api/v1/alerts');
    assert.deepEqual(control.lastAlertQuery, { limit: 100 });
  });

  for (const q of ['limit=0', 'limit=abc', 'after=-1', 'limit=10001', 'since=3']) {
    it(`GET /alerts?${q} is a 400 INVALID_REQUEST ErrorBody`, async () => {
      const a = await call(s, 'GET', `/api/v1/alerts?${q}`);
      assert.equal(a.status, 400);
      assert.equal(errorOf(a).code, 'INVALID_REQUEST');
    });
  }

  it('GET /plan answers the plan and the daemon text', async () => {
    const a = await call(s, 'GET', '/api/v1/plan');
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, { plan: control.plan(), text: control.planText() });
  });

  it('an unknown route is a 404 ErrorBody', async () => {
    const a = await call(s, 'GET', '/api/v1/nothing-here?x=1');
    assert.equal(a.status, 404);
    const e = errorOf(a);
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e.object, 'api GET /api/v1/nothing-here');
  });

  it('a daemon exception is a 500 ErrorBody and is logged', async () => {
    const log = new RecordingLogger();
    const broken = new FakeControl();
    broken.status = () => {
      throw new Error('snapshot unavailable');
    };
    const b = await api(broken, log);
    try {
      const a = await call(b, 'GET', '/api/v1/status');
      assert.equal(a.status, 500);
      const e = errorOf(a);
      assert.equal(e.code, 'OPERATION_FAILED');
      assert.match(e.message, /snapshot unavailable/);
      assert.ok(log.lines.some((l) => l.level === 'error'));
    } finally {
      await b.close();
    }
  });

  it('a status document missing a required field is a 500, not a silently wrong answer', async () => {
    const bad = new FakeControl();
    bad.statusDoc = { ...bad.statusDoc, servers: undefined } as unknown as typeof bad.statusDoc;
    const b = await api(bad);
    try {
      assert.equal((await call(b, 'GET', '/api/v1/status')).status, 500);
    } finally {
      await b.close();
    }
  });
});

describe('control API: operations', () => {
  let s: ApiServer;
  let control: FakeControl;
  before(async () => {
    control = new FakeControl();
    s = await api(control);
  });
  after(() => s.close());

  const cases: [string, unknown, OperatorOp][] = [
    ['/cluster/start', {}, { op: 'cluster-start' }],
    ['/cluster/stop', undefined, { op: 'cluster-stop' }],
    ['/groups/failover1/start', {}, { op: 'group-start', group: 'failover1' }],
    [
      '/groups/failover1/start',
      { server: 'node-2' },
      { op: 'group-start', group: 'failover1', server: 'node-2' },
    ],
    ['/groups/failover1/stop', {}, { op: 'group-stop', group: 'failover1' }],
    ['/groups/failover1/move', {}, { op: 'group-move', group: 'failover1' }],
    ['/groups/failover1/move', { to: 'node-2' }, { op: 'group-move', group: 'failover1', to: 'node-2' }],
    ['/groups/failover2/reset', {}, { op: 'group-reset', group: 'failover2' }],
    ['/resources/exec3/start', {}, { op: 'resource-start', resource: 'exec3' }],
    ['/resources/exec1/stop', {}, { op: 'resource-stop', resource: 'exec1' }],
    ['/monitors/suspend', {}, { op: 'monitor-suspend' }],
    ['/monitors/suspend', { monitor: 'custom1' }, { op: 'monitor-suspend', monitor: 'custom1' }],
    ['/monitors/resume', { monitor: 'pidw1' }, { op: 'monitor-resume', monitor: 'pidw1' }],
    ['/monitors/resume', undefined, { op: 'monitor-resume' }],
    ['/servers/node-2/confirm-down', {}, { op: 'confirm-down', server: 'node-2' }],
  ];
  for (const [path, body, op] of cases) {
    it(`POST ${path} ${JSON.stringify(body ?? null)} -> operate(${JSON.stringify(op)})`, async () => {
      control.operated.length = 0;
      const a = await call(s, 'POST', `/api/v1${path}`, body);
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, { ok: true, message: `${op.op} done on node-1`, server: 'node-1' });
      assert.deepEqual(control.operated, [{ op, forwarded: false, timeoutMs: 300_000 }]);
    });
  }

  const notFound: [string, unknown, string, RegExp][] = [
    ['/groups/nope/start', {}, 'group nope', /valid groups: failover1, failover2/],
    ['/groups/nope/reset', {}, 'group nope', /valid groups/],
    ['/groups/failover1/move', { to: 'node-9' }, 'server node-9', /valid servers: node-1, node-2/],
    ['/groups/failover1/start', { server: 'node-9' }, 'server node-9', /valid servers/],
    ['/resources/nope/stop', {}, 'resource nope', /valid resources: exec1, exec2, exec3/],
    ['/monitors/resume', { monitor: 'nope' }, 'monitor nope', /valid monitors: custom1, pidw1/],
    ['/servers/node-9/confirm-down', {}, 'server node-9', /valid servers: node-1, node-2/],
  ];
  for (const [path, body, object, message] of notFound) {
    it(`POST ${path} ${JSON.stringify(body)}: 404 NOT_FOUND naming ${object}`, async () => {
      control.operated.length = 0;
      const a = await call(s, 'POST', `/api/v1${path}`, body);
      assert.equal(a.status, 404);
      const e = errorOf(a);
      assert.equal(e.code, 'NOT_FOUND');
      assert.equal(e.object, object);
      assert.match(e.message, message);
      assert.deepEqual(control.operated, []);
    });
  }

  const invalid: [string, string, RegExp][] = [
    ['/groups/failover1/move', JSON.stringify({ target: 'node-2' }), /additional properties/],
    ['/groups/failover1/stop', JSON.stringify({ force: true }), /additional properties/],
    ['/cluster/stop', JSON.stringify({ all: 'everything' }), /boolean/],
    ['/groups/failover1/move', JSON.stringify({ to: '' }), /fewer than 1/],
    ['/groups/failover1/move', JSON.stringify(['node-2']), /object/],
    ['/groups/failover1/move', '{"to":', /JSON/i],
  ];
  for (const [path, payload, message] of invalid) {
    it(`POST ${path} ${payload}: 400 INVALID_REQUEST ErrorBody`, async () => {
      const a = await call(s, 'POST', `/api/v1${path}`, payload);
      assert.equal(a.status, 400);
      const e = errorOf(a);
      assert.equal(e.code, 'INVALID_REQUEST');
      assert.match(e.message, message);
    });
  }

  const refusals: [string, number][] = [
    ['SERVER_NOT_ELIGIBLE', 409],
    ['ALREADY_ONLINE', 409],
    ['OPERATION_FAILED', 409],
    ['CLUSTER_SERVICE_STOPPED', 409],
    ['SERVER_UNAVAILABLE', 503],
    ['PEER_UNREACHABLE', 503],
    ['TIMEOUT', 504],
    ['INVALID_REQUEST', 400],
    ['NOT_FOUND', 404],
  ];
  for (const [code, status] of refusals) {
    it(`a refused operation with ${code} answers ${status} with the reply's code, object and remedy`, async () => {
      control.reply = () => ({
        requestId: 'r',
        ok: false,
        code,
        object: 'failover1',
        message: 'node-2 has a failover mark for failover1',
        remedy: 'clear it with tandem group reset failover1',
      });
      const a = await call(s, 'POST', '/api/v1/groups/failover1/move', { to: 'node-2' });
      assert.equal(a.status, status);
      assert.deepEqual(a.body, {
        error: {
          code,
          object: 'group failover1',
          message: 'node-2 has a failover mark for failover1',
          remedy: 'clear it with tandem group reset failover1',
        },
      });
    });
  }

  it('qualifies a bare object name by its kind, and fills in a missing object and remedy', async () => {
    control.reply = () => ({
      requestId: 'r',
      ok: false,
      code: 'GROUP_BUSY',
      object: 'node-2',
      message: 'busy',
    });
    let e = errorOf(await call(s, 'POST', '/api/v1/groups/failover1/stop', {}));
    assert.equal(e.object, 'server node-2');
    assert.match(e.remedy, /tandem alerts/);
    control.reply = () => ({ requestId: 'r', ok: false, message: 'failed' });
    e = errorOf(await call(s, 'POST', '/api/v1/resources/exec2/start', {}));
    assert.equal(e.object, 'resource exec2');
    assert.equal(e.code, 'OPERATION_FAILED');
    control.reply = () => ({
      requestId: 'r',
      ok: false,
      code: 'GROUP_BUSY',
      object: 'group failover2',
      message: 'x',
    });
    e = errorOf(await call(s, 'POST', '/api/v1/cluster/stop', {}));
    assert.equal(e.object, 'group failover2');
  });

  it('an OperationError thrown by the daemon while routing is answered with its code, object and remedy', async () => {
    const c = new FakeControl();
    c.route = () => {
      throw new OperationError({
        code: 'CLUSTER_SERVICE_STOPPED',
        object: 'server node-1',
        message: 'the cluster service is stopped on node-1',
        remedy: 'start it with tandem cluster start',
      });
    };
    const t = await api(c);
    try {
      const a = await call(t, 'POST', '/api/v1/groups/failover1/start', {});
      assert.equal(a.status, 409);
      assert.deepEqual(errorOf(a), {
        code: 'CLUSTER_SERVICE_STOPPED',
        object: 'server node-1',
        message: 'the cluster service is stopped on node-1',
        remedy: 'start it with tandem cluster start',
      });
      assert.deepEqual(c.operated, []);
    } finally {
      await t.close();
    }
  });

  it('passes the operation timeout to the daemon', async () => {
    const c = new FakeControl();
    const t = await createApiServer({
      control: c,
      token: TOKEN,
      log: new RecordingLogger(),
      operationTimeoutMs: 1234,
    });
    try {
      await call(t, 'POST', '/api/v1/groups/failover1/stop', {});
      assert.equal(c.operated[0]?.timeoutMs, 1234);
    } finally {
      await t.close();
    }
  });
});

describe('control API: forwarding to the server that must carry the operation out', () => {
  let node1: ApiServer;
  let node2: ApiServer;
  let c1: FakeControl;
  let c2: FakeControl;
  let peerPort = 0;
  let log1: RecordingLogger;
  let deadPort = 0;

  before(async () => {
    deadPort = await closedPort();
    c1 = new FakeControl('node-1');
    c2 = new FakeControl('node-2');
    log1 = new RecordingLogger();
    node2 = await createApiServer({ control: c2, token: TOKEN, log: new RecordingLogger() });
    await node2.listen('127.0.0.1', 0);
    peerPort = node2.address().port;
    node1 = await createApiServer({
      control: c1,
      token: TOKEN,
      log: log1,
      peers: (server) => ({ address: '127.0.0.1', port: server === 'node-2' ? peerPort : deadPort }),
    });
  });
  after(async () => {
    await node1.close();
    await node2.close();
  });

  function reset(): void {
    c1.operated.length = 0;
    c2.operated.length = 0;
    c1.route = () => 'node-2';
    c2.route = () => 'node-2';
    c2.reply = (op) => ({ requestId: 'r', ok: true, message: `${op.op} done on node-2` });
  }

  it('forwards to the routed server, which carries it out as a forwarded request', async () => {
    reset();
    const a = await call(node1, 'POST', '/api/v1/groups/failover1/move', { to: 'node-2' });
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, { ok: true, message: 'group-move done on node-2', server: 'node-2' });
    assert.deepEqual(c1.operated, []);
    assert.deepEqual(c2.operated, [
      { op: { op: 'group-move', group: 'failover1', to: 'node-2' }, forwarded: true, timeoutMs: 300_000 },
    ]);
    assert.ok(log1.lines.some((l) => l.msg.startsWith('forwarding') && l.obj['server'] === 'node-2'));
  });

  it('never forwards a forwarded request again (servers that disagree do not loop)', async () => {
    reset();
    c2.route = () => 'node-1';
    const a = await call(node1, 'POST', '/api/v1/resources/exec1/stop', {});
    assert.equal(a.status, 200);
    assert.deepEqual(c2.operated, [
      { op: { op: 'resource-stop', resource: 'exec1' }, forwarded: true, timeoutMs: 300_000 },
    ]);
    assert.deepEqual(c1.operated, []);
  });

  it("relays the target's refusal with its status and body", async () => {
    reset();
    c2.reply = () => ({
      requestId: 'r',
      ok: false,
      code: 'ALREADY_ONLINE',
      object: 'failover1',
      message: 'group failover1 is already online on node-2',
      remedy: 'nothing to do',
    });
    const a = await call(node1, 'POST', '/api/v1/groups/failover1/start', {});
    assert.equal(a.status, 409);
    assert.deepEqual(errorOf(a), {
      code: 'ALREADY_ONLINE',
      object: 'group failover1',
      message: 'group failover1 is already online on node-2',
      remedy: 'nothing to do',
    });
  });

  it('answers 503 PEER_UNREACHABLE naming the server when its API cannot be reached', async () => {
    reset();
    const lonely = await createApiServer({
      control: c1,
      token: TOKEN,
      log: new RecordingLogger(),
      peers: () => ({ address: '127.0.0.1', port: deadPort }),
    });
    try {
      const a = await call(lonely, 'POST', '/api/v1/groups/failover1/stop', {});
      assert.equal(a.status, 503);
      const e = errorOf(a);
      assert.equal(e.code, 'PEER_UNREACHABLE');
      assert.equal(e.object, 'server node-2');
      assert.match(e.message, /ECONNREFUSED/);
      assert.match(e.remedy, /tandem daemon --config FILE --server node-2/);
    } finally {
      await lonely.close();
    }
  });

  it('cluster stop --all: every server at once, each forwarded part carried out where it is sent', async () => {
    reset();
    c1.route = () => 'node-1';
    const a = await call(node1, 'POST', '/api/v1/cluster/stop', { all: true });
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, {
      ok: true,
      message: 'cluster stop: done on node-1, node-2',
      results: [
        { server: 'node-1', ok: true, message: 'cluster-stop done on node-1' },
        { server: 'node-2', ok: true, message: 'cluster-stop done on node-2' },
      ],
    });
    assert.deepEqual(c1.operated, [{ op: { op: 'cluster-stop' }, forwarded: false, timeoutMs: 300_000 }]);
    assert.deepEqual(c2.operated, [{ op: { op: 'cluster-stop' }, forwarded: true, timeoutMs: 300_000 }]);
  });

  it('cluster start --all with one server unreachable: the first failure, naming what was done', async () => {
    reset();
    const partial = await createApiServer({
      control: c1,
      token: TOKEN,
      log: new RecordingLogger(),
      peers: () => ({ address: '127.0.0.1', port: deadPort }),
    });
    try {
      const a = await call(partial, 'POST', '/api/v1/cluster/start', { all: true });
      assert.equal(a.status, 503);
      const e = errorOf(a);
      assert.equal(e.code, 'PEER_UNREACHABLE');
      assert.equal(e.object, 'server node-2');
      assert.match(e.message, /^cluster start failed on node-2: node-2: .*ECONNREFUSED.*\(done on node-1\)$/);
      assert.deepEqual(c1.operated, [{ op: { op: 'cluster-start' }, forwarded: false, timeoutMs: 300_000 }]);
    } finally {
      await partial.close();
    }
  });
});

describe('control API: mirror disks', () => {
  let s: ApiServer;
  const control = new FakeControl();
  before(async () => {
    control.mirrorStatuses = sampleMirrors();
    s = await api(control);
  });
  after(() => s.close());

  it('GET /md lists the copies of the answering server; the status document carries them too', async () => {
    const a = await call(s, 'GET', '/api/v1/md');
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, { mirrors: sampleMirrors() });
    control.statusDoc = { ...control.statusDoc, mirrors: sampleMirrors() };
    const st = await call(s, 'GET', '/api/v1/status');
    assert.deepEqual((st.body as { mirrors: unknown }).mirrors, sampleMirrors());
  });

  it('POST /md/NAME/break and /recover { source } reach the daemon', async () => {
    control.mirrorOps.length = 0;
    assert.equal((await call(s, 'POST', '/api/v1/md/md1/break', {})).status, 200);
    const r = await call(s, 'POST', '/api/v1/md/md1/recover', { source: 'node-2' });
    assert.equal(r.status, 200);
    assert.equal((await call(s, 'POST', '/api/v1/md/md2/force', {})).status, 200);
    assert.deepEqual(control.mirrorOps, [
      { action: 'break', name: 'md1' },
      { action: 'recover', name: 'md1', source: 'node-2' },
      { action: 'force', name: 'md2' },
    ]);
    assert.equal((await call(s, 'POST', '/api/v1/md/md1/recover', { from: 'x' })).status, 400);
  });

  it('a refused mirror operation is an error body with its code, object and remedy', async () => {
    const orig = control.mirrorOp.bind(control);
    control.mirrorOp = () =>
      Promise.resolve({
        requestId: 'm',
        ok: false,
        code: 'NOT_FOUND',
        object: 'md9',
        message: 'node-1 holds no copy of a mirror disk named md9.',
        remedy: 'Mirror disks on node-1: md1, md2.',
      });
    try {
      const a = await call(s, 'POST', '/api/v1/md/md9/break', {});
      assert.equal(a.status, 404);
      assert.deepEqual(errorOf(a), {
        code: 'NOT_FOUND',
        object: 'md9',
        message: 'node-1 holds no copy of a mirror disk named md9.',
        remedy: 'Mirror disks on node-1: md1, md2.',
      });
    } finally {
      control.mirrorOp = orig;
    }
  });

  it('without a credential: 401', async () => {
    assert.equal((await call(s, 'GET', '/api/v1/md', undefined, {})).status, 401);
  });
});
