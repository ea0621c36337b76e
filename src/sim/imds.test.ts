/**
 * IMDSv2 per simulated instance, through plain `node:http`: the token dance, 401s, the metadata paths
 * (ids, placement, network interfaces with MACs derived from the ENI ids, role credentials, identity
 * document), 404s, a powered-off or rebooting instance that answers nothing, and IMDS faults.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DEMO_WORLD_FILE } from './main.ts';
import { macOf } from './imds.ts';
import { createSimServer } from './server.ts';
import type { SimServer } from './server.ts';
import { loadWorld } from './world.ts';

const I1 = 'i-0000000000000001';
const I2 = 'i-0000000000000002';
let clock = Date.UTC(2026, 0, 1);
let sim: SimServer;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request; resolves 'no answer' when nothing comes back within `timeoutMs`. */
function call(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
): Promise<Reply | 'no answer'> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve('no answer');
    });
    req.on('error', reject);
    req.end();
  });
}

async function reply(p: Promise<Reply | 'no answer'>): Promise<Reply> {
  const r = await p;
  assert.notEqual(r, 'no answer');
  return r as Reply;
}

async function token(instanceId: string, ttl = '300'): Promise<string> {
  const r = await reply(
    call(sim.imds[instanceId] ?? '', 'PUT', '/latest/api/token', {
      'x-aws-ec2-metadata-token-ttl-seconds': ttl,
    }),
  );
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-aws-ec2-metadata-token-ttl-seconds'], ttl);
  return r.body;
}

async function get(instanceId: string, path: string): Promise<Reply> {
  const t = await token(instanceId);
  return reply(call(sim.imds[instanceId] ?? '', 'GET', `/latest/${path}`, { 'x-aws-ec2-metadata-token': t }));
}

before(async () => {
  const world = loadWorld(readFileSync(DEMO_WORLD_FILE, 'utf8'), DEMO_WORLD_FILE);
  sim = await createSimServer({
    world,
    host: '127.0.0.1',
    port: 0,
    now: () => clock,
    instanceStopDelayMs: 0,
  });
});
after(() => sim.close());
beforeEach(() => {
  sim.clearFaults();
  for (const id of [I1, I2]) sim.setInstanceState(id, 'running');
});

