/**
 * `createAwsAccess` end to end through the real SDK: where the region and the credentials come from (config,
 * environment, profile files, IMDS), what happens when they are missing, the endpoint overrides, and the
 * proxy (AWS API calls go through it, IMDS never does). A canned EC2 endpoint records which key and region
 * signed each request; the simulator serves the proxied calls; a fake IMDS serves region and role.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { freeTcpPort } from '../adapters/test-support.ts';
import type { CompiledAws } from '../shared/config/types.ts';
import { createSimServer } from '../sim/server.ts';
import type { SimServer } from '../sim/server.ts';
import { loadWorld } from '../sim/world.ts';
import { createAwsAccess } from './access.ts';
import { AwsCallError } from './errors.ts';
import {
  roleCredentialPaths,
  startConnectProxy,
  startFakeEc2,
  startFakeImds,
  TEST_WORLD_YAML,
} from './test-fakes.ts';
import type { CountingProxy, FakeEc2, FakeImds } from './test-fakes.ts';
import type { AwsAccess } from './types.ts';

const AZ_XML =
  '<availabilityZoneInfo><item><zoneName>us-east-1a</zoneName><zoneState>available</zoneState></item></availabilityZoneInfo>';

let dir: string;
let fakeEc2: FakeEc2;
let imds: FakeImds;
let sim: SimServer;
let closedUrl: string;
let emptyCreds: string;
let emptyConfig: string;
const opened: AwsAccess[] = [];

function settings(over: Partial<CompiledAws> = {}): CompiledAws {
  return { region: null, profile: null, proxy: null, callTimeoutMs: 3000, environment: {}, ...over };
}

/** An environment with nothing of the host's AWS setup: empty shared files, IMDS on a closed port. */
function bareEnv(over: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: dir,
    AWS_ENDPOINT_URL: fakeEc2.url,
    AWS_SHARED_CREDENTIALS_FILE: emptyCreds,
    AWS_CONFIG_FILE: emptyConfig,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: closedUrl,
    ...over,
  };
}

const KEYS = { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'env-secret' };

