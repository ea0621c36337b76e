import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { Logger } from '../ports/logger.ts';
import { createLogger } from './logger.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

void test('logger: structured lines carry the server and honour the level', () => {
  const out = capture();
  const log: Logger = createLogger({ level: 'info', server: 'node-1', destination: out.stream });
  log.debug({ group: 'failover1' }, 'hidden');
  log.info({ group: 'failover1' }, 'group online');
  log.child({ component: 'heartbeat' }).warn({ peer: 'node-2' }, 'heartbeat lost');
  const lines = out.lines();
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.server, 'node-1');
  assert.equal(lines[0]!.group, 'failover1');
  assert.equal(lines[0]!.msg, 'group online');
  assert.equal(lines[0]!.level, 30);
  assert.equal(lines[1]!.component, 'heartbeat');
  assert.equal(lines[1]!.peer, 'node-2');
});

void test('logger: secrets, tokens and authorization values never reach the output', () => {
  const out = capture();
  const log = createLogger({ level: 'debug', server: 'node-1', destination: out.stream });
  log.info(
    {
      secret: 'S1',
      token: 'S2',
      request: { headers: { Authorization: 'Bearer S3', 'content-type': 'json' } },
      deep: { a: { b: { c: { Token: 'S4' } } } },
      list: [{ password: 'S5' }],
      secretFile: '/etc/tandem/cluster.secret',
    },
    'request',
  );
  log.child({ token: 'S6', nested: { secret: 'S7' } }).info({}, 'child');
  const err = new Error('boom');
  log.error({ err }, 'failed');
  const text = out
    .lines()
    .map((l) => JSON.stringify(l))
    .join('\n');
  for (const s of ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7'])
    assert.ok(!text.includes(`"${s}"`) && !text.includes(`Bearer ${s}`), s);
  const [first, , third] = out.lines();
  assert.equal(first!.secret, '[redacted]');
  assert.equal((first!.request as { headers: Record<string, unknown> }).headers['content-type'], 'json');
  assert.equal(first!.secretFile, '/etc/tandem/cluster.secret', 'paths of secret files are not secret');
  assert.equal((third!.err as { message: string }).message, 'boom', 'errors still serialize');
});
