// Unit tests of the AWS call helpers shared by the AWS drivers: the 90% budget, the classification of each
// AwsCallError kind, the mapping to a table's codes (resource vs monitor, noResponse picking 9 or 109) and
// remedies by AWS error code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsCallError } from '../../aws/errors.ts';
import { ResourceError } from '../../shared/errors.ts';
import { NoResponseError } from '../messages.ts';
import { AWSVIPW_MESSAGES } from '../awsvip/errors.ts';
import {
  allOrFirstError,
  awsFailure,
  awsFailureOf,
  CallBudget,
  sentence,
  type AwsFailureSpec,
} from './call.ts';

function spec(noResponse: 'none' | 'warn' | 'recover' | null): AwsFailureSpec<typeof AWSVIPW_MESSAGES> {
  return {
    table: AWSVIPW_MESSAGES,
    ids: {
      failed: 'AWSVIPW_AWS_FAILED',
      access: 'AWSVIPW_ACCESS_NOT_SET_UP',
      timeout: 'AWSVIPW_TIMEOUT',
      timeoutWarning: 'AWSVIPW_TIMEOUT_WARNING',
    },
    object: 'awsvipw1',
    noResponse,
    remedies: { InvalidVpcID: 'Specify a correct VPC ID.', permission: 'Grant ec2:DescribeRouteTables.' },
  };
}

const err = (kind: AwsCallError['kind'], awsCode: string | null, awsMessage: string) =>
  new AwsCallError({ kind, service: 'ec2', operation: 'DescribeRouteTables', awsCode, awsMessage });

void test('the budget is 90% of the timeout; a spent budget is a no-answer naming the operation', () => {
  let now = 1_000;
  const b = new CallBudget(2_000, new AbortController().signal, { now: () => now });
  assert.equal(b.totalMs, 1_800);
  assert.equal(b.options('ec2', 'ReplaceRoute').timeoutMs, 1_800);
  now += 1_000;
  assert.equal(b.remainingMs(), 800);
  now += 800;
  assert.throws(
    () => b.options('ec2', 'ReplaceRoute'),
    (e: unknown) => e instanceof AwsCallError && e.kind === 'no-answer' && e.operation === 'ReplaceRoute',
  );
});

void test('answered: code 50 with the AWS code and text and the remedy of that code (any spelling)', () => {
  const e = awsFailure(spec(null), err('answered', 'InvalidVpcId.Malformed', 'Invalid id: "x"'), 'x');
  assert.ok(!(e instanceof NoResponseError));
  assert.equal(e.code, 50);
  assert.equal(
    e.message,
    'The AWS call failed. EC2 DescribeRouteTables (x) answered InvalidVpcId.Malformed: Invalid id: "x". Specify a correct VPC ID.',
  );
  assert.equal(e.remedy, 'Specify a correct VPC ID.');
  const perm = awsFailure(
    spec('recover'),
    err('answered', 'UnauthorizedOperation', 'You are not authorized'),
  );
  assert.match(perm.message, /not authorized\. Grant ec2:DescribeRouteTables\.$/);
  const creds = awsFailure(spec(null), err('answered', 'AuthFailure', 'AWS was not able to validate'));
  assert.match(creds.remedy, /Check the credentials/);
  const other = awsFailure(spec(null), err('answered', 'InvalidParameterValue', 'bad'));
  assert.match(other.remedy, /^Read the AWS error/);
});

void test('access: code 51 with the layer text, never a NoResponseError', () => {
  const e = awsFailure(spec('warn'), err('access', null, 'no region: set aws.region'));
  assert.ok(e instanceof ResourceError && !(e instanceof NoResponseError));
  assert.equal(e.code, 51);
  assert.equal(e.message, 'AWS access is not set up. EC2 DescribeRouteTables: no region: set aws.region.');
});