function open(s: CompiledAws, env: Record<string, string>): AwsAccess {
  const a = createAwsAccess(s, env, { homedir: dir });
  opened.push(a);
  return a;
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function failure(p: Promise<unknown>): Promise<AwsCallError> {
  const err = await p.then(
    (v) => assert.fail(`expected a failure, got ${JSON.stringify(v)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AwsCallError, String(err));
  return err;
}

/** One EC2 call; resolves to what the endpoint saw (signing key and region). */
async function probe(a: AwsAccess): Promise<{ key: string | null; region: string | null }> {
  const n = fakeEc2.requests.length;
  await a.ec2.availabilityZone('us-east-1a');
  const r = fakeEc2.requests[n];
  return { key: r?.accessKeyId ?? null, region: r?.region ?? null };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-aws-access-'));
  emptyCreds = await file('empty-credentials', '');
  emptyConfig = await file('empty-config', '');
  closedUrl = `http://127.0.0.1:${await freeTcpPort('127.0.0.1')}`;
  fakeEc2 = await startFakeEc2();
  fakeEc2.answers.set('DescribeAvailabilityZones', { status: 200, xml: AZ_XML });
  imds = await startFakeImds();
  sim = await createSimServer({
    world: loadWorld(TEST_WORLD_YAML, 'test-world.yaml'),
    host: '127.0.0.1',
    port: 0,
  });
});
after(async () => {
  for (const a of opened) a.close();
  await Promise.all([fakeEc2.close(), imds.close(), sim.close()]);
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  imds.paths.clear();
  imds.log.length = 0;
  imds.hang = false;
});

describe('first use', () => {
  it('does no I/O when created; resolve() looks things up and says where they came from', async () => {
    imds.paths.set('meta-data/placement/region', 'ap-northeast-1');
    const a = open(settings(), bareEnv({ ...KEYS, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }));
    assert.equal(imds.log.length, 0);
    assert.equal(fakeEc2.requests.length, 0);
    assert.deepEqual(await a.resolve(), {
      region: 'ap-northeast-1',
      regionSource: 'imds',
      regionError: null,
      credentialsSource: 'environment (AWS_ACCESS_KEY_ID)',
      credentialsError: null,
      proxy: null,
      endpoints: { ec2: fakeEc2.url, route53: fakeEc2.url, imds: imds.url },
    });
  });
});

describe('resolve', () => {
  it('never throws: a slow IMDS shows as the region error, the rest is reported', async () => {
    imds.hang = true;
    const a = open(settings(), bareEnv({ ...KEYS, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }));
    const r = await a.resolve({ timeoutMs: 100 });
    assert.equal(r.region, null);
    assert.equal(r.regionError, 'no answer within 100 ms while looking it up');
    assert.equal(r.credentialsSource, 'environment (AWS_ACCESS_KEY_ID)');
    assert.equal(r.credentialsError, null);
  });
});

describe('region', () => {
  it('takes aws.region first, then AWS_REGION, then AWS_DEFAULT_REGION (aws.environment over env)', async () => {
    const cfg = open(settings({ region: 'eu-west-1' }), bareEnv({ ...KEYS, AWS_REGION: 'us-west-2' }));
    assert.equal((await cfg.resolve()).regionSource, 'config');
    assert.equal((await probe(cfg)).region, 'eu-west-1');

    const env = open(
      settings({ environment: { AWS_REGION: 'eu-central-1' } }),
      bareEnv({ ...KEYS, AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-west-1' }),
    );
    assert.equal((await probe(env)).region, 'eu-central-1');
    assert.equal((await env.resolve()).regionSource, 'environment');

    const def = open(settings(), bareEnv({ ...KEYS, AWS_DEFAULT_REGION: 'us-west-1' }));
    assert.equal((await probe(def)).region, 'us-west-1');
  });

  it("takes the profile's region from the config file ([default] and [profile NAME])", async () => {
    const config = await file(
      'config-regions',
      '[default]\nregion = sa-east-1\n[profile ha]\nregion = ap-southeast-2\n',
    );
    const def = open(settings(), bareEnv({ ...KEYS, AWS_CONFIG_FILE: config }));
    assert.equal((await probe(def)).region, 'sa-east-1');
    assert.equal((await def.resolve()).regionSource, 'profile');
    // A named profile with static keys in the credentials file, region from the config file.
    const creds = await file(
      'credentials-ha',
      '[ha]\naws_access_key_id = AKIDHA\naws_secret_access_key = ha-secret\n',
    );
    const ha = open(
      settings({ profile: 'ha' }),
      bareEnv({ AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: creds }),
    );
    assert.deepEqual(await probe(ha), { key: 'AKIDHA', region: 'ap-southeast-2' });
  });

  it('takes the region from IMDS last, without the proxy', async () => {
    imds.paths.set('meta-data/placement/region', 'ca-central-1');
    const a = open(settings(), bareEnv({ ...KEYS, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }));
    assert.equal((await probe(a)).region, 'ca-central-1');
    assert.deepEqual(
      imds.log.map((r) => `${r.method} ${r.path}`),
      ['PUT /latest/api/token', 'GET /latest/meta-data/placement/region'],
    );
  });

  it('fails every call with `access` when there is no region, naming each place and the fix', async () => {
    const a = open(settings(), bareEnv(KEYS));
    for (const call of [a.ec2.vpcCidrs('vpc-1'), a.route53.hostedZone('Z1')]) {
      const err = await failure(call);
      assert.equal(err.kind, 'access');
      assert.match(
        err.awsMessage,
        /^no AWS region found: aws\.region is not set in the config; AWS_REGION and AWS_DEFAULT_REGION are not set; profile "default" in .*empty-config does not exist; the instance metadata at http:\/\/127\.0\.0\.1:\d+ gave none: .*ECONNREFUSED/,
      );
      assert.match(
        err.awsMessage,
        /Set aws\.region in the config, or AWS_REGION .* or run on EC2 with the instance metadata reachable\.$/,
      );
    }
    const r = await a.resolve();
    assert.equal(r.region, null);
    assert.equal(r.regionSource, null);
    assert.match(r.regionError ?? '', /^no AWS region found/);
    assert.equal(fakeEc2.requests.filter((x) => x.action === 'DescribeVpcs').length, 0);
  });
});

describe('credentials', () => {
  it('fails with `access` naming every source and the fix when there are none', async () => {
    const a = open(settings({ region: 'us-east-1' }), bareEnv());
    const err = await failure(a.ec2.instanceState('i-1'));
    assert.equal(err.kind, 'access');
    assert.equal(err.service, 'ec2');
    assert.equal(err.operation, 'DescribeInstances');
    assert.match(err.awsMessage, /the environment has no AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY/);
    assert.match(err.awsMessage, /profile "default" is in neither .*empty-credentials and .*empty-config/);
    assert.match(
      err.awsMessage,
      /the instance metadata at http:\/\/127\.0\.0\.1:\d+ gave no instance role: .*ECONNREFUSED/,
    );
    assert.match(
      err.awsMessage,
      /Run `aws configure` as the daemon user, set AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY in aws\.environment, or attach an IAM role to the instance\.$/,
    );
    const r = await a.resolve();
    assert.equal(r.credentialsSource, null);
    assert.equal(r.credentialsError, err.awsMessage);
    assert.equal(r.region, 'us-east-1');
  });

  it('takes the default profile of the credentials file, and says so', async () => {
    const creds = await file(
      'credentials-default',
      '[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n',
    );
    const a = open(settings({ region: 'us-east-1' }), bareEnv({ AWS_SHARED_CREDENTIALS_FILE: creds }));
    assert.equal((await probe(a)).key, 'AKIDFILE');
    assert.equal((await a.resolve()).credentialsSource, `profile default (${creds})`);
  });

  it('takes the instance role from IMDS, with its session token', async () => {
    for (const [p, v] of Object.entries(
      roleCredentialPaths('tandem-ha', {
        accessKeyId: 'ASIAROLE',
        secretAccessKey: 'role-secret',
        token: 'role-token',
        expiration: new Date(Date.now() + 3600_000),
      }),
    )) {
      imds.paths.set(p, v);
    }
    const a = open(
      settings({ region: 'us-east-1' }),
      bareEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }),
    );
    const n = fakeEc2.requests.length;
    assert.equal((await probe(a)).key, 'ASIAROLE');
    assert.equal(fakeEc2.requests[n]?.sessionToken, 'role-token');
    assert.equal((await a.resolve()).credentialsSource, 'instance role tandem-ha (IMDS)');
    // Cached: a second call asks IMDS nothing more.
    const asked = imds.log.length;
    await probe(a);
    assert.equal(imds.log.length, asked);
  });

  it('drops credentials AWS calls expired and fetches new ones from the instance role', async () => {
    for (const [p, v] of Object.entries(
      roleCredentialPaths('tandem-ha', {
        accessKeyId: 'ASIAROLE2',
        secretAccessKey: 'role-secret',
        token: 'role-token',
        expiration: new Date(Date.now() + 3600_000),
      }),
    )) {
      imds.paths.set(p, v);
    }
    const a = open(
      settings({ region: 'us-east-1' }),
      bareEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }),
    );
    await probe(a);
    const roleReads = () => imds.log.filter((r) => r.path.endsWith('/tandem-ha')).length;
    assert.equal(roleReads(), 1);
    fakeEc2.answers.set('DescribeInstances', {
      status: 400,
      code: 'ExpiredToken',
      message: 'The security token included in the request is expired',
    });
    const err = await failure(a.ec2.instanceState('i-1'));
    assert.equal(err.kind, 'answered');
    assert.equal(err.awsCode, 'ExpiredToken');
    await probe(a);
    assert.equal(roleReads(), 2);
  });

  it('keeps using unexpired role credentials while their renewal fails', async () => {
    const paths = roleCredentialPaths('tandem-ha', {
      accessKeyId: 'ASIASOON',
      secretAccessKey: 'role-secret',
      token: 'role-token',
      expiration: new Date(Date.now() + 4 * 60_000), // inside the 5 min renewal margin: renewed on every use
    });
    for (const [p, v] of Object.entries(paths)) imds.paths.set(p, v);
    const a = open(
      settings({ region: 'us-east-1' }),
      bareEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }),
    );
    assert.equal((await probe(a)).key, 'ASIASOON');
    imds.paths.set('meta-data/iam/security-credentials/tandem-ha', { status: 500, body: 'busy' });
    const reads = imds.log.length;
    assert.equal((await probe(a)).key, 'ASIASOON');
    assert.ok(imds.log.length > reads, 'a renewal was tried');
  });

  it('prefers environment keys to the files, unless a profile is named; a named profile must exist', async () => {
    const creds = await file(
      'credentials-two',
      '[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = s1\n[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s2\n',
    );
    const env = open(
      settings({ region: 'us-east-1' }),
      bareEnv({ ...KEYS, AWS_SHARED_CREDENTIALS_FILE: creds }),
    );
    assert.equal((await probe(env)).key, 'AKIDENV');
    const named = open(
      settings({ region: 'us-east-1', profile: 'ops' }),
      bareEnv({ ...KEYS, AWS_SHARED_CREDENTIALS_FILE: creds }),
    );
    assert.equal((await probe(named)).key, 'AKIDOPS');
    const viaEnv = open(
      settings({ region: 'us-east-1' }),
      bareEnv({ AWS_PROFILE: 'ops', AWS_SHARED_CREDENTIALS_FILE: creds }),
    );
    assert.equal((await probe(viaEnv)).key, 'AKIDOPS');

    const typo = open(
      settings({ region: 'us-east-1', profile: 'opz' }),
      bareEnv({ AWS_SHARED_CREDENTIALS_FILE: creds }),
    );
    const err = await failure(typo.ec2.vpcCidrs('vpc-1'));
    assert.equal(err.kind, 'access');
    assert.match(err.awsMessage, /profile "opz" is in neither/);
    assert.match(err.awsMessage, /aws configure --profile opz/);
    assert.equal(imds.log.length, 0);
  });

  it('reports a half-written profile precisely, without asking the SDK or falling back to the instance role', async () => {
    const creds = await file('credentials-broken', '[default]\naws_access_key_id = AKIDHALF\n');
    const a = open(
      settings({ region: 'us-east-1' }),
      bareEnv({ AWS_SHARED_CREDENTIALS_FILE: creds, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }),
    );
    const err = await failure(a.ec2.vpcCidrs('vpc-1'));
    assert.equal(err.kind, 'access');
    assert.match(
      err.awsMessage,
      /^profile "default" \(.*credentials-broken\) cannot give AWS credentials: it has aws_access_key_id but no aws_secret_access_key\. Fix the profile/,
    );
    assert.doesNotMatch(err.awsMessage, /AKIDHALF/);
    assert.equal(imds.log.length, 0);
  });

  it("refuses credentials the SDK's chain found past the profile, and reports the SDK's own failure", async () => {
    const config = await file(
      'config-role',
      '[profile ha]\nrole_arn = arn:aws:iam::123456789012:role/ha\nsource_profile = base\n',
    );
    const env = bareEnv({ AWS_CONFIG_FILE: config });
    const fellBack = createAwsAccess(settings({ region: 'us-east-1', profile: 'ha' }), env, {
      homedir: dir,
      profileProvider: () => () =>
        Promise.resolve(
          Object.assign(
            { accessKeyId: 'ASIAIMDS', secretAccessKey: 'x' },
            { $source: { CREDENTIALS_IMDS: '0' } },
          ),
        ),
    });
    opened.push(fellBack);
    const r = await fellBack.resolve();
    assert.equal(r.credentialsSource, null);
    assert.match(
      r.credentialsError ?? '',
      /profile "ha" \(.*config-role\) could not be used: the SDK found none there and fell back to CREDENTIALS_IMDS/,
    );

    const failing = createAwsAccess(settings({ region: 'us-east-1', profile: 'ha' }), env, {
      homedir: dir,
      profileProvider: () => () => Promise.reject(new Error('Profile base could not be found')),
    });
    opened.push(failing);
    const err = await failure(failing.ec2.vpcCidrs('vpc-1'));
    assert.equal(err.kind, 'access');
    assert.match(
      err.awsMessage,
      /could not be used: Profile base could not be found\. Fix the profile \(e\.g\. run `aws configure --profile ha`/,
    );

    const good = createAwsAccess(settings({ region: 'us-east-1', profile: 'ha' }), env, {
      homedir: dir,
      profileProvider: (init) => () => {
        assert.deepEqual(init, { profile: 'ha', filepath: emptyCreds, configFilepath: config });
        return Promise.resolve(
          Object.assign(
            { accessKeyId: 'ASIAROLEHA', secretAccessKey: 'x', sessionToken: 't' },
            { $source: { CREDENTIALS_PROFILE_SOURCE_PROFILE: 'o', CREDENTIALS_STS_ASSUME_ROLE: 'i' } },
          ),
        );
      },
    });
    opened.push(good);
    assert.equal((await good.resolve()).credentialsSource, `profile ha (${config})`);
  });
});

