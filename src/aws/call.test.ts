/**
 * One call's deadline, retries and error kinds (call.ts), driven by scripted attempts that throw errors
 * shaped as the SDK's; randomness and sleep are injected so the backoff is asserted exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs, classify, MAX_ATTEMPTS, raceSignal, runAttempts, startDeadline } from './call.ts';
import type { CallDeps } from './call.ts';
import { AwsCallError } from './errors.ts';

/** An error as the SDK throws it for an AWS answer. */
function awsError(code: string, status: number, message = `${code} happened`): Error {
  return Object.assign(new Error(message), {
    name: code,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Deps whose sleep records the waits and returns at once. */
function fakeDeps(random = 0.5): CallDeps & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    now: () => performance.now(),
    random: () => random,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  };
}

/** Runs `script` (one entry per attempt: an error to throw or a value to return) through runAttempts. */
async function run(
  script: Array<Error | string>,
  opts: { deps?: CallDeps; timeoutMs?: number; callTimeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ result: string | AwsCallError; attempts: number }> {
  const deps = opts.deps ?? fakeDeps();
  const deadline = startDeadline(
    {
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
    opts.callTimeoutMs ?? 10_000,
    deps.now,
  );
  let attempts = 0;
  try {
    const result = await runAttempts({
      service: 'ec2',
      operation: 'ReplaceRoute',
      deadline,
      deps,
      endpoint: 'http://127.0.0.1:1',
      attempt: () => {
        const step = script[attempts++] ?? script[script.length - 1];
        return step instanceof Error ? Promise.reject(step) : Promise.resolve(step ?? '');
      },
    });
    return { result, attempts };
  } catch (err) {
    assert.ok(err instanceof AwsCallError, `not an AwsCallError: ${String(err)}`);
    return { result: err, attempts };
  } finally {
    deadline.dispose();
  }
}

describe('backoff', () => {
  it('is full jitter over 100 ms doubling up to 2 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, () => 0.999)),
      [99, 199, 399, 799, 1598, 1998],
    );
    assert.equal(
      backoffMs(3, () => 0),
      0,
    );
  });
});

describe('classify', () => {
  it('sorts throttling and 5xx (retry), other AWS errors (answered) and connection failures (no answer)', () => {
    assert.equal(classify(awsError('Throttling', 400)).kind, 'retry');
    assert.equal(classify(awsError('RequestLimitExceeded', 503)).kind, 'retry');
    assert.equal(classify(awsError('PriorRequestNotComplete', 400)).kind, 'retry');
    assert.equal(classify(awsError('Whatever', 429)).kind, 'retry');
    assert.equal(classify(awsError('InternalError', 500)).kind, 'retry');
    assert.equal(classify(awsError('InvalidVpcID.NotFound', 400)).kind, 'answered');
    assert.equal(classify(awsError('UnauthorizedOperation', 403)).kind, 'answered');
    assert.equal(classify(nodeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')).kind, 'no-answer');
    assert.equal(classify(Object.assign(new Error('aborted'), { name: 'AbortError' })).kind, 'no-answer');
    const reset = classify(new Error('socket hang up'));
    assert.equal(reset.kind, 'retry');
    assert.equal(reset.kind === 'retry' && reset.noAnswer, true);
  });

  it('takes the code from `Code` or the service error name, never from a plain Error', () => {
    const facts = classify(
      Object.assign(new Error('x'), { Code: 'Foo', $metadata: { httpStatusCode: 400 } }),
    );
    assert.equal(facts.facts.code, 'Foo');
    assert.equal(
      classify(Object.assign(new Error('bad xml'), { $metadata: { httpStatusCode: 200 } })).facts.code,
      null,
    );
  });
});

describe('runAttempts', () => {
  it('returns the answer of the first attempt that succeeds after a throttling burst', async () => {
    const deps = fakeDeps(0.5);
    const r = await run([awsError('Throttling', 400), awsError('RequestLimitExceeded', 400), 'ok'], { deps });
    assert.equal(r.result, 'ok');
    assert.equal(r.attempts, 3);
    assert.deepEqual(deps.waits, [50, 100]);
  });

  it('gives up after 5 attempts of throttling as `unavailable`, keeping the last AWS code', async () => {
    const deps = fakeDeps(0.5);
    const r = await run(
      [awsError('Throttling', 400), awsError('ThrottlingException', 400, 'Rate exceeded')],
      {
        deps,
      },
    );
    assert.equal(r.attempts, MAX_ATTEMPTS);
    assert.deepEqual(deps.waits, [50, 100, 200, 400]);
    assert.ok(r.result instanceof AwsCallError);
    assert.equal(r.result.kind, 'unavailable');
    assert.equal(r.result.awsCode, 'ThrottlingException');
    assert.equal(r.result.httpStatus, 400);
    assert.equal(r.result.message, 'ec2 ReplaceRoute: ThrottlingException: Rate exceeded');
  });

  it('stops retrying when the next wait would pass the deadline', async () => {
    const deps = fakeDeps(0.999);
    const r = await run([awsError('ServiceUnavailable', 503)], { deps, timeoutMs: 250 });
    // The fake sleep takes no time: 99 and 199 fit in 250 ms, the third wait (399) does not.
    assert.deepEqual(deps.waits, [99, 199]);
    assert.equal(r.attempts, 3);
    assert.ok(r.result instanceof AwsCallError);
    assert.equal(r.result.kind, 'unavailable');
    assert.equal(r.result.awsCode, 'ServiceUnavailable');
  });

  it('passes any other AWS error through at once as `answered` with code, text and status', async () => {
    const r = await run([
      awsError('InvalidRoute.NotFound', 400, "There is no route defined for '10.1.0.20/32'"),
    ]);
    assert.equal(r.attempts, 1);
    assert.ok(r.result instanceof AwsCallError);
    assert.equal(r.result.kind, 'answered');
    assert.equal(r.result.awsCode, 'InvalidRoute.NotFound');
    assert.equal(r.result.httpStatus, 400);
    assert.equal(r.result.awsMessage, "There is no route defined for '10.1.0.20/32'");
  });

  it('reports a refused connection as `no-answer` without retrying', async () => {
    const r = await run([nodeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')]);
    assert.equal(r.attempts, 1);
    assert.ok(r.result instanceof AwsCallError);
    assert.equal(r.result.kind, 'no-answer');
    assert.equal(
      r.result.message,
      'ec2 ReplaceRoute: no answer from http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  it('retries a reset connection (a stale keep-alive socket), and reports `no-answer` if it persists', async () => {
    const once = await run([nodeError('ECONNRESET', 'read ECONNRESET'), 'ok']);
    assert.equal(once.result, 'ok');
    const always = await run([new Error('socket hang up')]);
    assert.equal(always.attempts, MAX_ATTEMPTS);
    assert.ok(always.result instanceof AwsCallError);
    assert.equal(always.result.kind, 'no-answer');
  });

  it('reports the deadline as `no-answer` naming the timeout', async () => {
    const deps = fakeDeps();
    const deadline = startDeadline({ timeoutMs: 30 }, 5000, deps.now);
    const err = await runAttempts({
      service: 'route53',
      operation: 'GetChange',
      deadline,
      deps,
      endpoint: 'x',
      attempt: (signal) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () =>
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
          ),
        ),
    }).catch((e: unknown) => e);
    deadline.dispose();
    assert.ok(err instanceof AwsCallError);
    assert.equal(err.kind, 'no-answer');
    assert.equal(err.message, 'route53 GetChange: no answer within 30 ms');
  });

  it("caps the deadline by aws.callTimeout and reports the caller's cancel as `no-answer`", async () => {
    const deps = fakeDeps();
    const capped = startDeadline({ timeoutMs: 60_000 }, 40, deps.now);
    assert.equal(capped.timeoutMs, 40);
    capped.dispose();
    const ctl = new AbortController();
    ctl.abort();
    const r = await run(['never'], { signal: ctl.signal });
    assert.equal(r.attempts, 0);
    assert.ok(r.result instanceof AwsCallError);
    assert.equal(r.result.kind, 'no-answer');
    assert.match(r.result.awsMessage, /^cancelled after \d+ ms without an answer$/);
  });
});

describe('raceSignal', () => {
  it('rejects on abort and swallows the late failure of the raced promise', async () => {
    const ctl = new AbortController();
    let fail: (e: Error) => void = () => undefined;
    const slow = new Promise<string>((_r, reject) => {
      fail = reject;
    });
    const raced = raceSignal(slow, ctl.signal);
    ctl.abort(new Error('stop'));
    await assert.rejects(raced, /stop/);
    fail(new Error('late')); // must not become an unhandled rejection
    assert.equal(await raceSignal(Promise.resolve('v'), new AbortController().signal), 'v');
  });
});
