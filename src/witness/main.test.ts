import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { freeTcpPort } from '../adapters/test-support.ts';
import { main, parseListen } from './main.ts';

const BIN = fileURLToPath(new URL('../../bin/tandem', import.meta.url));

/** Run `main` in-process with stderr captured. */
async function runMain(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  };
  try {
    return { code: await main(argv, { prog: 'tandem' }), stderr };
  } finally {
    process.stderr.write = write;
  }
}

void test('witness main: --listen parsing', () => {
  assert.deepEqual(parseListen('127.0.0.1:29004'), { host: '127.0.0.1', port: 29004 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseListen('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
  for (const bad of ['127.0.0.1', '127.0.0.1:99999', 'example.com:80', ':80', '[::1]']) {
    assert.ok('error' in parseListen(bad), bad);
  }
});

void test('witness main: usage errors exit 2 with a message', async () => {
  const cases: [string[], RegExp][] = [
    [['witness'], /--listen ADDR:PORT is required/],
    [['witness', '--listen', 'nowhere'], /expected ADDR:PORT/],
    [['witness', '--listen', '127.0.0.1:1', '--tls-cert', 'x.pem'], /go together/],
    [
      ['witness', '--listen', '127.0.0.1:1', '--tls-cert', '/nonexistent/c', '--tls-key', '/nonexistent/k'],
      /cannot read TLS files/,
    ],
    [['witness', '--listen', '127.0.0.1:1', '--log-level', 'loud'], /--log-level loud/],
    [['witness', '--bogus'], /Unknown option/],
  ];
  for (const [argv, re] of cases) {
    const r = await runMain(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, re);
  }
});

void test('witness main: `tandem witness` serves, and stops cleanly on SIGTERM', async () => {
  const port = await freeTcpPort('127.0.0.1');
  const child = spawn(process.execPath, [BIN, 'witness', '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('"msg":"witness listening"')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`witness exited ${code}: ${err}`)));
    });
    const health = await new Promise<number>((resolve, reject) =>
      get({ host: '127.0.0.1', port, path: '/v1/health', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject),
    );
    assert.equal(health, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.match(out, /"msg":"witness stopped"/);
    assert.match(out, /"server":"witness"/);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
});