describe('endpoints', () => {
  it('sends EC2 to AWS_ENDPOINT_URL_EC2 and Route 53 to AWS_ENDPOINT_URL_ROUTE_53, else AWS_ENDPOINT_URL', async () => {
    const a = open(
      settings({ region: 'us-east-1' }),
      bareEnv({ ...KEYS, AWS_ENDPOINT_URL: sim.url, AWS_ENDPOINT_URL_EC2: fakeEc2.url }),
    );
    const n = fakeEc2.requests.length;
    await a.ec2.availabilityZone('us-east-1a');
    assert.equal(fakeEc2.requests.length, n + 1);
    assert.equal((await a.route53.hostedZone('Z0123456789ABC')).name, 'hz1.local.');

    const r53 = open(
      settings({ region: 'us-east-1' }),
      bareEnv({ ...KEYS, AWS_ENDPOINT_URL: sim.url, AWS_ENDPOINT_URL_ROUTE_53: closedUrl }),
    );
    assert.deepEqual(await r53.ec2.vpcCidrs('vpc-0a1b2c3d'), ['10.0.0.0/16', '10.2.0.0/16']);
    const err = await failure(r53.route53.hostedZone('Z0123456789ABC'));
    assert.equal(err.kind, 'no-answer');
    assert.match(err.awsMessage, /ECONNREFUSED/);
    assert.deepEqual((await r53.resolve()).endpoints, { ec2: sim.url, route53: closedUrl, imds: closedUrl });
  });
});

