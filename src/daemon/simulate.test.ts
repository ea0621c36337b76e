/** `tandem simulate`: a decision saved the way the daemon saves it replays to the same plan. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterNode } from '../core/node.ts';
import { parseConfigText } from '../shared/config/index.ts';
import { main } from './simulate.ts';

const YAML = `cluster:
  name: sim1
  secretFile: ./s.secret
servers:
  - { name: node-1, interconnects: ["127.0.0.1"] }
  - { name: node-2, interconnects: ["127.0.0.2"] }
groups:
  - name: failover1
    resources:
      - { name: exec1, type: exec, start: "true", stop: "true" }
`;

function setup(): { dir: string; file: (plan?: unknown) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-simulate-'));
  writeFileSync(join(dir, 'cluster.yaml'), YAML);
  const { config } = parseConfigText(YAML, join(dir, 'cluster.yaml'));
  assert.ok(config);
  const node = new ClusterNode({
    config,
    self: 'node-1',
    incarnation: '000000000000001-00000001',
    nowMs: 0,
    persisted: null,
  });
  node.ready();
  const now = 400_000; // past the sync wait: the group is planned on node-1
  node.step({ type: 'tick' }, now);
  node.ready();
  const { ix: _ix, ...snapshot } = node.snapshot();
  const plan = node.view(now).plan;
  assert.ok(plan.steps.length > 0, 'the scenario must plan something');
  return {
    dir,
    file: (override?: unknown) => {
      const p = join(dir, `decision-${Math.random().toString(36).slice(2)}.json`);
      const record = {
        server: 'node-1',
        configHash: config.hash,
        nowMs: now,
        plan: override ?? plan,
        extra: { snapshot },
      };
      writeFileSync(p, JSON.stringify(record));
      return p;
    },
  };
}

function io(dir: string) {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (s: string) => void (out.stdout += s),
      stderr: (s: string) => void (out.stderr += s),
      env: {},
      cwd: dir,
    },
  };
}

test('a saved decision replays to the recorded plan', async () => {
  const { dir, file } = setup();
  const { out, io: i } = io(dir);
  const code = await main(['simulate', '--input', file(), '--config', 'cluster.yaml'], {
    prog: 'tandem',
    io: i,
  });
  assert.equal(code, 0, out.stderr);
  assert.match(out.stdout, /Plan for node-1:\n\s+1\. probe exec1 on node-1 \(failover1\)/);
  assert.match(out.stdout, /matches the recorded one/);
});

test('a plan that differs from what the core decides now exits 1 and shows both', async () => {
  const { dir, file } = setup();
  const { out, io: i } = io(dir);
  const code = await main(
    ['simulate', '--input', file({ server: 'node-1', steps: [] }), '--config', 'cluster.yaml'],
    {
      prog: 'tandem',
      io: i,
    },
  );
  assert.equal(code, 1);
  assert.match(out.stdout, /The recorded plan was different:\nPlan for node-1: nothing to do/);
});

test('bad input: missing --input, unreadable file, another config', async () => {
  const { dir, file } = setup();
  const a = io(dir);
  assert.equal(await main(['simulate'], { prog: 'tandem', io: a.io }), 2);
  assert.match(a.out.stderr, /--input is required/);
  const b = io(dir);
  assert.equal(
    await main(['simulate', '--input', 'nope.json', '--config', 'cluster.yaml'], {
      prog: 'tandem',
      io: b.io,
    }),
    2,
  );
  assert.match(b.out.stderr, /cannot read the decision input .*nope\.json/);
  writeFileSync(join(dir, 'other.yaml'), YAML.replace('name: sim1', 'name: sim2'));
  const c = io(dir);
  assert.equal(
    await main(['simulate', '--input', file(), '--config', 'other.yaml'], { prog: 'tandem', io: c.io }),
    2,
  );
  assert.match(c.out.stderr, /is not the config this decision was made with/);
});