describe('IMDSv2 sessions', () => {
  it('gives each instance its own loopback listener', () => {
    assert.deepEqual(Object.keys(sim.imds), [I1, I2]);
    for (const url of Object.values(sim.imds)) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(sim.imds[I1], sim.imds[I2]);
  });

  it('issues a token for a TTL of 1-21600 s and refuses anything else with 400', async () => {
    const url = sim.imds[I1] ?? '';
    await token(I1, '1');
    await token(I1, '21600');
    for (const ttl of ['0', '21601', 'abc']) {
      const r = await reply(
        call(url, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': ttl }),
      );
      assert.equal(r.status, 400, ttl);
    }
    assert.equal((await reply(call(url, 'PUT', '/latest/api/token'))).status, 400);
    const fwd = { 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '10.0.0.1' };
    assert.equal((await reply(call(url, 'PUT', '/latest/api/token', fwd))).status, 403);
    assert.equal((await reply(call(url, 'GET', '/latest/api/token'))).status, 405);
  });

  it('answers 401 without a token, with a made-up one, with another instance token, and after the TTL', async () => {
    const url = sim.imds[I1] ?? '';
    const path = '/latest/meta-data/instance-id';
    const none = await reply(call(url, 'GET', path));
    assert.equal(none.status, 401);
    assert.match(none.body, /401 - Unauthorized/);
    assert.equal((await reply(call(url, 'GET', path, { 'x-aws-ec2-metadata-token': 'nope' }))).status, 401);
    const other = await token(I2);
    assert.equal((await reply(call(url, 'GET', path, { 'x-aws-ec2-metadata-token': other }))).status, 401);
    const t = await token(I1, '60');
    const ok = await reply(call(url, 'GET', path, { 'x-aws-ec2-metadata-token': t }));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-aws-ec2-metadata-token-ttl-seconds'], '60');
    clock += 60_000;
    assert.equal((await reply(call(url, 'GET', path, { 'x-aws-ec2-metadata-token': t }))).status, 401);
  });
});

describe('metadata paths', () => {
  it('serves identity, placement and addresses of the instance it belongs to', async () => {
    assert.equal((await get(I1, 'meta-data/instance-id')).body, I1);
    assert.equal((await get(I2, 'meta-data/instance-id')).body, I2);
    assert.equal((await get(I2, 'meta-data/placement/availability-zone')).body, 'us-east-1b');
    assert.equal((await get(I2, 'meta-data/placement/availability-zone-id')).body, 'use1-az2');
    assert.equal((await get(I2, 'meta-data/placement/region')).body, 'us-east-1');
    assert.equal((await get(I2, 'meta-data/local-ipv4')).body, '10.0.2.10');
    assert.equal((await get(I2, 'meta-data/hostname')).body, 'ip-10-0-2-10.ec2.internal');
    const listing = (await get(I1, 'meta-data/')).body.split('\n');
    for (const e of ['instance-id', 'iam/', 'network/', 'placement/', 'mac', 'local-ipv4']) {
      assert.ok(listing.includes(e), e);
    }
  });

  it('lists network interfaces by MAC (derived from the ENI id) with their ids, addresses, VPC and subnet', async () => {
    const mac = macOf('eni-0000000000000001');
    assert.match(mac, /^02(:[0-9a-f]{2}){5}$/);
    assert.equal(macOf('eni-0000000000000001'), mac, 'deterministic');
    assert.notEqual(macOf('eni-0000000000000002'), mac);
    assert.equal((await get(I1, 'meta-data/mac')).body, mac);
    assert.equal((await get(I1, 'meta-data/network/interfaces/macs/')).body, `${mac}/`);
    const base = `meta-data/network/interfaces/macs/${mac}`;
    assert.equal((await get(I1, `${base}/interface-id`)).body, 'eni-0000000000000001');
    assert.equal((await get(I1, `${base}/local-ipv4s`)).body, '10.0.1.10');
    assert.equal((await get(I1, `${base}/vpc-id`)).body, 'vpc-0a1b2c3d');
    assert.equal((await get(I1, `${base}/subnet-id`)).body, 'subnet-0a000001');
    assert.equal((await get(I1, `${base}/vpc-ipv4-cidr-blocks`)).body, '10.0.0.0/16');
    assert.equal((await get(I2, `${base}/interface-id`)).status, 404, "another instance's MAC");
  });

  it('serves the role name and its credentials, valid for about 6 hours', async () => {
    assert.equal((await get(I1, 'meta-data/iam/security-credentials/')).body, 'tandem-ha');
    const r = await get(I1, 'meta-data/iam/security-credentials/tandem-ha');
    assert.equal(r.status, 200);
    const c = JSON.parse(r.body) as Record<string, string>;
    assert.equal(c['Code'], 'Success');
    assert.equal(c['Type'], 'AWS-HMAC');
    assert.match(c['AccessKeyId'] ?? '', /^ASIA[A-Z0-9]{16}$/);
    assert.ok((c['SecretAccessKey'] ?? '').length >= 40);
    assert.ok((c['Token'] ?? '').length > 100);
    assert.equal(c['LastUpdated'], new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    assert.match(c['Expiration'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(Date.parse(c['Expiration'] ?? '') - clock, 6 * 3600_000);
    const again = JSON.parse((await get(I1, 'meta-data/iam/security-credentials/tandem-ha')).body) as {
      AccessKeyId: string;
    };
    assert.equal(again.AccessKeyId, c['AccessKeyId'], 'the same credentials until they near expiry');
    assert.equal((await get(I1, 'meta-data/iam/security-credentials/other-role')).status, 404);
    const info = JSON.parse((await get(I1, 'meta-data/iam/info')).body) as { InstanceProfileArn: string };
    assert.equal(info.InstanceProfileArn, 'arn:aws:iam::123456789012:instance-profile/tandem-ha');
  });

  it('answers 404 (with the real HTML-ish body) for unknown paths and the iam tree of an instance without a role', async () => {
    const r = await get(I1, 'meta-data/no-such-thing');
    assert.equal(r.status, 404);
    assert.match(r.body, /<title>404 - Not Found<\/title>/);
    const inst = sim.world.ec2.instances[1];
    assert.ok(inst !== undefined);
    delete inst.iamRole;
    try {
      assert.equal((await get(I2, 'meta-data/iam/security-credentials/')).status, 404);
      assert.ok(!(await get(I2, 'meta-data/')).body.includes('iam/'));
    } finally {
      inst.iamRole = 'tandem-ha';
    }
  });

  it('serves the instance identity document', async () => {
    const doc = JSON.parse((await get(I2, 'dynamic/instance-identity/document')).body) as Record<
      string,
      unknown
    >;
    assert.equal(doc['instanceId'], I2);
    assert.equal(doc['region'], 'us-east-1');
    assert.equal(doc['availabilityZone'], 'us-east-1b');
    assert.equal(doc['privateIp'], '10.0.2.10');
    assert.equal(doc['accountId'], '123456789012');
    assert.equal(doc['imageId'], 'ami-00000001');
    assert.equal(doc['instanceType'], 't3.micro');
  });
});

describe('a machine that is off, and IMDS faults', () => {
  it('answers nothing while the instance is stopped, and again once it runs', async () => {
    const t = await token(I1);
    sim.setInstanceState(I1, 'stopped');
    const url = sim.imds[I1] ?? '';
    assert.equal(
      await call(url, 'GET', '/latest/meta-data/instance-id', { 'x-aws-ec2-metadata-token': t }, 200),
      'no answer',
    );
    assert.equal(
      await call(url, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' }, 200),
      'no answer',
    );
    assert.equal((await get(I2, 'meta-data/instance-id')).body, I2, 'the other instance is unaffected');
    sim.setInstanceState(I1, 'running');
    assert.equal((await get(I1, 'meta-data/instance-id')).body, I1);
  });

  it('answers nothing while the instance reboots', async () => {
    const inst = sim.world.ec2.instances[0];
    assert.ok(inst !== undefined);
    inst.rebootingUntilMs = clock + 1000;
    assert.equal(
      await call(
        sim.imds[I1] ?? '',
        'PUT',
        '/latest/api/token',
        { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
        200,
      ),
      'no answer',
    );
    clock += 1000;
    assert.equal((await get(I1, 'meta-data/instance-id')).body, I1);
  });

  it('IMDS faults: noAnswer for one instance or all, latency; `*` does not hit IMDS', async () => {
    sim.injectFault({ action: '*', kind: 'noAnswer' });
    assert.equal((await get(I1, 'meta-data/instance-id')).body, I1);
    sim.clearFaults();
    sim.injectFault({ action: `IMDS:${I1}`, kind: 'noAnswer', count: 1 });
    const hdr = { 'x-aws-ec2-metadata-token-ttl-seconds': '60' };
    assert.equal(await call(sim.imds[I1] ?? '', 'PUT', '/latest/api/token', hdr, 200), 'no answer');
    await token(I1);
    sim.injectFault({ action: 'IMDS', kind: 'noAnswer', count: 2 });
    assert.equal(await call(sim.imds[I2] ?? '', 'PUT', '/latest/api/token', hdr, 200), 'no answer');
    assert.equal(await call(sim.imds[I1] ?? '', 'PUT', '/latest/api/token', hdr, 200), 'no answer');
    sim.injectFault({ action: 'IMDS', kind: 'latency', latencyMs: 150, count: 1 });
    const t0 = performance.now();
    await token(I2);
    assert.ok(performance.now() - t0 >= 140, 'latency applied');
  });
});
