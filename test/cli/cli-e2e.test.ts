/**
 * The CLI end to end on loopback: `main()` with its real I/O reads a config file and secret, derives the
 * credential, picks the local server's API and talks to a real control API (fake DaemonControl behind
 * it, on a free port). Covers what the unit tests fake: credential derivation, endpoint choice, HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApiServer } from '../../src/api/server.ts';
import type { ApiServer } from '../../src/api/server.ts';
import { apiToken } from '../../src/shared/crypto.ts';
import { closedPort, FakeControl, RecordingLogger } from '../fixtures/cli/fixtures.ts';
import { expectGolden } from '../fixtures/cli/golden.ts';
import { compatMain } from '../../src/cli/compat.ts';
import { main } from '../../src/cli/main.ts';

function configYaml(apiPort: number, secretFile = './cluster.secret'): string {
  return `cluster:
  name: cluster1
  secretFile: ${secretFile}
  witness: { target: 127.0.0.3, port: 29004 }
servers:
  - name: node-1
    interconnects: ["127.0.0.1"]
    api: "127.0.0.1:${apiPort}"
  - name: node-2
    interconnects: ["127.0.0.2"]
    api: "127.0.0.2:${apiPort}"
groups:
  - name: failover1
    resources:
      - { name: exec1, type: exec, start: "./start.sh" }
`;
}

describe('tandem CLI against a live API on loopback', () => {
  let dir: string;
  let server: ApiServer;
  let control: FakeControl;
  let config: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
    writeFileSync(join(dir, 'cluster.secret'), 'e2e-secret\n', { mode: 0o600 });
    writeFileSync(join(dir, 'other.secret'), 'not-the-cluster-secret\n', { mode: 0o600 });
    control = new FakeControl();
    server = await createApiServer({
      control,
      token: apiToken('e2e-secret', 'cluster1'),
      log: new RecordingLogger(),
    });
    await server.listen('127.0.0.1', 0);
    config = join(dir, 'cluster.yaml');
    writeFileSync(config, configYaml(server.address().port));
    writeFileSync(join(dir, 'wrong-secret.yaml'), configYaml(server.address().port, './other.secret'));
    writeFileSync(join(dir, 'down.yaml'), configYaml(await closedPort()));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = { code: -1, stdout: '', stderr: '' };
    r.code = await main(argv, {
      io: { stdout: (t) => void (r.stdout += t), stderr: (t) => void (r.stderr += t), env: {}, cwd: dir },
    });
    return r;
  }

  it('tandem status: the clpstat view (golden)', async () => {
    const r = await run(['status', '--config', 'cluster.yaml']);
    assert.equal(r.code, 0, r.stderr);
    expectGolden('status', r.stdout);
  });

  it('tandem group move: carried out by the daemon, exit 0', async () => {
    control.operated.length = 0;
    const r = await run(['group', 'move', 'failover1', '--to', 'node-2', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'group-move done on node-1\n');
    assert.deepEqual(
      control.operated.map((o) => o.op),
      [{ op: 'group-move', group: 'failover1', to: 'node-2' }],
    );
  });

  it('a refusal: exit 1 with object, code and remedy', async () => {
    control.reply = () => ({
      requestId: 'r',
      ok: false,
      code: 'ALREADY_OFFLINE',
      object: 'failover1',
      message: 'group failover1 is already offline',
      remedy: 'nothing to do',
    });
    try {
      const r = await run(['group', 'stop', 'failover1', '--config', config]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        'tandem: group failover1: refused (ALREADY_OFFLINE): group failover1 is already offline; nothing to do\n',
      );
      const c = { code: -1, stderr: '' };
      c.code = await compatMain('clpgrp', ['-t', 'failover1', '--config', config], {
        io: { stdout: () => undefined, stderr: (t) => void (c.stderr += t), env: {}, cwd: dir },
      });
      assert.equal(c.code, 1);
      assert.match(c.stderr, /^clpgrp: group failover1: refused \(ALREADY_OFFLINE\)/);
    } finally {
      control.reply = (op) => ({ requestId: 'r1', ok: true, message: `${op.op} done on node-1` });
    }
  });

  it('an unknown group: exit 1, NOT_FOUND listing the groups', async () => {
    const r = await run(['group', 'start', 'nope', '--config', config]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^tandem: group nope: refused \(NOT_FOUND\): no group named nope; valid groups: failover1, failover2; /,
    );
  });

  it("a secret that is not the cluster's: 401, exit 2", async () => {
    const r = await run(['status', '--config', 'wrong-secret.yaml']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^tandem: api: refused \(UNAUTHORIZED\): wrong credential/);
  });

  it('no daemon listening: exit 1, "cannot reach the Tandem API at ..."', async () => {
    const r = await run(['status', '--config', 'down.yaml']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^tandem: cannot reach the Tandem API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED; is the daemon running on that server\? start it with tandem daemon/,
    );
  });

  it('TANDEM_CONFIG selects the config file', async () => {
    const r = { code: -1, stdout: '' };
    r.code = await main(['status', '--json'], {
      io: {
        stdout: (t) => void (r.stdout += t),
        stderr: () => undefined,
        env: { TANDEM_CONFIG: config },
        cwd: '/',
      },
    });
    assert.equal(r.code, 0);
    assert.equal((JSON.parse(r.stdout) as { cluster: { name: string } }).cluster.name, 'cluster1');
  });
});
