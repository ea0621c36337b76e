/** The IMDSv2 client against a loopback fake IMDS: tokens, their cache and refresh, and the error kinds. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { freeTcpPort } from '../adapters/test-support.ts';
import { AwsCallError } from './errors.ts';
import { IMDS_TOKEN_TTL_SEC, ImdsClient } from './imds.ts';
import { startFakeImds } from './test-fakes.ts';
import type { FakeImds } from './test-fakes.ts';

let imds: FakeImds;
let wall = 1_000_000;

before(async () => {
  imds = await startFakeImds({
    'meta-data/placement/region': 'ap-northeast-1',
    'meta-data/instance-id': 'i-1',
  });
});
after(() => imds.close());
beforeEach(() => {
  imds.log.length = 0;
  imds.hang = false;
  wall = 1_000_000;
});

function client(over: Partial<ConstructorParameters<typeof ImdsClient>[0]> = {}): ImdsClient {
  return new ImdsClient({ endpoint: imds.url, disabled: false, now: () => wall, ...over });
}

async function failure(p: Promise<unknown>): Promise<AwsCallError> {
  const err = await p.then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AwsCallError, String(err));
  assert.equal(err.service, 'imds');
  return err;
}

describe('ImdsClient', () => {
  it('gets a token once (TTL 6 h) and reuses it for later GETs', async () => {
    const c = client();
    assert.equal(await c.get('meta-data/placement/region'), 'ap-northeast-1');
    assert.equal(await c.get('/meta-data/instance-id'), 'i-1');
    assert.deepEqual(
      imds.log.map((r) => `${r.method} ${r.path}`),
      [
        'PUT /latest/api/token',
        'GET /latest/meta-data/placement/region',
        'GET /latest/meta-data/instance-id',
      ],
    );
    assert.equal(imds.log[0]?.ttl, String(IMDS_TOKEN_TTL_SEC));
    assert.equal(imds.log[1]?.token, imds.log[2]?.token);
  });

  it('renews the token shortly before it expires', async () => {
    const c = client();
    await c.get('meta-data/instance-id');
    wall += IMDS_TOKEN_TTL_SEC * 1000 - 10 * 60_000; // 10 min before expiry: still good
    await c.get('meta-data/instance-id');
    wall += 6 * 60_000; // 4 min before expiry: renewed
    await c.get('meta-data/instance-id');
    assert.equal(imds.log.filter((r) => r.method === 'PUT').length, 2);
  });

  it('fetches a fresh token once when a GET answers 401', async () => {
    const c = client();
    await c.get('meta-data/instance-id');
    imds.revokeTokens();
    assert.equal(await c.get('meta-data/instance-id'), 'i-1');
    assert.deepEqual(
      imds.log.map((r) => r.method),
      ['PUT', 'GET', 'GET', 'PUT', 'GET'],
    );
  });

  it('answers `answered` with the HTTP status for a path IMDS does not have', async () => {
    const err = await failure(client().get('meta-data/iam/security-credentials/'));
    assert.equal(err.kind, 'answered');
    assert.equal(err.httpStatus, 404);
    assert.equal(err.operation, 'meta-data/iam/security-credentials/');
    assert.match(
      err.awsMessage,
      /answered GET \/latest\/meta-data\/iam\/security-credentials\/ with HTTP 404/,
    );
  });

  it('answers `no-answer` when nothing listens, and within its timeout when IMDS hangs', async () => {
    const port = await freeTcpPort('127.0.0.1');
    const refused = await failure(
      client({ endpoint: `http://127.0.0.1:${port}` }).get('meta-data/instance-id'),
    );
    assert.equal(refused.kind, 'no-answer');
    assert.match(refused.awsMessage, /ECONNREFUSED/);

    imds.hang = true;
    const t0 = performance.now();
    const slow = await failure(
      client({ timeoutMs: 10_000 }).get('meta-data/instance-id', { timeoutMs: 150 }),
    );
    assert.equal(slow.kind, 'no-answer');
    assert.equal(slow.awsMessage, `no answer from the instance metadata at ${imds.url} within 150 ms`);
    assert.ok(performance.now() - t0 < 5000);
  });

  it('is `access` when AWS_EC2_METADATA_DISABLED turned it off, without any request', async () => {
    const err = await failure(client({ disabled: true }).get('meta-data/instance-id'));
    assert.equal(err.kind, 'access');
    assert.equal(imds.log.length, 0);
  });

  it('reports a cancel by the caller as `no-answer`', async () => {
    imds.hang = true;
    const ctl = new AbortController();
    const p = client().get('meta-data/instance-id', { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 20);
    const err = await failure(p);
    assert.equal(err.kind, 'no-answer');
    assert.match(err.awsMessage, /^cancelled before/);
  });
});
