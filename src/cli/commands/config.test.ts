/** `tandem config check|schema|show` on the fixture files (test/fixtures/cli); no daemon involved. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseConfigText } from '../../shared/config/index.ts';
import { main } from '../main.ts';

const fixtures = new URL('../../../test/fixtures/cli/', import.meta.url).pathname.replace(/\/$/, '');

// git keeps no permission bits but the executable one: give the fixture secret the mode a real one has, so
// that `config check` does not warn about a world-readable secret (that warning has its own test below).
before(() => chmodSync(`${fixtures}/cluster.secret`, 0o600));

async function run(
  argv: string[],
  cwd = fixtures,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = { code: -1, stdout: '', stderr: '' };
  r.code = await main(argv, {
    prog: 'tandem',
    io: {
      stdout: (t) => void (r.stdout += t),
      stderr: (t) => void (r.stderr += t),
      env: {},
      cwd,
      connect: () => Promise.reject(new Error('config commands must not call the API')),
    },
  });
  return r;
}

describe('tandem config check', () => {
  it('a valid file: exit 0 and a one-line summary', async () => {
    const r = await run(['config', 'check', 'cluster.yaml']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /^cluster\.yaml: valid: cluster cluster1, 2 servers, 1 group, 1 resource, \d+ monitors?\n$/,
    );
    assert.equal(r.stderr, '');
  });

  it('warnings only: every warning as FILE:LINE:COL, exit 0', async () => {
    const r = await run(['config', 'check', 'warning.yaml']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(lines.length >= 2);
    for (const l of lines.slice(0, -1)) assert.match(l, /^warning\.yaml:\d+:\d+: warning: [\w.[\]]+: .+; .+/);
    assert.match(lines.at(-1) ?? '', /^warning\.yaml: valid: .* \(\d+ warnings?\)$/);
  });

  it('errors: every issue as FILE:LINE:COL: path: what; how, then exit 2', async () => {
    const r = await run(['config', 'check', 'invalid.yaml']);
    assert.equal(r.code, 2);
    const lines = r.stdout.trimEnd().split('\n');
    const issues = parseConfigText(
      readFileSync(`${fixtures}/invalid.yaml`, 'utf8'),
      `${fixtures}/invalid.yaml`,
    ).issues;
    assert.equal(lines.length, issues.length + 1);
    for (const l of lines.slice(0, -1)) assert.match(l, /^invalid\.yaml:\d+:\d+: [\w.[\]]+: .+; .+/);
    assert.ok(lines.some((l) => /colour/.test(l)));
    assert.ok(lines.some((l) => /node-9/.test(l)));
    assert.match(
      lines.at(-1) ?? '',
      /^invalid\.yaml: not valid: \d+ errors?, \d+ warnings?; fix the errors above/,
    );
  });

  it('without FILE: the --config file; an absolute path outside cwd is shown as is', async () => {
    const r = await run(['config', 'check', '--config', `${fixtures}/cluster.yaml`], '/');
    assert.equal(r.code, 0);
    assert.ok(r.stdout.startsWith(`${fixtures}/cluster.yaml: valid:`));
  });

  it('a missing file: exit 2 naming it', async () => {
    const r = await run(['config', 'check', 'nope.yaml']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^tandem: cannot read the config file .*nope\.yaml: ENOENT/);
  });

  it('--json: validity, counts and the issues', async () => {
    const r = await run(['config', 'check', 'invalid.yaml', '--json']);
    assert.equal(r.code, 2);
    const j = JSON.parse(r.stdout) as { valid: boolean; errors: number; issues: { line: number }[] };
    assert.equal(j.valid, false);
    assert.ok(j.errors >= 2);
    assert.ok(j.issues.every((i) => i.line > 0));
  });
});

describe('tandem config schema / show', () => {
  it('schema: the JSON Schema of the config', async () => {
    const r = await run(['config', 'schema']);
    assert.equal(r.code, 0);
    const schema = JSON.parse(r.stdout) as { properties?: Record<string, unknown> };
    assert.ok(schema.properties?.['cluster'] !== undefined);
    assert.ok(schema.properties?.['servers'] !== undefined);
  });

  it('show: the compiled config as YAML, with the secret file path and never the secret', async () => {
    const r = await run(['config', 'show', 'cluster.yaml']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^# .*cluster\.yaml compiled: every default filled in/);
    const doc = parse(r.stdout) as {
      cluster: { name: string; secretFile: string; heartbeat: { intervalMs: number } };
    };
    assert.equal(doc.cluster.name, 'cluster1');
    assert.equal(doc.cluster.secretFile, `${fixtures}/cluster.secret`);
    assert.equal(doc.cluster.heartbeat.intervalMs, 1000);
    assert.ok(!r.stdout.includes('fixture-secret'));
  });

  it('show --json: the compiled config', async () => {
    const r = await run(['--json', 'config', 'show', `${fixtures}/cluster.yaml`], '/');
    assert.equal(r.code, 0);
    const expected = parseConfigText(
      readFileSync(`${fixtures}/cluster.yaml`, 'utf8'),
      `${fixtures}/cluster.yaml`,
    ).config;
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(expected)));
  });

  it('show never prints the password of the AWS proxy URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-cfg-'));
    try {
      const yaml = readFileSync(`${fixtures}/cluster.yaml`, 'utf8').replace(
        './cluster.secret',
        `${fixtures}/cluster.secret`,
      );
      writeFileSync(join(dir, 'c.yaml'), `${yaml}\naws:\n  proxy: http://user:s3cret@proxy.example:3128\n`);
      for (const argv of [
        ['config', 'show', 'c.yaml'],
        ['--json', 'config', 'show', 'c.yaml'],
      ]) {
        const r = await run(argv, dir);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!r.stdout.includes('s3cret'), r.stdout);
        assert.match(r.stdout, /user:\*\*\*@proxy\.example:3128/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('show of an invalid file: exit 2 with every issue', async () => {
    const r = await run(['config', 'show', 'invalid.yaml']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^tandem: the config file invalid\.yaml is not valid \(\d+ errors?\); fix it \(tandem config check invalid\.yaml\)\n/,
    );
    assert.match(r.stderr, /\ninvalid\.yaml:\d+:\d+: /);
  });
});

describe('tandem config check: the secret file', () => {
  it('warns when the secret file is readable by other users', async () => {
    chmodSync(`${fixtures}/cluster.secret`, 0o644);
    try {
      const r = await run(['config', 'check', 'cluster.yaml']);
      assert.equal(r.code, 0);
      assert.match(
        r.stdout,
        /^cluster\.yaml:\d+:\d+: warning: cluster\.secretFile: .*readable by other users.*chmod 600/m,
      );
    } finally {
      chmodSync(`${fixtures}/cluster.secret`, 0o600);
    }
  });
  it('refuses a missing secret file with the command that creates one', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/tandem-secret-');
    writeFileSync(
      `${dir}/c.yaml`,
      'cluster:\n  name: c\n  secretFile: ./missing.secret\nservers:\n  - name: a\n    interconnects: ["127.0.0.1"]\n',
    );
    const r = await run(['config', 'check', `${dir}/c.yaml`]);
    assert.equal(r.code, 2);
    assert.match(
      r.stdout,
      /c\.yaml:3:3: cluster\.secretFile: the secret file .*missing\.secret cannot be read \(ENOENT\); create it on every server: head -c 32/,
    );
  });
});
