/**
 * `tandem doctor` against the AWS simulator through the real SDK (issue 4 section 6): a correct config
 * against the demo world finds nothing wrong; each mistake world of src/sim/worlds/ gives the finding with
 * its code, object and remedy; unknown ids in the config are named; no credentials skips every AWS check;
 * no answer from EC2 skips the EC2 checks. Plus the pieces without AWS: the probe's bound and memo, the
 * timing rule and the text output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../shared/config/index.ts';
import type { CompiledConfig } from '../shared/config/types.ts';
import { DEMO_WORLD_FILE } from '../sim/main.ts';
import { createSimServer, type SimServer } from '../sim/server.ts';
import { loadWorld } from '../sim/world.ts';
import { timingFindings, MARGIN } from './check-timing.ts';
import type { DoctorContext } from './context.ts';
import { Probe, spread } from './probe.ts';
import { renderDoctor } from './render.ts';
import { runDoctor, type DoctorOptions } from './run.ts';
import type { DoctorReport, Finding } from './types.ts';
import { exitCodeOf } from './types.ts';
import { doctorYaml } from './testkit.ts';

const WORLDS = fileURLToPath(new URL('../sim/worlds/', import.meta.url));
function compile(text: string): CompiledConfig {
  const { config, issues } = parseConfigText(text, '/etc/tandem/cluster.yaml');
  assert.deepEqual(
    issues.filter((i) => i.severity === 'error'),
    [],
  );
  assert.ok(config);
  return config;
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sims: SimServer[] = [];
let home: string;
let noImds: string;

async function sim(world: string | null): Promise<SimServer> {
  const file = world === null ? DEMO_WORLD_FILE : join(WORLDS, `${world}.yaml`);
  const s = await createSimServer({
    world: loadWorld(readFileSync(file, 'utf8'), file),
    host: '127.0.0.1',
    port: 0,
    imdsBasePort: 0,
  });
  sims.push(s);
  return s;
}

/** Runs doctor with a hermetic environment: an empty HOME, and IMDS at `imds` (else a closed port). */
function doctor(config: CompiledConfig, o: DoctorOptions & { imds?: string } = {}): Promise<DoctorReport> {
  const { imds, ...rest } = o;
  return runDoctor(config, {
    env: { HOME: home, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds ?? noImds },
    ...rest,
  });
}

function only(r: DoctorReport, id: string, object?: string): Finding {
  const fs = r.findings.filter((f) => f.id === id && (object === undefined || f.object === object));
  assert.equal(fs.length, 1, `one ${id} ${object ?? ''} in\n${renderDoctor(r)}`);
  return fs[0]!;
}

function errors(r: DoctorReport): Finding[] {
  return r.findings.filter((f) => f.status === 'error');
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'tandem-doctor-'));
  noImds = `http://127.0.0.1:${await closedPort()}`;
});

after(async () => {
  await Promise.all(sims.map((s) => s.close()));
  rmSync(home, { recursive: true, force: true });
});