describe('malformed settings', () => {
  it('fails with `access` naming the variable of an endpoint that is not an http(s) URL', async () => {
    const a = open(settings({ region: 'us-east-1' }), bareEnv({ ...KEYS, AWS_ENDPOINT_URL_EC2: 'ftp://x' }));
    const err = await failure(a.ec2.vpcCidrs('vpc-1'));
    assert.equal(err.kind, 'access');
    assert.equal(
      err.awsMessage,
      "the EC2 endpoint ftp://x (AWS_ENDPOINT_URL_EC2) cannot be used: its scheme is ftp: (http: or https: is needed). Fix AWS_ENDPOINT_URL_EC2 in aws.environment or the daemon's environment.",
    );
    const m = open(settings(), bareEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'not a url' }));
    const imdsErr = await failure(m.imds.get('meta-data/instance-id'));
    assert.equal(imdsErr.kind, 'access');
    assert.match(imdsErr.awsMessage, /fix AWS_EC2_METADATA_SERVICE_ENDPOINT$/);
  });

  it('fails with `access` for a proxy that is not a URL', async () => {
    const a = open(settings({ region: 'us-east-1', proxy: 'proxy:3128' }), bareEnv(KEYS));
    const err = await failure(a.ec2.vpcCidrs('vpc-1'));
    assert.equal(err.kind, 'access');
    assert.match(err.awsMessage, /^the proxy aws\.proxy \(proxy:3128\) is not a usable URL/);
  });
});

