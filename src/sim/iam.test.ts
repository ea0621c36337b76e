/**
 * IAM in the simulator through the real SDK: the default credential chain reading instance-role
 * credentials from the simulator's IMDS (`AWS_EC2_METADATA_SERVICE_ENDPOINT`), a stopped instance's role
 * credentials getting no answer, unknown keys (AuthFailure / InvalidClientTokenId), denied actions
 * (UnauthorizedOperation, DryRun included / AccessDenied), denials changed at run time, and a world without
 * an `iam:` section accepting any key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { EC2ClientConfig } from '@aws-sdk/client-ec2';
import {
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';
import { deniedBy, parseIamWorld } from './iam.ts';
import { DEMO_WORLD_FILE, WORLDS_DIR } from './main.ts';
import { createSimServer } from './server.ts';
import type { SimServer } from './server.ts';
import { loadWorld } from './world.ts';

type Credentials = NonNullable<EC2ClientConfig['credentials']>;

const I1 = 'i-0000000000000001';
const VIP = '10.1.0.20/32';
const TABLE = 'rtb-0000000000000public';
const DENIED = { accessKeyId: 'AKIASIMDENIED0000001', secretAccessKey: 'denied-secret' };
const ALLOWED = { accessKeyId: 'AKIASIMALLOWED000001', secretAccessKey: 'allowed-secret' };

let sim: SimServer;
const clients: Array<{ destroy(): void }> = [];
const ENV_KEYS = [
  'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
] as const;
const savedEnv = new Map(ENV_KEYS.map((k) => [k, process.env[k]]));
const dir = mkdtempSync(join(tmpdir(), 'tandem-sim-iam-'));

function ec2(credentials: Credentials, timeoutMs = 2000): EC2Client {
  const c = new EC2Client({
    endpoint: sim.url,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
    requestHandler: { requestTimeout: timeoutMs, throwOnRequestTimeout: true },
  });
  clients.push(c);
  return c;
}

function route53(credentials: { accessKeyId: string; secretAccessKey: string }): Route53Client {
  const c = new Route53Client({ endpoint: sim.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  clients.push(c);
  return c;
}

async function rejects(
  p: Promise<unknown>,
  name: string,
  status: number,
  message?: string | RegExp,
): Promise<void> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    assert.equal(e.name, name, e.message);
    assert.equal(e.$metadata?.httpStatusCode, status);
    if (typeof message === 'string') assert.equal(e.message, message);
    else if (message !== undefined) assert.match(e.message, message);
    return;
  }
  assert.fail(`expected ${name}`);
}

const replaceRoute = (c: EC2Client, dryRun = false): Promise<unknown> =>
  c.send(
    new ReplaceRouteCommand({
      RouteTableId: TABLE,
      DestinationCidrBlock: VIP,
      NetworkInterfaceId: 'eni-0000000000000002',
      DryRun: dryRun,
    }),
  );

const upsert = (c: Route53Client): Promise<unknown> =>
  c.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: 'Z0123456789ABC',
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'srv.hz1.local.',
              Type: 'A',
              TTL: 60,
              ResourceRecords: [{ Value: '10.1.0.21' }],
            },
          },
        ],
      },
    }),
  );

before(async () => {
  const file = join(WORLDS_DIR, 'iam-denied.yaml');
  const world = loadWorld(readFileSync(file, 'utf8'), file);
  sim = await createSimServer({ world, host: '127.0.0.1', port: 0, instanceStopDelayMs: 0 });
  // Nothing on this machine may leak into the default chain: only the simulator's IMDS provides credentials.
  for (const k of ENV_KEYS) delete process.env[k];
  process.env['AWS_CONFIG_FILE'] = join(dir, 'no-config');
  process.env['AWS_SHARED_CREDENTIALS_FILE'] = join(dir, 'no-credentials');
});
after(async () => {
  for (const c of clients) c.destroy();
  await sim.close();
  for (const [k, v] of savedEnv) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.setInstanceState(I1, 'running');
  sim.setDenials('tandem-ha', []);
  sim.setDenials('tandem-denied', ['ec2:ReplaceRoute', 'route53:ChangeResourceRecordSets']);
});

describe('instance role credentials from the simulated IMDS', () => {
  it('the SDK default chain gets the role credentials of the instance AWS_EC2_METADATA_SERVICE_ENDPOINT names', async () => {
    process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = sim.imds[I1];
    const creds = await defaultProvider()();
    assert.match(creds.accessKeyId, /^ASIA/);
    assert.ok(creds.sessionToken !== undefined && creds.sessionToken.length > 0);
    assert.ok(creds.expiration !== undefined && creds.expiration.getTime() > Date.now() + 5 * 3600_000);
    const c = ec2(creds);
    const r = await c.send(new DescribeInstancesCommand({ InstanceIds: [I1] }));
    assert.equal(
      r.Reservations?.[0]?.Instances?.[0]?.IamInstanceProfile?.Arn,
      'arn:aws:iam::123456789012:instance-profile/tandem-ha',
    );
    await rejects(replaceRoute(c, true), 'DryRunOperation', 412);
  });

  it("a stopped instance's role credentials get no answer from the API, and its IMDS none either", async () => {
    process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = sim.imds[I1];
    const creds = await fromInstanceMetadata({ timeout: 1000 })();
    const c = ec2(creds, 300);
    await c.send(new DescribeRouteTablesCommand({ RouteTableIds: [TABLE] }));
    sim.setInstanceState(I1, 'stopped');
    await assert.rejects(
      c.send(new DescribeRouteTablesCommand({ RouteTableIds: [TABLE] })),
      (e: Error) => e.name === 'TimeoutError' || /timeout/i.test(e.message),
    );
    await assert.rejects(fromInstanceMetadata({ timeout: 300 })(), /TimeoutError|instance metadata/i);
    sim.setInstanceState(I1, 'running');
    await c.send(new DescribeRouteTablesCommand({ RouteTableIds: [TABLE] }));
  });

  it('a role key without its session token, or an unknown key, is refused as AWS does', async () => {
    process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = sim.imds[I1];
    const creds = await fromInstanceMetadata({ timeout: 1000 })();
    const msg = 'AWS was not able to validate the provided access credentials';
    await rejects(
      ec2({ accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }).send(
        new DescribeRouteTablesCommand({}),
      ),
      'AuthFailure',
      401,
      msg,
    );
    const stranger = { accessKeyId: 'AKIAUNKNOWN000000001', secretAccessKey: 'x' };
    await rejects(ec2(stranger).send(new DescribeRouteTablesCommand({})), 'AuthFailure', 401, msg);
    await rejects(
      route53(stranger).send(new GetHostedZoneCommand({ Id: 'Z0123456789ABC' })),
      'InvalidClientTokenId',
      403,
      'The security token included in the request is invalid.',
    );
  });

  it('role denials apply to requests signed with its credentials, named by the assumed-role ARN', async () => {
    process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = sim.imds[I1];
    const c = ec2(await fromInstanceMetadata({ timeout: 1000 })());
    sim.setDenials('tandem-ha', ['ec2:Replace*']);
    await rejects(
      replaceRoute(c),
      'UnauthorizedOperation',
      403,
      /^You are not authorized to perform this operation\. User: arn:aws:sts::123456789012:assumed-role\/tandem-ha\/i-0000000000000001 is not authorized to perform: ec2:ReplaceRoute/,
    );
  });
});

describe('users and denied actions', () => {
  it('a denied EC2 action is UnauthorizedOperation, DryRun too; allowed ones and other users work', async () => {
    const denied = ec2(DENIED);
    await rejects(
      replaceRoute(denied),
      'UnauthorizedOperation',
      403,
      /^You are not authorized to perform this operation\./,
    );
    await rejects(replaceRoute(denied, true), 'UnauthorizedOperation', 403);
    await denied.send(new DescribeRouteTablesCommand({ RouteTableIds: [TABLE] }));
    await rejects(replaceRoute(ec2(ALLOWED), true), 'DryRunOperation', 412);
  });

  it('a denied Route 53 action is AccessDenied naming the user, the action and the zone', async () => {
    await rejects(
      upsert(route53(DENIED)),
      'AccessDenied',
      403,
      'User: arn:aws:iam::123456789012:user/tandem-denied is not authorized to perform: route53:ChangeResourceRecordSets on resource: arn:aws:route53:::hostedzone/Z0123456789ABC',
    );
    const zone = await route53(DENIED).send(new GetHostedZoneCommand({ Id: 'Z0123456789ABC' }));
    assert.deepEqual(zone.VPCs, [{ VPCRegion: 'us-east-1', VPCId: 'vpc-0a1b2c3d' }]);
    await upsert(route53(ALLOWED));
  });

  it('POST /_sim/iam/deny changes denials while running (by user name, key id or role), and refuses nonsense', async () => {
    const post = (body: unknown): Promise<Response> =>
      fetch(`${sim.url}/_sim/iam/deny`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal((await post({ principal: 'AKIASIMDENIED0000001', actions: [] })).status, 200);
    await replaceRoute(ec2(DENIED));
    const r = await post({ principal: 'tandem-allowed', actions: ['route53:*', 'ec2:Describe*'] });
    assert.equal(r.status, 200);
    const view = (await r.json()) as { iam: { users: Array<{ name: string; deny: string[] }> } };
    assert.deepEqual(view.iam.users.find((u) => u.name === 'tandem-allowed')?.deny, [
      'route53:*',
      'ec2:Describe*',
    ]);
    await rejects(ec2(ALLOWED).send(new DescribeRouteTablesCommand({})), 'UnauthorizedOperation', 403);
    await rejects(
      route53(ALLOWED).send(new GetHostedZoneCommand({ Id: 'Z0123456789ABC' })),
      'AccessDenied',
      403,
    );
    assert.equal((await post({ principal: 'tandem-allowed', actions: [] })).status, 200);
    const unknown = await post({ principal: 'nobody', actions: [] });
    assert.equal(unknown.status, 404);
    assert.match(
      ((await unknown.json()) as { error: { message: string } }).error.message,
      /no user or role nobody/,
    );
    assert.equal((await post({ principal: 'tandem-ha', actions: ['not a pattern'] })).status, 400);
  });
});

describe('IAM rules', () => {
  it('matches patterns case-insensitively with * and ? wildcards', () => {
    assert.equal(deniedBy(['ec2:ReplaceRoute'], 'ec2', 'ReplaceRoute'), 'ec2:ReplaceRoute');
    assert.equal(deniedBy(['EC2:replaceroute'], 'ec2', 'ReplaceRoute'), 'EC2:replaceroute');
    assert.equal(deniedBy(['route53:*'], 'route53', 'GetChange'), 'route53:*');
    assert.equal(deniedBy(['*'], 'ec2', 'DescribeVpcs'), '*');
    assert.equal(deniedBy(['ec2:Describe?pcs'], 'ec2', 'DescribeVpcs'), 'ec2:Describe?pcs');
    assert.equal(deniedBy(['ec2:Describe*'], 'ec2', 'ReplaceRoute'), undefined);
    assert.equal(deniedBy(['route53:*'], 'ec2', 'ReplaceRoute'), undefined);
  });

  it('names every problem of an iam: section by its path', () => {
    const err = (() => {
      try {
        parseIamWorld(
          {
            users: [
              { name: 'a', accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 's' },
              { name: 'a', accessKeyId: 'ASIAAAAAAAAAAAAAAAAA', secretAccessKey: 's', deny: [] },
            ],
            roles: [{ name: 'r' }],
          },
          [{ iamRole: 'r' }, { iamRole: 'missing' }],
        );
      } catch (e) {
        return e as Error & { issues: Array<{ path: string; message: string }> };
      }
      assert.fail('expected a ConfigError');
    })();
    const paths = err.issues.map((i) => i.path);
    assert.deepEqual(paths, ['iam.users[1].name', 'iam.users[1].accessKeyId', 'instances[1].iamRole']);
    assert.match(err.message, /role missing is not defined under iam\.roles \(r\)/);
  });

  it('without an iam: section any well-formed key is accepted and /_sim/iam/deny is refused with 409', async () => {
    const text = readFileSync(DEMO_WORLD_FILE, 'utf8').replace(/^iam:[\s\S]*$/m, '');
    const open = await createSimServer({ world: loadWorld(text, 'no-iam.yaml'), host: '127.0.0.1', port: 0 });
    try {
      const c = new EC2Client({
        endpoint: open.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDANYTHING', secretAccessKey: 'x' },
        maxAttempts: 1,
      });
      clients.push(c);
      await c.send(new DescribeRouteTablesCommand({}));
      const r = await fetch(`${open.url}/_sim/iam/deny`, {
        method: 'POST',
        body: JSON.stringify({ principal: 'x', actions: [] }),
      });
      assert.equal(r.status, 409);
    } finally {
      await open.close();
    }
  });
});