describe('tandem doctor against the simulator', () => {
  it('a correct config against the demo world: every finding ok (write permission is not checkable)', async () => {
    const s = await sim(null);
    const r = await doctor(compile(doctorYaml({ url: s.url })), {
      server: 'node-1',
      imds: s.imds['i-0000000000000001']!,
    });
    const notOk = r.findings.filter((f) => f.status !== 'ok');
    assert.deepEqual(
      notOk.map((f) => f.id),
      ['awsdns.write'],
      renderDoctor(r),
    );
    assert.equal(exitCodeOf(r), 0);
    const ids = new Set(r.findings.map((f) => f.id));
    for (const id of [
      'aws.region',
      'aws.credentials',
      'aws.proxy',
      'aws.endpoints',
      'imds.reachable',
      'imds.instance',
      'aws.ec2',
      'aws.route53',
      'awsvip.vpc',
      'awsvip.cidr',
      'awsvip.routes',
      'awsvip.eni',
      'awsvip.source-dest-check',
      'awsvip.iam',
      'awseip.allocation',
      'awseip.eni',
      'awseip.iam',
      'awsdns.zone',
      'awsdns.record-name',
      'awsdns.zone-vpc',
      'awsdns.dns-support',
      'awsdns.read',
      'awsdns.write',
      'awsazw.zone',
      'fencing.instance',
      'fencing.iam',
      'timing.aws-calls',
      'timing.call-timeout',
      'timing.monitor',
    ]) {
      assert.ok(ids.has(id), `${id} in\n${renderDoctor(r)}`);
    }
    assert.match(
      only(r, 'aws.credentials').message,
      /environment \(AWS_ACCESS_KEY_ID from aws\.environment\)/,
    );
    assert.doesNotMatch(JSON.stringify(r), /allowed-secret/, 'never a secret');
    assert.match(only(r, 'imds.instance').message, /this machine is i-0000000000000001/);
    // --server node-1: node-1's ENI only, and node-1 fences only node-2.
    assert.deepEqual(
      r.findings.filter((f) => f.id === 'awsvip.eni').map((f) => f.object),
      ['resource awsvip1 (node-1)'],
    );
    assert.deepEqual(
      r.findings.filter((f) => f.id === 'fencing.iam').map((f) => f.object),
      ['fencing node-2 (i-0000000000000002)'],
    );
    // The zone association knows node-1's VPC from its ENI.
    assert.match(only(r, 'awsdns.zone-vpc').message, /associated with vpc-0a1b2c3d/);
    assert.match(
      only(r, 'timing.aws-calls').message,
      /AWS calls answered in min \d+ ms, median \d+ ms, max \d+ ms/,
    );
    assert.ok(r.findings.some((f) => f.durationMs !== undefined));
  });

  it('without --server checks every server; unreachable IMDS is only a warning when nothing needs it', async () => {
    const s = await sim(null);
    const r = await doctor(compile(doctorYaml({ url: s.url })));
    assert.deepEqual(errors(r), []);
    assert.equal(exitCodeOf(r), 0);
    const imds = only(r, 'imds.reachable');
    assert.equal(imds.status, 'warning');
    assert.match(imds.message, /region and credentials come from elsewhere/);
    assert.deepEqual(
      r.findings.filter((f) => f.id === 'awsvip.source-dest-check').map((f) => f.object),
      ['resource awsvip1 (node-1)', 'resource awsvip1 (node-2)'],
    );
    assert.equal(only(r, 'awsvip.vpc').object, 'resource awsvip1 (node-1, node-2)');
    assert.equal(r.summary.server, null);
  });

  it('source-dest-check-on: node-2 ENI has Source/Dest check enabled', async () => {
    const s = await sim('source-dest-check-on');
    const r = await doctor(compile(doctorYaml({ url: s.url })));
    const f = only(r, 'awsvip.source-dest-check', 'resource awsvip1 (node-2)');
    assert.equal(f.status, 'error');
    assert.equal(f.code, null, 'the seed documents no code: the resource starts, ping fails');
    assert.match(
      f.message,
      /Source\/Dest check is enabled on ENI eni-0000000000000002.*ping cannot reach the VIP/,
    );
    assert.match(f.remedy ?? '', /--network-interface-id eni-0000000000000002 --no-source-dest-check/);
    assert.equal(only(r, 'awsvip.source-dest-check', 'resource awsvip1 (node-1)').status, 'ok');
    assert.deepEqual(
      errors(r).map((e) => e.id),
      ['awsvip.source-dest-check'],
    );
    assert.equal(exitCodeOf(r), 1);
  });

  it('zone-not-associated: the private zone lacks the servers VPC', async () => {
    const s = await sim('zone-not-associated');
    const r = await doctor(compile(doctorYaml({ url: s.url })));
    const f = only(r, 'awsdns.zone-vpc');
    assert.equal(f.status, 'error');
    assert.equal(f.code, 'awsdnsw 54');
    assert.equal(f.object, 'resource awsdns1 (node-1, node-2)');
    assert.match(
      f.message,
      /hz1\.local\. \(Z0123456789ABC\) is not associated with vpc-0a1b2c3d.*vpc-0f0f0f0f/,
    );
    assert.match(
      f.remedy ?? '',
      /associate-vpc-with-hosted-zone --hosted-zone-id Z0123456789ABC --vpc VPCRegion=us-east-1,VPCId=vpc-0a1b2c3d/,
    );
    assert.deepEqual(
      errors(r).map((e) => e.id),
      ['awsdns.zone-vpc'],
    );
    assert.equal(exitCodeOf(r), 1);
  });

  it('dns-support-off: enableDnsSupport is off in the VPC', async () => {
    const s = await sim('dns-support-off');
    const r = await doctor(compile(doctorYaml({ url: s.url })));
    const f = only(r, 'awsdns.dns-support');
    assert.equal(f.status, 'error');
    assert.equal(f.code, 'awsdnsw 54');
    assert.equal(f.object, 'resource awsdns1 (node-1, node-2)');
    assert.match(f.message, /enableDnsSupport is off in vpc-0a1b2c3d/);
    assert.match(f.remedy ?? '', /modify-vpc-attribute --vpc-id vpc-0a1b2c3d --enable-dns-support/);
    assert.equal(exitCodeOf(r), 1);
  });

  it('dns-support-off with a monitor asking its own resolver: a warning; the VPC resolver does not count', async () => {
    const s = await sim('dns-support-off');
    const monitor = (resolver: string): Array<[string, string]> => [
      [
        'monitors:\n',
        `monitors:\n  - { name: awsdnsw1, type: awsdnsw, resource: awsdns1, resolver: "${resolver}" }\n`,
      ],
    ];
    const own = await doctor(compile(doctorYaml({ url: s.url, edits: monitor('10.9.0.53:53') })));
    assert.equal(only(own, 'awsdns.dns-support').status, 'warning');
    const vpc = await doctor(compile(doctorYaml({ url: s.url, edits: monitor('10.0.0.2:53') })));
    assert.equal(only(vpc, 'awsdns.dns-support').status, 'error');
  });

  it('iam-denied: ReplaceRoute denied by DryRun names the permission; Route 53 write is not checkable', async () => {
    const s = await sim('iam-denied');
    const r = await doctor(compile(doctorYaml({ url: s.url, keys: 'denied' })));
    for (const server of ['node-1', 'node-2']) {
      const f = only(r, 'awsvip.iam', `resource awsvip1 (${server})`);
      assert.equal(f.status, 'error');
      assert.equal(f.code, 'awsvip 50');
      assert.match(
        f.message,
        /ec2:ReplaceRoute is denied on rtb-0000000000000public, rtb-00000000000private1, rtb-00000000000private2/,
      );
      assert.match(f.remedy ?? '', /Grant ec2:ReplaceRoute on every route table holding 10\.1\.0\.20\/32/);
    }
    assert.equal(only(r, 'awsdns.read').status, 'ok');
    const write = only(r, 'awsdns.write');
    assert.equal(write.status, 'skipped');
    assert.match(write.message, /Route 53 has no DryRun/);
    assert.deepEqual(
      errors(r).map((e) => e.id),
      ['awsvip.iam', 'awsvip.iam'],
    );
    assert.equal(exitCodeOf(r), 1);
  });

  it('vip-in-cidr: a VIP inside the VPC CIDR is awsvip 53', async () => {
    const s = await sim('vip-in-cidr');
    const r = await doctor(compile(doctorYaml({ url: s.url, edits: [['ip: 10.1.0.20', 'ip: 10.0.5.20']] })));
    const f = only(r, 'awsvip.cidr');
    assert.equal(f.status, 'error');
    assert.equal(f.code, 'awsvip 53');
    assert.equal(f.object, 'resource awsvip1 (node-1, node-2)');
    assert.match(f.message, /the VIP 10\.0\.5\.20 is inside 10\.0\.0\.0\/16, a CIDR block of vpc-0a1b2c3d/);
    assert.match(f.remedy ?? '', /outside every CIDR block of vpc-0a1b2c3d/);
    assert.equal(only(r, 'awsvip.routes').status, 'ok', 'the world has the route; only the address is wrong');
    assert.equal(exitCodeOf(r), 1);
  });

  it('unknown VPC, ENI, allocation, hosted zone, zone and instance are named', async () => {
    const s = await sim(null);
    const r = await doctor(
      compile(
        doctorYaml({
          url: s.url,
          edits: [
            ['vpcId: vpc-0a1b2c3d', 'vpcId: vpc-0deadbeef'],
            ['allocationId: eipalloc-0000000000000001', 'allocationId: eipalloc-0deadbeefdeadbeef'],
            [
              'node-2: { eniId: eni-0000000000000002 }\n      - name: awsdns1',
              'node-2: { eniId: eni-0deadbeefdeadbeef }\n      - name: awsdns1',
            ],
            ['hostedZoneId: Z0123456789ABC', 'hostedZoneId: Z0DEADBEEF0000'],
            ['node-2: { availabilityZone: us-east-1b }', 'node-2: { availabilityZone: us-east-1x }'],
            ['node-2: { instanceId: i-0000000000000002', 'node-2: { instanceId: i-0deadbeefdeadbeef'],
          ],
        }),
      ),
    );
    const vpc = only(r, 'awsvip.vpc');
    assert.equal(vpc.status, 'error');
    assert.equal(vpc.code, 'awsvip 50');
    assert.match(vpc.message, /vpc-0deadbeef/);
    assert.match(vpc.remedy ?? '', /Set vpcId of awsvip1/);
    assert.equal(only(r, 'awsvip.cidr').status, 'skipped');
    const eni = only(r, 'awsvip.eni', 'resource awsvip1 (node-1)');
    assert.equal(eni.status, 'error', 'eni-1 is not in the configured VPC');
    assert.match(eni.message, /ENI eni-0000000000000001 is in vpc-0a1b2c3d, not in vpc-0deadbeef/);
    const alloc = only(r, 'awseip.allocation');
    assert.equal(alloc.code, 'awseip 50');
    assert.match(alloc.message, /eipalloc-0deadbeefdeadbeef/);
    assert.match(alloc.remedy ?? '', /Set allocationId of awseip1/);
    const eipEni = only(r, 'awseip.eni', 'resource awseip1 (node-2)');
    assert.equal(eipEni.status, 'error');
    assert.match(eipEni.message, /eni-0deadbeefdeadbeef/);
    assert.match(eipEni.remedy ?? '', /servers\.node-2\.eniId of awseip1/);
    const zone = only(r, 'awsdns.zone');
    assert.equal(zone.code, 'awsdns 50');
    assert.match(zone.message, /Z0DEADBEEF0000/);
    assert.match(zone.remedy ?? '', /Set hostedZoneId of awsdns1/);
    const az = only(r, 'awsazw.zone', 'monitor awsazw1 (node-2)');
    assert.equal(az.status, 'error');
    assert.equal(az.code, 'awsazw 5');
    assert.match(az.message, /Invalid availability zone: \[us-east-1x\]/);
    assert.equal(only(r, 'awsazw.zone', 'monitor awsazw1 (node-1)').status, 'ok');
    const inst = only(r, 'fencing.instance', 'fencing node-2 (i-0deadbeefdeadbeef)');
    assert.equal(inst.status, 'error');
    assert.equal(inst.code, 'awsfencew 1');
    assert.match(inst.message, /i-0deadbeefdeadbeef/);
    assert.match(inst.remedy ?? '', /fencing\.servers\.node-2\.instanceId/);
    assert.equal(exitCodeOf(r), 1);
  });

  it('no credentials: the access error with the codes it causes, every AWS check skipped', async () => {
    const s = await sim(null);
    const r = await doctor(compile(doctorYaml({ url: s.url, keys: null })));
    const f = only(r, 'aws.credentials');
    assert.equal(f.status, 'error');
    assert.equal(f.code, 'awsvip 51 / awseip 51 / awsdns 52 / awsazw 5 / fencing 3');
    assert.match(f.message, /no AWS credentials found/);
    assert.match(f.remedy ?? '', /aws configure/);
    assert.equal(only(r, 'imds.reachable').status, 'error', 'the credentials would need the instance role');
    for (const id of ['awsvip', 'awseip', 'awsdns', 'awsazw.zone', 'fencing', 'timing.aws-calls']) {
      assert.equal(only(r, id).status, 'skipped', id);
    }
    assert.equal(r.findings.filter((x) => x.id === 'aws.ec2').length, 0, 'no AWS call at all');
    assert.equal(exitCodeOf(r), 1);
  });

  it('credentials from the instance role: IMDS is then needed, and reports this machine', async () => {
    const s = await sim(null);
    const r = await doctor(compile(doctorYaml({ url: s.url, keys: null })), {
      server: 'node-2',
      imds: s.imds['i-0000000000000002']!,
    });
    assert.match(only(r, 'aws.credentials').message, /instance role tandem-ha \(IMDS\)/);
    assert.match(
      only(r, 'imds.reachable').message,
      /this machine is i-0000000000000002 \(us-east-1b, vpc-0a1b2c3d\)/,
    );
    assert.deepEqual(errors(r), []);
  });

  it('--server on the wrong machine: the instance id and zone do not match', async () => {
    const s = await sim(null);
    const r = await doctor(compile(doctorYaml({ url: s.url })), {
      server: 'node-1',
      imds: s.imds['i-0000000000000002']!,
    });
    const f = only(r, 'imds.instance');
    assert.equal(f.status, 'warning');
    assert.match(
      f.message,
      /this machine is i-0000000000000002, the config says node-1 is i-0000000000000001/,
    );
    assert.equal(only(r, 'awsvip.eni').status, 'warning');
    assert.match(only(r, 'awsazw.zone').message, /this machine \(node-1\) is in us-east-1b/);
  });

  it('EC2 gives no answer: one error with the timeout codes, the EC2 checks skipped', async () => {
    const s = await sim(null);
    s.injectFault({ action: 'DescribeAvailabilityZones', kind: 'noAnswer' });
    const r = await doctor(compile(doctorYaml({ url: s.url })), { callTimeoutMs: 300 });
    const f = only(r, 'aws.ec2');
    assert.equal(f.status, 'error');
    assert.equal(f.code, 'awsvip 9 / awseip 53 / awsazw 6 / fencing 4');
    assert.match(f.message, /no answer/);
    assert.equal(only(r, 'awsvip').status, 'skipped');
    assert.equal(only(r, 'aws.route53').status, 'ok', 'Route 53 still answers');
    assert.equal(only(r, 'awsdns.read').status, 'ok');
    s.clearFaults();
  });

  it('a proxy that does not answer: shown masked, and named in the no-answer errors', async () => {
    const s = await sim(null);
    const port = await closedPort();
    const r = await doctor(
      compile(
        doctorYaml({
          url: s.url,
          edits: [
            ['  callTimeout: 10s\n', `  callTimeout: 10s\n  proxy: http://ha:pa55word@127.0.0.1:${port}\n`],
          ],
        }),
      ),
      { callTimeoutMs: 2000 },
    );
    assert.doesNotMatch(JSON.stringify(r), /pa55word/);
    assert.match(
      only(r, 'aws.proxy').message,
      new RegExp(`through the proxy http://ha:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}`),
    );
    for (const id of ['aws.ec2', 'aws.route53']) {
      const f = only(r, id);
      assert.equal(f.status, 'error', id);
      assert.match(f.message, /through the proxy http:\/\/ha:\*\*\*\*@/);
      assert.match(f.remedy ?? '', /aws\.proxy/);
    }
    assert.equal(only(r, 'awsdns').status, 'skipped');
  });

  it('runs the AWS calls in parallel', async () => {
    const s = await sim(null);
    s.setLatency(200, 200);
    const r = await doctor(compile(doctorYaml({ url: s.url })));
    s.setLatency(0, 0);
    const calls = r.findings.filter((f) => f.durationMs !== undefined).length;
    assert.ok(calls >= 15, `${calls} findings with calls`);
    // One after the other, 15 findings with a 200 ms call each take 3 s and more; in parallel a few rounds.
    assert.ok(r.summary.durationMs < 2500, `took ${r.summary.durationMs} ms`);
  });
});

