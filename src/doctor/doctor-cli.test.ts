/**
 * `bin/tandem doctor --config F` as a process against a simulator started in the test on 127.0.0.1:0
 * (issue 4 section 6): exit 0 with the text report for a correct config, exit 1 and the `--json` document
 * for a mistake world; and (in this process, through `main()`) exit 2 for an invalid config or an unknown
 * `--server`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../cli/main.ts';
import { DEMO_WORLD_FILE } from '../sim/main.ts';
import { createSimServer, type SimServer } from '../sim/server.ts';
import { loadWorld } from '../sim/world.ts';
import { doctorYaml } from './testkit.ts';
import type { DoctorReport } from './types.ts';

const BIN = fileURLToPath(new URL('../../bin/tandem', import.meta.url));
const SDC_WORLD = fileURLToPath(new URL('../sim/worlds/source-dest-check-on.yaml', import.meta.url));

let dir: string;
let env: NodeJS.ProcessEnv;
const sims: SimServer[] = [];

async function sim(file: string): Promise<SimServer> {
  const s = await createSimServer({
    world: loadWorld(readFileSync(file, 'utf8'), file),
    host: '127.0.0.1',
    port: 0,
    imdsBasePort: 0,
  });
  sims.push(s);
  return s;
}

function tandem(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-doctor-cli-'));
  writeFileSync(join(dir, 'cluster.secret'), 'doctor-secret\n', { mode: 0o600 });
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const closed = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  // Hermetic: nothing of the host's AWS setup, and no instance metadata (a closed loopback port).
  env = {
    PATH: process.env['PATH'],
    HOME: dir,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${closed}`,
  };
});

after(async () => {
  await Promise.all(sims.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

// The two spawns run at once: most of their time is loading the TypeScript sources.
describe('tandem doctor (process)', { concurrency: true }, () => {
  it('a correct config against the demo world: exit 0, one finding per line and the summary', async () => {
    const s = await sim(DEMO_WORLD_FILE);
    const config = writeConfig('good.yaml', doctorYaml({ url: s.url }));
    const r = await tandem(['doctor', '--config', config]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {7}aws access: region us-east-1 \(from aws\.region in the config\)$/m);
    assert.match(
      r.stdout,
      /^ok {7}resource awsvip1 \(node-2\): Source\/Dest check is disabled on ENI eni-0000000000000002$/m,
    );
    assert.match(r.stdout, /^skipped {2}resource awsdns1 \(node-1, node-2\): write permission/m);
    assert.match(
      r.stdout,
      /\n\d+ ok, \d+ warnings?, 0 errors, 1 skipped \(every server, \d+ ms\): no errors; read the warnings above\n$/,
    );
  });

  it('--json on a mistake world: exit 1 and { findings, summary }', async () => {
    const s = await sim(SDC_WORLD);
    const config = writeConfig('sdc.yaml', doctorYaml({ url: s.url }));
    const r = await tandem(['doctor', '--config', config, '--server', 'node-2', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as DoctorReport;
    assert.deepEqual(Object.keys(doc), ['findings', 'summary']);
    assert.deepEqual(Object.keys(doc.summary), ['ok', 'warning', 'error', 'skipped', 'server', 'durationMs']);
    assert.equal(doc.summary.server, 'node-2');
    assert.equal(doc.summary.error, 1);
    for (const f of doc.findings) {
      assert.deepEqual(
        Object.keys(f).filter((k) => k !== 'durationMs'),
        ['id', 'status', 'object', 'code', 'message', 'remedy'],
      );
      assert.ok(['ok', 'warning', 'error', 'skipped'].includes(f.status));
    }
    const bad = doc.findings.filter((f) => f.status === 'error');
    assert.equal(bad.length, 1);
    assert.equal(bad[0]?.id, 'awsvip.source-dest-check');
    assert.equal(bad[0]?.object, 'resource awsvip1 (node-2)');
    assert.match(bad[0]?.remedy ?? '', /--no-source-dest-check/);
  });
});

/** `main()` in this process with captured output (the usage errors need no process of their own). */
async function tandemHere(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    io: { env, cwd: dir, stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
  });
  return { code, stdout, stderr };
}

describe('tandem doctor (usage and config errors)', () => {
  it('an invalid config: exit 2 with the issues, like config check', async () => {
    const config = writeConfig(
      'bad.yaml',
      doctorYaml({ url: 'http://127.0.0.1:1', edits: [['ip: 10.1.0.20', 'ip: 10.1.0.999']] }),
    );
    const r = await tandemHere(['doctor', '--config', config]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /is not valid \(1 error\)/);
    assert.match(r.stderr, /bad\.yaml:\d+:\d+: groups\[0\]\.resources\[0\]\.ip:/);
  });

  it('an unknown --server: exit 2 naming the servers', async () => {
    const config = writeConfig('srv.yaml', doctorYaml({ url: 'http://127.0.0.1:1' }));
    const r = await tandemHere(['doctor', '--config', config, '--server', 'node-9']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--server node-9: no such server .* \(servers: node-1, node-2\)/);
    assert.match(r.stderr, /Usage: tandem doctor \[--server NAME\]/);
  });
});
