/** The EXPRESSCLUSTER compatibility commands map onto the same client calls, renderers and exit codes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiClientError } from '../client/client.ts';
import type { ClientCall } from '../../test/fixtures/cli/fixtures.ts';
import { fakeClient, sampleStatus } from '../../test/fixtures/cli/fixtures.ts';
import { expectGolden } from '../../test/fixtures/cli/golden.ts';
import type { StatusDoc } from '../shared/status.ts';
import type { CompatName } from './compat.ts';
import { compatMain } from './compat.ts';

async function run(
  name: CompatName,
  argv: string[],
  opts: { fail?: (method: string) => Error | null; status?: StatusDoc } = {},
): Promise<{
  code: number;
  stdout: string;
  stderr: string;
  calls: ClientCall[];
  hosts: (string | undefined)[];
}> {
  const r = {
    code: -1,
    stdout: '',
    stderr: '',
    calls: [] as ClientCall[],
    hosts: [] as (string | undefined)[],
  };
  r.code = await compatMain(name, argv, {
    io: {
      stdout: (t) => void (r.stdout += t),
      stderr: (t) => void (r.stderr += t),
      env: {},
      cwd: '/root',
      connect: ({ host }) => {
        r.hosts.push(host);
        const inner = fakeClient(r.calls, opts.status === undefined ? {} : { status: opts.status });
        if (opts.fail === undefined) return Promise.resolve(inner);
        const failing = opts.fail;
        const wrapped = Object.fromEntries(
          Object.entries(inner).map(([method, f]) => [
            method,
            (...a: unknown[]) => {
              const err = failing(method);
              if (err === null) return (f as (...x: unknown[]) => Promise<unknown>)(...a);
              r.calls.push({ method, args: a });
              return Promise.reject(err);
            },
          ]),
        ) as unknown as typeof inner;
        return Promise.resolve(wrapped);
      },
    },
  });
  return r;
}

describe('compatibility commands', () => {
  it('clpstat = tandem status (same golden), -h HOST picks the API', async () => {
    const r = await run('clpstat', ['-s', '-h', 'node-2']);
    assert.equal(r.code, 0);
    expectGolden('status', r.stdout);
    assert.deepEqual(r.hosts, ['node-2']);
  });

  const mapped: [CompatName, string[], ClientCall[]][] = [
    ['clpcl', ['-s'], [{ method: 'clusterStart', args: [{ all: false }] }]],
    ['clpcl', ['-t', '-a'], [{ method: 'clusterStop', args: [{ all: true }] }]],
    ['clpgrp', ['-s', 'failover1'], [{ method: 'groupStart', args: ['failover1', {}] }]],
    [
      'clpgrp',
      ['-s', 'failover1', '-h', 'node-2'],
      [{ method: 'groupStart', args: ['failover1', { server: 'node-2' }] }],
    ],
    ['clpgrp', ['-t', 'failover1'], [{ method: 'groupStop', args: ['failover1'] }]],
    [
      'clpgrp',
      ['-m', 'failover1', '-h', 'node-2'],
      [{ method: 'groupMove', args: ['failover1', { to: 'node-2' }] }],
    ],
    ['clpgrp', ['-m', 'failover1'], [{ method: 'groupMove', args: ['failover1', {}] }]],
    [
      'clpgrp',
      ['-s'],
      [
        { method: 'status', args: [] },
        { method: 'groupStart', args: ['failover2', {}] },
      ],
    ],
    [
      'clpgrp',
      ['-t'],
      [
        { method: 'status', args: [] },
        { method: 'groupStop', args: ['failover1'] },
      ],
    ],
    ['clpgrp', ['-t', '-h', 'node-2'], [{ method: 'status', args: [] }]],
    ['clprsc', ['-s', 'exec1'], [{ method: 'resourceStart', args: ['exec1'] }]],
    ['clprsc', ['-t', 'exec1', '-h', 'node-2'], [{ method: 'resourceStop', args: ['exec1'] }]],
    ['clpmonctrl', ['-s'], [{ method: 'monitorSuspend', args: [undefined] }]],
    ['clpmonctrl', ['-r', '-m', 'custom1'], [{ method: 'monitorResume', args: ['custom1'] }]],
    ['clpmdstat', [], [{ method: 'mdStatus', args: [] }]],
    ['clpmdstat', ['--mirror', 'md1'], [{ method: 'mdStatus', args: [] }]],
    ['clpmdctrl', ['--break', 'md1'], [{ method: 'mdBreak', args: ['md1'] }]],
    ['clpmdctrl', ['--force', 'md1'], [{ method: 'mdForce', args: ['md1'] }]],
    [
      'clpmdctrl',
      ['--recovery', 'md2', '--source', 'node-1'],
      [{ method: 'mdRecover', args: ['md2', 'node-1'] }],
    ],
    ['clpmdctrl', ['--recovery', 'md2'], [{ method: 'mdRecover', args: ['md2'] }]],
  ];
  for (const [name, argv, calls] of mapped) {
    it(`${name} ${argv.join(' ')}`, async () => {
      const r = await run(name, argv);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.calls, calls);
      assert.equal(r.stderr, '');
    });
  }

  it('-h is the API host except in clpgrp, where it is the target server', async () => {
    assert.deepEqual((await run('clprsc', ['-t', 'exec1', '-h', 'node-2'])).hosts, ['node-2']);
    assert.deepEqual((await run('clpgrp', ['-m', 'failover1', '-h', 'node-2'])).hosts, [undefined]);
  });

  it('clpgrp without GROUP: output (golden) and nothing to do', async () => {
    const s = await run('clpgrp', ['-s']);
    const t = await run('clpgrp', ['-t', '-h', 'node-2']);
    const none: StatusDoc = { ...sampleStatus(), groups: [] };
    const n = await run('clpgrp', ['-s'], { status: none });
    expectGolden('compat-clpgrp', s.stdout + t.stdout + n.stdout);
  });

  it('clpgrp -s without GROUP: exit 1 when one of the groups is refused, the others still run', async () => {
    const status = sampleStatus();
    status.groups = status.groups.map((g) => ({ ...g, state: 'offline' as const, server: null }));
    const r = await run('clpgrp', ['-s'], {
      status,
      fail: (m) =>
        m === 'groupStart'
          ? new ApiClientError({
              kind: 'http',
              status: 409,
              body: {
                error: { code: 'GROUP_BUSY', object: 'group failover1', message: 'busy', remedy: 'wait' },
              },
            })
          : null,
    });
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.calls.map((c) => c.method),
      ['status', 'groupStart', 'groupStart'],
    );
    assert.equal(
      r.stderr,
      'clpgrp: group failover1: refused (GROUP_BUSY): busy; wait\nclpgrp: group failover1: refused (GROUP_BUSY): busy; wait\n',
    );
  });

  it('a refused operation: exit 1, the same message with the compat name', async () => {
    const r = await run('clprsc', ['-s', 'exec1'], {
      fail: () =>
        new ApiClientError({
          kind: 'http',
          status: 409,
          body: {
            error: {
              code: 'CLUSTER_SERVICE_STOPPED',
              object: 'resource exec1',
              message: 'stopped',
              remedy: 'clpcl -s',
            },
          },
        }),
    });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'clprsc: resource exec1: refused (CLUSTER_SERVICE_STOPPED): stopped; clpcl -s\n');
  });

  const usage: [CompatName, string[], RegExp][] = [
    ['clpcl', [], /^clpcl: give exactly one of -s, -t\nUsage: clpcl -s\|-t \[-a\] \[-h HOST\]/],
    ['clpcl', ['-s', '-t'], /^clpcl: give exactly one of -s, -t\n/],
    ['clpcl', ['-s', 'extra'], /^clpcl: unexpected argument extra\nUsage: clpcl/],
    ['clpcl', ['-x'], /^clpcl: unknown option -x\nUsage: clpcl/],
    ['clpgrp', [], /^clpgrp: give exactly one of -s, -t, -m\nUsage: clpgrp -s \[GROUP\] \[-h SERVER\]/],
    ['clpgrp', ['-m'], /^clpgrp: -m needs the GROUP to move\nUsage: clpgrp/],
    ['clpgrp', ['-t', 'failover1', '-h', 'node-2'], /^clpgrp: -t GROUP stops the group wherever it runs/],
    ['clpgrp', ['-s', '-h'], /^clpgrp: option -h needs a value\n/],
    ['clprsc', ['-s'], /^clprsc: missing the RESOURCE name\nUsage: clprsc -s\|-t RESOURCE/],
    ['clprsc', ['-s', '-t', 'exec1'], /^clprsc: give exactly one of -s, -t\n/],
    [
      'clpmonctrl',
      ['-s', '-r'],
      /^clpmonctrl: give exactly one of -s, -r\nUsage: clpmonctrl -s\|-r \[-m MONITOR\]/,
    ],
    ['clpmonctrl', ['-s', 'custom1'], /^clpmonctrl: unexpected argument custom1\n/],
    ['clpstat', ['now'], /^clpstat: unexpected argument now\nUsage: clpstat/],
  ];
  for (const [name, argv, stderr] of usage) {
    it(`${name} ${argv.join(' ')} -> exit 2 naming the right syntax`, async () => {
      const r = await run(name, argv);
      assert.equal(r.code, 2);
      assert.match(r.stderr, stderr);
      assert.deepEqual(r.calls, []);
      assert.deepEqual(r.hosts, [], 'usage is checked before the config is read');
    });
  }

  it('--help prints the usage, exit 0', async () => {
    const r = await run('clpgrp', ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: clpgrp -s \[GROUP\]/);
  });
});
