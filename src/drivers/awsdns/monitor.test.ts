// Tests of the awsdnsw monitor against the AWS simulator through the real SDK: normal, record set deleted
// behind Tandem's back (52), another address (53), the name-resolution check through the simulator's DNS
// responder (normal, NXDOMAIN before propagation -> 54, a stale answer -> 55) and through a resolver that does
// not answer (54 naming it), and no answer from Route 53: warning 151 vs error 51 by noResponse.
import { test, after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { CompiledMonitor, CompiledRecovery } from '../../shared/config/types.ts';
import { createSimServer, type SimServer } from '../../sim/server.ts';
import { DEMO_WORLD_FILE } from '../../sim/main.ts';
import { loadWorld } from '../../sim/world.ts';
import { monitor } from '../../../test/daemon-fakes/config.ts';
import { AwsTestEnv, DEMO_IDS, dnsResource, rejection } from '../aws-common/test-support.ts';
import { NoResponseError, tableProblems } from '../messages.ts';
import { AwsDnsDriver } from './driver.ts';
import { AWSDNSW_MESSAGES } from './errors.ts';
import { AwsDnsMonitorDriver } from './monitor.ts';

const { hostedZoneId: ZONE, recordName: NAME, ip1: IP1, ip2: IP2 } = DEMO_IDS;
const START = { event: 'START', failoverFrom: null } as const;

let env: AwsTestEnv<SimServer>;

before(async () => {
  const world = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
  env = new AwsTestEnv(await createSimServer({ world, host: '127.0.0.1', port: 0 }), 'demo');
});

after(() => env.close());

beforeEach(() => {
  env.sim.clearFaults();
  env.sim.world.route53.insyncDelayMs = 0;
});

function dnsMonitor(
  params: Record<string, unknown> = {},
  noResponse: CompiledRecovery['noResponse'] = 'warn',
  timeoutMs = 5_000,
): CompiledMonitor {
  const m = monitor(
    'awsdnsw1',
    'awsdnsw',
    { resource: 'awsdns1', resolveCheck: false, resolver: null, ...params },
    { activeResource: 'awsdns1', timeoutMs, auto: true },
  );
  m.recovery = { ...m.recovery, targetKind: 'resource', target: 'awsdns1', noResponse };
  return m;
}

function setup(mon: CompiledMonitor, recordName: string = NAME) {
  const res = dnsResource({ recordName });
  const config = env.config({ resources: [res], monitors: [mon] });
  const ctx = (server: string) => env.ctx(config, server);
  return { res, config, ctx, check: (server: string) => new AwsDnsMonitorDriver().check(mon, ctx(server)) };
}

async function simAdmin(path: string, body: unknown): Promise<void> {
  const r = await fetch(`${env.sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.text());
}

void test('message table: unique codes and ids, sentences with remedies', () => {
  assert.deepEqual(tableProblems(AWSDNSW_MESSAGES), []);
});

void test('normal while the record holds this server’s address; 53 on a server whose address it is not', async () => {
  const { res, ctx, check } = setup(dnsMonitor());
  await new AwsDnsDriver({ firstPollMs: 20 }).start(res, START, ctx('node-1'));
  assert.deepEqual(await check('node-1'), { result: 'running' });
  assert.deepEqual(await check('node-2'), {
    result: 'failed',
    code: 53,
    message:
      'The resource record set does not hold the IP address of this server. The record set srv.hz1.local. in hosted zone Z0123456789ABC holds 10.0.1.10, expected 10.0.2.10 of node-2.',
  });
});

void test('a record set deleted behind Tandem’s back is 52 naming record and zone', async () => {
  const { res, ctx, check } = setup(dnsMonitor());
  await new AwsDnsDriver({ firstPollMs: 20 }).start(res, START, ctx('node-1'));
  await simAdmin('/_sim/record/delete', { zoneId: ZONE, name: NAME, type: 'A' });
  assert.deepEqual(await check('node-1'), {
    result: 'failed',
    code: 52,
    message:
      'The resource record set does not exist in the hosted zone. The resource record set srv.hz1.local. does not exist in hosted zone Z0123456789ABC.',
  });
});

void test('no answer from Route 53: NoResponseError 151 under noResponse warn, 51 under recover', async () => {
  for (const [mode, code] of [
    ['warn', 151],
    ['recover', 51],
  ] as const) {
    env.sim.injectFault({ action: 'ListResourceRecordSets', kind: 'noAnswer', count: 1 });
    const { check } = setup(dnsMonitor({}, mode, 1_000));
    const t0 = Date.now();
    const err = await rejection(check('node-1'));
    assert.ok(err instanceof NoResponseError, `${mode}: not a NoResponseError`);
    assert.equal(err.code, code, mode);
    assert.match(
      err.message,
      /^AWS did not answer in time\. Reading srv\.hz1\.local\. in hosted zone Z0123456789ABC: /,
    );
    assert.ok(Date.now() - t0 < 1_000, `${mode}: not reported within the monitor timeout`);
  }
});

void test('resolveCheck through a resolver that does not answer is 54 naming the resolver', async () => {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const port = sock.address().port;
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  const { res, ctx, check } = setup(
    dnsMonitor({ resolveCheck: true, resolver: `127.0.0.1:${port}` }, 'warn', 1_500),
  );
  await new AwsDnsDriver({ firstPollMs: 20 }).start(res, START, ctx('node-1'));
  const r = await check('node-1');
  assert.equal(r.result, 'failed');
  assert.equal(r.code, 54);
  assert.match(
    r.message ?? '',
    new RegExp(
      `^Failed to resolve the domain name\\. srv\\.hz1\\.local\\. via resolver 127\\.0\\.0\\.1:${port} \\(127\\.0\\.0\\.1:${port}\\): E[A-Z]+ `,
    ),
  );
});

void test('resolveCheck through the simulator’s DNS responder: normal, NXDOMAIN before propagation (54), stale answer (55)', async () => {
  const resolver = `${env.sim.dns.host}:${env.sim.dns.port}`;
  // Normal: the change is INSYNC, so the responder answers with this server's address.
  const ok = setup(dnsMonitor({ resolveCheck: true, resolver }));
  await new AwsDnsDriver({ firstPollMs: 20 }).start(ok.res, START, ok.ctx('node-1'));
  assert.deepEqual(await ok.check('node-1'), { result: 'running' });

  // A new name whose change has not propagated: the API has it, the name servers answer NXDOMAIN.
  env.sim.world.route53.insyncDelayMs = 60_000;
  const fresh = setup(dnsMonitor({ resolveCheck: true, resolver }), 'new.hz1.local.');
  await env.aws.route53.upsertA(ZONE, 'new.hz1.local.', IP1, 60);
  const nx = await fresh.check('node-1');
  assert.equal(nx.result, 'failed');
  assert.equal(nx.code, 54);
  assert.match(
    nx.message ?? '',
    /^Failed to resolve the domain name\. new\.hz1\.local\. via resolver .*: ENOTFOUND/,
  );

  // The record moved to node-2's address, the name servers still give node-1's.
  const stale = setup(dnsMonitor({ resolveCheck: true, resolver }));
  await env.aws.route53.upsertA(ZONE, NAME, IP2, 60);
  const r = await stale.check('node-2');
  assert.equal(r.result, 'failed');
  assert.equal(r.code, 55);
  assert.match(
    r.message ?? '',
    /srv\.hz1\.local\. via resolver .* resolves to 10\.0\.1\.10, expected 10\.0\.2\.10 of node-2\.$/,
  );
});

void test('validate: the resource must exist and be awsdns; the resolver must be a host or address', () => {
  const drv = new AwsDnsMonitorDriver();
  const { config } = setup(dnsMonitor());
  assert.deepEqual(drv.validate(dnsMonitor(), config), []);
  assert.deepEqual(drv.validate(dnsMonitor({ resource: 'nope' }), config), [
    'resource: there is no resource named nope',
  ]);
  assert.deepEqual(drv.validate(dnsMonitor({ resolver: '10.0.0.2:99999' }), config), [
    'resolver: must be a host or IP address with an optional :port ([IPv6]:port)',
  ]);
  assert.deepEqual(drv.validate(dnsMonitor({ resolver: '[::1]:5353' }), config), []);
  assert.deepEqual(drv.validate(dnsMonitor({ resolver: 'ns1.example.com' }), config), []);
});
