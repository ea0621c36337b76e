/**
 * The Route 53 operations of the access layer through the real SDK against the simulator, whose clock the
 * test sets so that a change's PENDING -> INSYNC is asserted exactly.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { freeTcpPort } from '../adapters/test-support.ts';
import { createSimServer } from '../sim/server.ts';
import type { SimServer } from '../sim/server.ts';
import { loadWorld } from '../sim/world.ts';
import { createAwsAccess } from './access.ts';
import { AwsCallError } from './errors.ts';
import { normalizeRecordName, stripIdPrefix } from './route53-ops.ts';
import { endpointEnv, TEST_WORLD_YAML } from './test-fakes.ts';
import type { AwsAccess } from './types.ts';

const ZONE = 'Z0123456789ABC';

let sim: SimServer;
let simNow = Date.UTC(2026, 0, 1);
let aws: AwsAccess;
const waits: number[] = [];

function freshWorld() {
  return loadWorld(TEST_WORLD_YAML, 'test-world.yaml');
}

async function failure(p: Promise<unknown>): Promise<AwsCallError> {
  const err = await p.then(
    (v) => assert.fail(`expected a failure, got ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AwsCallError, String(err));
  return err;
}

before(async () => {
  sim = await createSimServer({ world: freshWorld(), host: '127.0.0.1', port: 0, now: () => simNow });
  const closedImds = `http://127.0.0.1:${await freeTcpPort('127.0.0.1')}`;
  aws = createAwsAccess(
    { region: null, profile: null, proxy: null, callTimeoutMs: 5000, environment: {} },
    endpointEnv(sim.url, closedImds),
    {
      random: () => 0.5,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    },
  );
});
after(async () => {
  aws.close();
  await sim.close();
});
beforeEach(() => {
  sim.world.route53 = freshWorld().route53;
  sim.world.route53.insyncDelayMs = 1000;
  sim.clearFaults();
  waits.length = 0;
});

describe('Route 53 ops against the simulator', () => {
  it('reads a hosted zone by its id, with or without the /hostedzone/ prefix', async () => {
    const expected = {
      id: ZONE,
      name: 'hz1.local.',
      private: true,
      vpcs: [{ vpcId: 'vpc-0a1b2c3d', region: 'us-east-1' }],
    };
    assert.deepEqual(await aws.route53.hostedZone(ZONE), expected);
    assert.deepEqual(await aws.route53.hostedZone(`/hostedzone/${ZONE}`), expected);
  });

  it('names a hosted zone that does not exist with AWS code', async () => {
    const err = await failure(aws.route53.hostedZone('Z0BAD0BAD'));
    assert.equal(err.kind, 'answered');
    assert.equal(err.service, 'route53');
    assert.equal(err.awsCode, 'NoSuchHostedZone');
    assert.equal(err.httpStatus, 404);
    assert.match(err.awsMessage, /Z0BAD0BAD/);
    const rr = await failure(aws.route53.recordA('Z0BAD0BAD', 'srv.hz1.local.'));
    assert.equal(rr.awsCode, 'NoSuchHostedZone');
  });

  it('finds an A record whatever the case and trailing dot of the name, and null when absent', async () => {
    assert.deepEqual(await aws.route53.recordA(ZONE, 'SRV.Hz1.local'), {
      name: 'srv.hz1.local.',
      ttl: 60,
      values: ['10.1.0.20'],
    });
    assert.equal(await aws.route53.recordA(ZONE, 'other.hz1.local.'), null);
    // The listing starts after the name asked for: the next record is not taken for it.
    assert.equal(await aws.route53.recordA(ZONE, 'sr.hz1.local.'), null);
  });

  it('UPSERTs a record, whose change goes PENDING then INSYNC', async () => {
    const change = await aws.route53.upsertA(ZONE, 'App.hz1.local', '10.0.2.10', 30);
    assert.doesNotMatch(change, /\//);
    assert.equal(await aws.route53.changeStatus(change), 'PENDING');
    assert.deepEqual(await aws.route53.recordA(ZONE, 'app.hz1.local.'), {
      name: 'app.hz1.local.',
      ttl: 30,
      values: ['10.0.2.10'],
    });
    simNow += 1000;
    assert.equal(await aws.route53.changeStatus(`/change/${change}`), 'INSYNC');
    // UPSERT again replaces the value.
    await aws.route53.upsertA(ZONE, 'app.hz1.local.', '10.0.1.10', 30);
    assert.deepEqual((await aws.route53.recordA(ZONE, 'app.hz1.local.'))?.values, ['10.0.1.10']);
  });

  it('DELETEs the record as read back, and answers null when there is none', async () => {
    const change = await aws.route53.deleteA(ZONE, 'srv.hz1.local');
    assert.equal(typeof change, 'string');
    assert.equal(await aws.route53.recordA(ZONE, 'srv.hz1.local.'), null);
    assert.equal(await aws.route53.deleteA(ZONE, 'srv.hz1.local.'), null);
  });

  it('retries Route 53 throttling and succeeds', async () => {
    sim.injectFault({ action: 'GetHostedZone', kind: 'throttle', count: 2 });
    assert.equal((await aws.route53.hostedZone(ZONE)).name, 'hz1.local.');
    assert.deepEqual(waits, [50, 100]);
  });

  it('reports lasting throttling as `unavailable` with the Route 53 code', async () => {
    sim.injectFault({ action: 'ChangeResourceRecordSets', kind: 'throttle' });
    const err = await failure(aws.route53.upsertA(ZONE, 'app.hz1.local.', '10.0.2.10', 30));
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.awsCode, 'Throttling');
  });

  it('reports no answer from GetChange as `no-answer`', async () => {
    sim.injectFault({ action: 'GetChange', kind: 'noAnswer', count: 1 });
    const err = await failure(aws.route53.changeStatus('C0000000000001', { timeoutMs: 150 }));
    assert.equal(err.kind, 'no-answer');
    assert.equal(err.message, 'route53 GetChange: no answer within 150 ms');
  });
});

describe('names and ids', () => {
  it('normalises record names and strips id prefixes', () => {
    assert.equal(normalizeRecordName('WWW.Example.COM'), 'www.example.com.');
    assert.equal(normalizeRecordName('\\052.example.com.'), '*.example.com.');
    assert.equal(stripIdPrefix('/hostedzone/Z1'), 'Z1');
    assert.equal(stripIdPrefix('hostedzone/Z1'), 'Z1');
    assert.equal(stripIdPrefix('/change/C1'), 'C1');
    assert.equal(stripIdPrefix('Z1'), 'Z1');
  });
});