describe('doctor without AWS', () => {
  it('a config with no AWS objects has nothing to check', async () => {
    const c = compile(`cluster: { name: c1, secretFile: ./s }
servers:
  - { name: node-1, interconnects: ["127.0.0.1"] }
groups:
  - name: g1
    resources:
      - { name: exec1, type: exec, start: ./start.sh }
`);
    const r = await runDoctor(c, { env: {} });
    assert.deepEqual(
      r.findings.map((f) => [f.id, f.status]),
      [['aws.unused', 'ok']],
    );
    assert.equal(exitCodeOf(r), 0);
  });

  it('the probe memoizes by key and bounds the calls in flight', async () => {
    const probe = new Probe({ callTimeoutMs: 1000, concurrency: 2 });
    let inFlight = 0;
    let most = 0;
    let runs = 0;
    const slow = async (): Promise<number> => {
      runs++;
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 10));
      inFlight--;
      return runs;
    };
    const outs = await Promise.all([
      probe.call('a', 'ec2', 'A', slow),
      probe.call('a', 'ec2', 'A', slow),
      probe.call('b', 'ec2', 'B', slow),
      probe.call('c', 'ec2', 'C', slow),
      probe.call('d', 'ec2', 'D', slow),
    ]);
    assert.equal(runs, 4);
    assert.equal(most, 2);
    assert.equal(outs[0], outs[1]);
    assert.equal(probe.records().length, 4);
    const failed = await probe.call('e', 'ec2', 'E', () => Promise.reject(new Error('boom')));
    assert.equal(failed.ok, false);
    assert.equal(probe.records().at(-1)?.answered, false);
  });

  it('spread: min, median and max', () => {
    assert.deepEqual(spread([30, 10, 20]), { min: 10, median: 20, max: 30 });
    assert.deepEqual(spread([10, 20, 30, 40]), { min: 10, median: 25, max: 40 });
    assert.equal(spread([]), null);
  });

  it(`timing: a monitor or aws.callTimeout under ${MARGIN}x the slowest call is a warning`, () => {
    const config = compile(
      doctorYaml({
        url: 'http://127.0.0.1:1',
        edits: [
          ['callTimeout: 10s', 'callTimeout: 1s'],
          ['  - name: awsazw1\n    type: awsazw\n', '  - name: awsazw1\n    type: awsazw\n    timeout: 2s\n'],
        ],
      }),
    );
    let t = 0;
    const probe = new Probe({ callTimeoutMs: 5000, now: () => t });
    const ctx = { config, probe, server: null } as unknown as DoctorContext;
    const call = (ms: number) =>
      probe.call(`k${ms}`, 'ec2', 'DescribeRouteTables', () => {
        t += ms;
        return Promise.resolve(null);
      });
    return (async () => {
      await call(200);
      await call(600);
      await call(1200);
      const fs = timingFindings(ctx);
      const byObj = (o: string, id: string) => fs.find((f) => f.object === o && f.id === id);
      assert.match(
        byObj('aws timing', 'timing.aws-calls')?.message ?? '',
        /3 AWS calls answered in min 200 ms, median 600 ms, max 1\.2 s/,
      );
      assert.equal(byObj('aws timing', 'timing.call-timeout')?.status, 'warning');
      const azw = byObj('monitor awsazw1', 'timing.monitor');
      assert.equal(azw?.status, 'warning');
      assert.equal(azw?.code, 'awsazw 6');
      assert.match(azw?.remedy ?? '', /at least 2\.4 s/);
      assert.equal(byObj('monitor awsvipw1', 'timing.monitor')?.status, 'ok', 'default 100 s');
    })();
  });

  it('renders one line per finding, the fix below problems, and a summary', () => {
    const text = renderDoctor({
      findings: [
        {
          id: 'a',
          status: 'ok',
          object: 'aws access',
          code: null,
          message: 'region us-east-1',
          remedy: null,
        },
        {
          id: 'b',
          status: 'error',
          object: 'resource awsvip1 (node-2)',
          code: 'awsvip 53',
          message: 'the VIP is inside',
          remedy: 'choose another',
        },
      ],
      summary: { ok: 1, warning: 0, error: 1, skipped: 0, server: 'node-2', durationMs: 12 },
    });
    assert.equal(
      text,
      'ok       aws access: region us-east-1\n' +
        'error    resource awsvip1 (node-2): the VIP is inside (awsvip 53)\n' +
        '         fix: choose another\n' +
        '1 ok, 0 warnings, 1 error, 0 skipped (server node-2, 12 ms): fix the errors above before relying on the cluster\n',
    );
  });
});
