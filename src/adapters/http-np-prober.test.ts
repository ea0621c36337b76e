import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { CompiledHttpNp } from '../shared/config/types.ts';
import { HttpNpProber } from './http-np-prober.ts';
import { freeTcpPort, makeTestCert, skipUnlessRequired } from './test-support.ts';

let server: Server;
let port: number;
const methods: string[] = [];

function target(over: Partial<CompiledHttpNp>): CompiledHttpNp {
  return {
    name: 'httpnp1',
    target: '127.0.0.1',
    port,
    ssl: false,
    path: '/',
    intervalMs: 5000,
    timeoutMs: 2000,
    ...over,
  };
}

function listen(s: Server): Promise<number> {
  return new Promise((resolve) =>
    s.listen({ host: '127.0.0.1', port: 0 }, () => resolve((s.address() as AddressInfo).port)),
  );
}

function close(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}

before(async () => {
  server = createServer((req, res) => {
    methods.push(req.method ?? '');
    if (req.url === '/hang') return; // never answers
    res.statusCode = req.url === '/down' ? 503 : req.url === '/moved' ? 301 : 200;
    res.end();
  });
  port = await listen(server);
});

after(() => close(server));

void test('np prober: HTTP 200 is ok, with the time taken', async () => {
  const r = await new HttpNpProber().probe(target({}));
  assert.equal(r.ok, true);
  assert.equal(r.target, 'httpnp1');
  assert.match(r.detail, /^HTTP 200 in \d+ ms$/);
  assert.equal(methods.at(-1), 'HEAD');
});

void test('np prober: any other status is not ok', async () => {
  assert.deepEqual(await new HttpNpProber().probe(target({ path: '/down' })), {
    target: 'httpnp1',
    ok: false,
    detail: 'HTTP 503',
  });
  assert.deepEqual(await new HttpNpProber().probe(target({ path: 'moved' })), {
    target: 'httpnp1',
    ok: false,
    detail: 'HTTP 301',
  });
});

void test('np prober: a closed port is not ok, with the connect error', async () => {
  const closed = await freeTcpPort('127.0.0.1');
  const r = await new HttpNpProber().probe(target({ port: closed }));
  assert.equal(r.ok, false);
  assert.equal(r.detail, `connect ECONNREFUSED 127.0.0.1:${closed}`);
});

void test('np prober: a server that never answers times out within the timeout', async () => {
  const t0 = performance.now();
  const r = await new HttpNpProber().probe(target({ path: '/hang', timeoutMs: 300 }));
  const took = performance.now() - t0;
  assert.deepEqual(r, { target: 'httpnp1', ok: false, detail: 'timeout after 300 ms' });
  assert.ok(took >= 290 && took < 1000, `took ${took} ms`);
});

void test('np prober: HTTPS verifies the certificate', async (t) => {
  const made = makeTestCert();
  if ('missing' in made) {
    t.skip(skipUnlessRequired(made.missing));
    return;
  }
  const tls = createHttpsServer({ cert: made.cert, key: made.key }, (_req, res) => res.end());
  const tlsPort = await listen(tls);
  try {
    const trusted = await new HttpNpProber({ ca: made.cert }).probe(target({ ssl: true, port: tlsPort }));
    assert.equal(trusted.ok, true, trusted.detail);
    const untrusted = await new HttpNpProber().probe(target({ ssl: true, port: tlsPort }));
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.detail, /self[- ]signed|unable to verify/i);
  } finally {
    await close(tls);
  }
});