describe('proxy', () => {
  let proxy: CountingProxy;
  before(async () => {
    proxy = await startConnectProxy();
  });
  after(() => proxy.close());

  it('carries the AWS API calls; IMDS never goes through it; the password is masked', async () => {
    imds.paths.set('meta-data/placement/region', 'us-east-1');
    imds.paths.set('meta-data/instance-id', 'i-0000000000000001');
    const url = new URL(proxy.url);
    const withAuth = `http://tandem:pr0xy-pass@${url.host}`;
    const a = open(
      settings({ proxy: withAuth }),
      bareEnv({ ...KEYS, AWS_ENDPOINT_URL: sim.url, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }),
    );
    assert.deepEqual(await a.ec2.vpcCidrs('vpc-0a1b2c3d'), ['10.0.0.0/16', '10.2.0.0/16']);
    assert.equal((await a.route53.hostedZone('Z0123456789ABC')).id, 'Z0123456789ABC');
    const simHost = new URL(sim.url).host;
    assert.ok(proxy.connects.length >= 1);
    assert.ok(
      proxy.connects.every((c) => c === simHost),
      proxy.connects.join(', '),
    );
    assert.ok(proxy.auth.every((x) => x === 'tandem:pr0xy-pass'));
    // The region came from IMDS, directly.
    assert.ok(imds.log.some((r) => r.path === '/latest/meta-data/placement/region'));
    const before = proxy.connects.length;
    assert.equal(await a.imds.get('meta-data/instance-id'), 'i-0000000000000001');
    assert.equal(proxy.connects.length, before);
    const r = await a.resolve();
    assert.equal(r.proxy, `http://tandem:****@${url.host}`);
    assert.doesNotMatch(JSON.stringify(r), /pr0xy-pass/);
  });

  it('reports a proxy that refuses connections as `no-answer`', async () => {
    const a = open(
      settings({ region: 'us-east-1', proxy: closedUrl }),
      bareEnv({ ...KEYS, AWS_ENDPOINT_URL: sim.url }),
    );
    const err = await failure(a.ec2.vpcCidrs('vpc-0a1b2c3d'));
    assert.equal(err.kind, 'no-answer');
    assert.match(err.awsMessage, /ECONNREFUSED/);
  });
});

describe('IMDS through AwsAccess', () => {
  it('caps the IMDS timeout by aws.callTimeout', async () => {
    imds.hang = true;
    const a = open(
      settings({ callTimeoutMs: 120 }),
      bareEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url }),
    );
    const err = await failure(a.imds.get('meta-data/instance-id'));
    assert.equal(err.kind, 'no-answer');
    // The text names the deadline that fired: 120 ms, not IMDS's own 2 s.
    assert.equal(err.awsMessage, `no answer from the instance metadata at ${imds.url} within 120 ms`);
  });
});
