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
import { main, parseListen } from './main.ts';

const BIN = fileURLToPath(new URL('../../bin/tandem', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `main` in this process, capturing what it writes. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const saved = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };
  process.stdout.write = (s: string) => ((out.stdout += s), true);
  process.stderr.write = (s: string) => ((out.stderr += s), true);
  try {
    const code = await main(args, { prog: 'tandem' });
    return { code, ...out };
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  }
}

describe('tandem sim', () => {
  it('serves the demo world, shows it, and stops on SIGTERM with exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'sim', '--listen', '127.0.0.1:0', '--latency', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const startup: string[] = [];
      for await (const line of lines) {
        startup.push(line);
        if (startup.filter((l) => l.includes('AWS_EC2_METADATA_SERVICE_ENDPOINT=')).length === 2) break;
      }
      const first = startup[0] ?? '';
      const url = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(first)?.[1];
      assert.ok(url !== undefined, first);
      assert.match(first, new RegExp(`AWS_ENDPOINT_URL=${url}`));
      const all = startup.join('\n');
      assert.match(
        all,
        /DNS for the hosted zones at udp 127\.0\.0\.1:\d+ \(try: dig @127\.0\.0\.1 -p \d+ srv\.hz1\.local\.\)/,
      );
      assert.match(
        all,
        /AWS_ACCESS_KEY_ID=AKIASIMALLOWED000001 AWS_SECRET_ACCESS_KEY=allowed-secret {2}# tandem-allowed/,
      );
      assert.match(
        all,
        /\nAWS_EC2_METADATA_SERVICE_ENDPOINT=http:\/\/127\.0\.0\.1:\d+ {2}# i-0000000000000001 \(us-east-1a\)\nAWS_EC2_METADATA_SERVICE_ENDPOINT=http:\/\/127\.0\.0\.1:\d+ {2}# i-0000000000000002 \(us-east-1b\)/,
      );
      const [text, json] = await Promise.all([
        run(['sim', 'show', '--endpoint', url]),
        run(['sim', 'show', '--endpoint', url, '--json']),
      ]);
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
      assert.match(text.stdout, /\n {4}IMDS http:\/\/127\.0\.0\.1:\d+ {2}role tandem-ha\n/);
      assert.match(text.stdout, /vpc-0a1b2c3d {2}10\.0\.0\.0\/16 {2}DNS support on, DNS hostnames off/);
      assert.match(text.stdout, /user tandem-allowed {2}AKIASIMALLOWED000001 {2}nothing denied/);
      assert.match(
        text.stdout,
        /role tandem-ha {2}nothing denied {2}\(i-0000000000000001, i-0000000000000002\)/,
      );
      assert.match(text.stdout, /DNS: udp 127\.0\.0\.1:\d+/);
      assert.ok(!text.stdout.includes('allowed-secret'));
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
      const [r, s] = await Promise.all([
        run(['sim', '--world', file, '--listen', '127.0.0.1:0']),
        run(['sim', 'show', '--endpoint', 'http://127.0.0.1:1']),
      ]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /w\.yaml:1: region: expected a region such as us-east-1/);
      assert.match(r.stderr, /w\.yaml:2: availabilityZones: /);
      assert.equal(s.code, 1);
      assert.match(s.stderr, /cannot reach the simulator at http:\/\/127\.0\.0\.1:1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad --imds-port, --dns and --stop-delay values, and documents them in --help', async () => {
    // Refused before anything starts, so in-process (a process per case is slow on a busy machine).
    const [port, dns, stop, help] = [
      await inProcess(['sim', '--listen', '127.0.0.1:0', '--imds-port', 'x']),
      await inProcess(['sim', '--listen', '127.0.0.1:0', '--dns', 'nowhere']),
      await inProcess(['sim', '--listen', '127.0.0.1:0', '--stop-delay', 'soon']),
      await inProcess(['sim', '--help']),
    ];
    assert.equal(port.code, 2);
    assert.match(port.stderr, /--imds-port x: expected a port number/);
    assert.equal(dns.code, 2);
    assert.match(dns.stderr, /--dns nowhere: expected HOST:PORT/);
    assert.equal(stop.code, 2);
    assert.match(stop.stderr, /--stop-delay soon: expected milliseconds/);
    assert.equal(help.code, 0);
    for (const opt of [
      '--imds-port PORT',
      '--dns HOST:PORT',
      '--stop-delay MS',
      'AWS_EC2_METADATA_SERVICE_ENDPOINT',
    ]) {
      assert.ok(help.stdout.includes(opt), opt);
    }
  });

  it('parses --listen', () => {
    assert.deepEqual(parseListen('127.0.0.1:4566'), { host: '127.0.0.1', port: 4566 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.ok('error' in parseListen('example.com:80'));
  });
});