void test('no answer and unavailable: resources fail with the timeout / 50; monitors throw NoResponseError', () => {
  const none = err('no-answer', null, 'no answer within 900 ms');
  const r = awsFailure(spec(null), none);
  assert.ok(!(r instanceof NoResponseError));
  assert.equal(r.code, 9);
  assert.equal(
    r.message,
    'Timeout occurred. EC2 DescribeRouteTables got no answer: no answer within 900 ms.',
  );
  const warn = awsFailure(spec('warn'), none);
  assert.ok(warn instanceof NoResponseError);
  assert.equal(warn.code, 109);
  for (const mode of ['recover', 'none'] as const) assert.equal(awsFailure(spec(mode), none).code, 9);

  const busy = err('unavailable', 'RequestLimitExceeded', 'Request limit exceeded.');
  const rb = awsFailure(spec(null), busy);
  assert.ok(!(rb instanceof NoResponseError));
  assert.equal(rb.code, 50);
  assert.match(
    rb.message,
    /stayed throttled or unavailable after retries: RequestLimitExceeded: Request limit/,
  );
  const mb = awsFailure(spec('warn'), busy);
  assert.ok(mb instanceof NoResponseError);
  assert.equal(mb.code, 109);
});

void test('allOrFirstError waits for every call and reports the first failure in list order', async () => {
  const order: string[] = [];
  const slowFail = new Promise<number>((_r, reject) =>
    setTimeout(() => {
      order.push('first');
      reject(new Error('first'));
    }, 20),
  );
  const fastFail = Promise.reject(new Error('second'));
  const ok = new Promise<string>((r) => setTimeout(() => r('x'), 40)).then((v) => (order.push('third'), v));
  await assert.rejects(allOrFirstError([slowFail, fastFail, ok]), /first/);
  assert.deepEqual(order, ['first', 'third']);
  assert.deepEqual(await allOrFirstError([Promise.resolve(1), Promise.resolve('a')]), [1, 'a']);
});

void test('awsFailureOf: one classification; an abort is no-answer, anything else a bug (null)', () => {
  const signal = new AbortController().signal;
  assert.equal(awsFailureOf(err('answered', 'X', 'bad'), signal)?.kind, 'failed');
  assert.equal(awsFailureOf(err('access', null, 'no region'), signal)?.kind, 'access');
  const busy = awsFailureOf(err('unavailable', 'Throttling', 'slow down'), signal);
  assert.deepEqual(
    busy && { kind: busy.kind, text: busy.text, throttled: busy.kind === 'no-answer' && busy.throttled },
    {
      kind: 'no-answer',
      text: 'ec2 DescribeRouteTables: Throttling: slow down (throttled or unavailable)',
      throttled: true,
    },
  );
  const none = awsFailureOf(err('no-answer', null, 'no answer within 900 ms'), signal);
  assert.equal(none?.text, 'ec2 DescribeRouteTables: no answer within 900 ms (no answer)');
  assert.equal(awsFailureOf(new Error('bug'), signal), null);
  const ac = new AbortController();
  ac.abort();
  assert.equal(awsFailureOf(new Error('aborted'), ac.signal)?.kind, 'no-answer');
});

void test('sentence ends a text with one full stop', () => {
  assert.equal(sentence('no answer'), 'no answer.');
  assert.equal(sentence(' done. '), 'done.');
  assert.equal(sentence('really?'), 'really?');
});

void test('the budget share can be the whole timeout; sleep ends with the budget or the signal', async () => {
  const ac = new AbortController();
  const whole = new CallBudget(40, ac.signal, { share: 1 });
  assert.equal(whole.totalMs, 40);
  assert.equal(whole.callOptions().signal, ac.signal);
  assert.equal(await whole.sleep(5), true);
  assert.equal(await whole.sleep(1_000), false); // cut at the end of the budget
  assert.equal(whole.expired, true);
  assert.equal(whole.callOptions().timeoutMs, 1);
  const other = new CallBudget(10_000, ac.signal);
  setTimeout(() => ac.abort(), 5);
  assert.equal(await other.sleep(5_000), false);
  assert.equal(other.expired, true);
});
