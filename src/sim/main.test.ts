/** `tandem sim` as a process: start on a free port, `sim show` (text and JSON), SIGTERM exits 0. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseListen } from './main.ts';

const BIN = fileURLToPath(new URL('../../bin/tandem', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('tandem sim', () => {
  it('serves the demo world, shows it, and stops on SIGTERM with exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'sim', '--listen', '127.0.0.1:0', '--latency', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await once(lines, 'line')) as [string];
      const url = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(first)?.[1];
      assert.ok(url !== undefined, first);
      assert.match(first, new RegExp(`AWS_ENDPOINT_URL=${url}`));
      const text = await run(['sim', 'show', '--endpoint', url]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /us-east-1b \(use1-az2\) {2}available/);
      assert.match(
        text.stdout,
        /rtb-00000000000private2 .*\n(.*\n)*? {4}10\.1\.0\.20\/32 +-> eni-0000000000000001/,
      );
      assert.match(
        text.stdout,
        /eipalloc-0000000000000001 {2}203\.0\.113\.10 -> eni-0000000000000001 \(i-0000000000000001\)/,
      );
      assert.match(
        text.stdout,
        /Z0123456789ABC {2}hz1\.local\. {2}private \(vpc-0a1b2c3d\)\n {4}srv\.hz1\.local\. A 60 10\.1\.0\.20/,
      );
      const json = await run(['sim', 'show', '--endpoint', url, '--json']);
      assert.equal((JSON.parse(json.stdout) as { region: string }).region, 'us-east-1');
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses a broken world file listing its problems, and an unreachable endpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-sim-'));
    try {
      const file = join(dir, 'w.yaml');
      writeFileSync(file, 'region: mars\navailabilityZones: []\n');
      const r = await run(['sim', '--world', file, '--listen', '127.0.0.1:0']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /w\.yaml:1: region: expected a region such as us-east-1/);
      assert.match(r.stderr, /w\.yaml:2: availabilityZones: /);
      const s = await run(['sim', 'show', '--endpoint', 'http://127.0.0.1:1']);
      assert.equal(s.code, 1);
      assert.match(s.stderr, /cannot reach the simulator at http:\/\/127\.0\.0\.1:1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses --listen', () => {
    assert.deepEqual(parseListen('127.0.0.1:4566'), { host: '127.0.0.1', port: 4566 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.ok('error' in parseListen('example.com:80'));
  });
});
