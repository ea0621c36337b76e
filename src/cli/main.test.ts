/**
 * `tandem` argument parsing, dispatch, output and exit codes, with an injected fake API client (no daemon,
 * no socket). Text outputs are compared with the goldens in test/fixtures/cli/golden.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiClientError } from '../client/client.ts';
import { ConfigError } from '../shared/errors.ts';
import type { StatusDoc } from '../shared/status.ts';
import { expectGolden } from '../../test/fixtures/cli/golden.ts';
import type { ClientCall } from '../../test/fixtures/cli/fixtures.ts';
import { fakeClient, sampleStatus } from '../../test/fixtures/cli/fixtures.ts';
import { main, version } from './main.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: ClientCall[];
  connects: { configPath: string; host: string | undefined }[];
}

async function run(
  argv: string[],
  opts: {
    fail?: () => Error;
    connectFails?: () => Error;
    env?: Record<string, string>;
    status?: StatusDoc;
  } = {},
): Promise<Run> {
  const r: Run = { code: -1, stdout: '', stderr: '', calls: [], connects: [] };
  r.code = await main(argv, {
    prog: 'tandem',
    io: {
      stdout: (t) => void (r.stdout += t),
      stderr: (t) => void (r.stderr += t),
      env: opts.env ?? {},
      cwd: '/home/op',
      connect: (o) => {
        r.connects.push(o);
        if (opts.connectFails !== undefined) return Promise.reject(opts.connectFails());
        const fo: { fail?: () => Error; status?: StatusDoc } = {};
        if (opts.fail !== undefined) fo.fail = opts.fail;
        if (opts.status !== undefined) fo.status = opts.status;
        return Promise.resolve(fakeClient(r.calls, fo));
      },
    },
  });
  return r;
}

const refused = (): ApiClientError =>
  new ApiClientError({
    kind: 'http',
    status: 409,
    body: {
      error: {
        code: 'SERVER_NOT_ELIGIBLE',
        object: 'group failover1',
        message: 'node-2 has a failover mark for failover1',
        remedy: 'run tandem group reset failover1 once the cause is fixed',
      },
    },
  });

describe('tandem: help, version, usage errors', () => {
  it('--help prints the command list (golden), exit 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    expectGolden('help', r.stdout);
    assert.deepEqual(r.connects, []);
  });

  it('COMMAND --help and help COMMAND print its usage (golden), exit 0', async () => {
    const a = await run(['group', '--help']);
    const b = await run(['help', 'group']);
    assert.equal(a.code, 0);
    assert.equal(a.stdout, b.stdout);
    expectGolden('help-group', a.stdout);
  });

  it('--version prints the package version', async () => {
    const r = await run(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `tandem ${version()}\n`);
    assert.match(version(), /^\d+\.\d+\.\d+/);
  });

  const usageErrors: [string[], RegExp][] = [
    [[], /^tandem: missing a command\nUsage: tandem COMMAND/],
    [['frobnicate'], /^tandem: unknown command frobnicate\nUsage: tandem COMMAND/],
    [['status', '--frob'], /^tandem: unknown option --frob\n/],
    [
      ['status', '--to', 'node-2'],
      /^tandem: option --to is not valid for tandem status\nUsage: tandem status/,
    ],
    [['status', 'extra'], /^tandem: unexpected argument extra\nUsage: tandem status/],
    [['status', '--output', 'yaml'], /^tandem: --output yaml: must be text or json\n/],
    [['status', '--host'], /^tandem: option --host needs a value\n/],
    [['status', '--json=yes'], /^tandem: option --json takes no value\n/],
    [
      ['group'],
      /^tandem: missing start, stop, move or reset\nUsage: tandem group start\|stop\|move NAME \[--to SERVER\]\n {7}tandem group reset NAME\n$/,
    ],
    [['group', 'start'], /^tandem: group start: missing the group NAME\n/],
    [['group', 'explode', 'g'], /^tandem: unknown action explode\n/],
    [['group', 'stop', 'failover1', '--to', 'node-2'], /^tandem: --to is not valid for group stop\n/],
    [['group', 'reset', 'failover1', '--to', 'node-2'], /^tandem: --to is not valid for group reset\n/],
    [['cluster'], /^tandem: missing start or stop\nUsage: tandem cluster start\|stop \[--all\]\n$/],
    [['cluster', 'stop', '--to', 'x'], /^tandem: option --to is not valid for tandem cluster\n/],
    [['resource', 'start'], /^tandem: resource start: missing the resource NAME\n/],
    [['monitor', 'pause'], /^tandem: unknown action pause\n/],
    [['alerts', '--limit', '0'], /^tandem: --limit 0: must be a whole number from 1 to 10000\n/],
    [['alerts', '--limit', 'ten'], /^tandem: --limit ten: must be a whole number/],
    [['plan', 'now'], /^tandem: unexpected argument now\n/],
    [['config'], /^tandem: missing check, schema or show\n/],
    [['config', 'schema', 'x.yaml'], /^tandem: unexpected argument x.yaml\n/],
    [['md', 'break'], /^tandem: missing the md resource name\n/],
    [['md', 'status', '--source', 'node-1'], /^tandem: --source goes with recover only\n/],
    [['server', 'confirm-down'], /^tandem: missing the server name\n/],
  ];
  for (const [argv, stderr] of usageErrors) {
    it(`tandem ${argv.join(' ')} -> exit 2 with usage`, async () => {
      const r = await run(argv);
      assert.equal(r.code, 2);
      assert.match(r.stderr, stderr);
      assert.equal(r.stdout, '');
      assert.deepEqual(r.calls, []);
    });
  }
});

describe('tandem: commands call the API and render', () => {
  it('status: the clpstat view (golden) from the default config, local server', async () => {
    const r = await run(['status']);
    assert.equal(r.code, 0);
    expectGolden('status', r.stdout);
    assert.deepEqual(r.connects, [{ configPath: '/etc/tandem/cluster.yaml', host: undefined }]);
  });

  it('status --json / --output json: the StatusDoc as is', async () => {
    for (const flag of [['--json'], ['--output', 'json'], ['--output=json']]) {
      const r = await run(['status', ...flag]);
      assert.equal(r.code, 0);
      assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(sampleStatus())));
    }
  });

  it('global options go anywhere; --config is resolved against the working directory; --host is passed on', async () => {
    const r = await run(['--config', 'c/cluster.yaml', 'status', '--host', 'node-2:29013']);
    assert.deepEqual(r.connects, [{ configPath: '/home/op/c/cluster.yaml', host: 'node-2:29013' }]);
    const e = await run(['status'], { env: { TANDEM_CONFIG: '/srv/t.yaml' } });
    assert.deepEqual(e.connects, [{ configPath: '/srv/t.yaml', host: undefined }]);
    const both = await run(['status', '--config=/a.yaml'], { env: { TANDEM_CONFIG: '/srv/t.yaml' } });
    assert.deepEqual(both.connects, [{ configPath: '/a.yaml', host: undefined }]);
  });

  const ops: [string[], ClientCall][] = [
    [['cluster', 'start'], { method: 'clusterStart', args: [{ all: false }] }],
    [['cluster', 'stop', '--all'], { method: 'clusterStop', args: [{ all: true }] }],
    [['group', 'start', 'failover1'], { method: 'groupStart', args: ['failover1', {}] }],
    [
      ['group', 'start', 'failover1', '--to', 'node-2'],
      { method: 'groupStart', args: ['failover1', { server: 'node-2' }] },
    ],
    [['group', 'stop', 'failover1'], { method: 'groupStop', args: ['failover1'] }],
    [['group', 'move', 'failover1'], { method: 'groupMove', args: ['failover1', {}] }],
    [
      ['group', 'move', 'failover1', '--to=node-2'],
      { method: 'groupMove', args: ['failover1', { to: 'node-2' }] },
    ],
    [['group', 'reset', 'failover2'], { method: 'groupReset', args: ['failover2'] }],
    [['resource', 'start', 'exec1'], { method: 'resourceStart', args: ['exec1'] }],
    [['resource', 'stop', 'exec1'], { method: 'resourceStop', args: ['exec1'] }],
    [['monitor', 'suspend'], { method: 'monitorSuspend', args: [undefined] }],
    [['monitor', 'resume', 'custom1'], { method: 'monitorResume', args: ['custom1'] }],
    [['server', 'confirm-down', 'node-2'], { method: 'serverConfirmDown', args: ['node-2'] }],
    [['md', 'status'], { method: 'mdStatus', args: [] }],
    [['md', 'break', 'md1'], { method: 'mdBreak', args: ['md1'] }],
    [['md', 'force', 'md1'], { method: 'mdForce', args: ['md1'] }],
    [['md', 'recover', 'md1', '--source', 'node-2'], { method: 'mdRecover', args: ['md1', 'node-2'] }],
    [['md', 'recover', 'md1'], { method: 'mdRecover', args: ['md1'] }],
    [['alerts'], { method: 'alerts', args: [{}] }],
    [['alerts', '--limit', '5', '--after', '40'], { method: 'alerts', args: [{ limit: 5, after: 40 }] }],
    [['plan'], { method: 'plan', args: [] }],
  ];
  for (const [argv, call] of ops) {
    it(`tandem ${argv.join(' ')} -> ${call.method}(${call.args.map((a) => JSON.stringify(a)).join(', ')})`, async () => {
      const r = await run(argv);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.calls, [call]);
      assert.equal(r.stderr, '');
    });
  }

  it('operation output (golden)', async () => {
    const out: string[] = [];
    for (const argv of [
      ['group', 'move', 'failover1', '--to', 'node-2'],
      ['cluster', 'stop'],
      ['monitor', 'suspend'],
    ]) {
      out.push((await run(argv)).stdout);
    }
    expectGolden('cli-operations', out.join(''));
  });

  it('alerts and plan output (golden)', async () => {
    expectGolden('cli-alerts', (await run(['alerts'])).stdout);
    expectGolden('cli-plan', (await run(['plan'])).stdout);
  });

  it('--json operation output is the OpResult', async () => {
    const r = await run(['group', 'stop', 'failover1', '--json']);
    assert.deepEqual(JSON.parse(r.stdout), {
      ok: true,
      message: 'groupStop failover1: done',
      server: 'node-1',
    });
  });
});

describe('tandem: failures and exit codes', () => {
  it('a refused operation: exit 1, one line naming the object, the code and the remedy', async () => {
    const r = await run(['group', 'move', 'failover1', '--to', 'node-2'], { fail: refused });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'tandem: group failover1: refused (SERVER_NOT_ELIGIBLE): node-2 has a failover mark for failover1; ' +
        'run tandem group reset failover1 once the cause is fixed\n',
    );
  });

  it('a refused operation with --json: the ErrorBody on stdout, exit 1', async () => {
    const r = await run(['group', 'move', 'failover1', '--json'], { fail: refused });
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), refused().body);
  });

  it('the API cannot be reached: exit 1, says to start the daemon', async () => {
    const r = await run(['cluster', 'start'], {
      fail: () =>
        new ApiClientError({
          kind: 'connection',
          status: null,
          body: {
            error: {
              code: 'PEER_UNREACHABLE',
              object: 'api http://127.0.0.1:29003',
              message: 'cannot reach the Tandem API at http://127.0.0.1:29003: ECONNREFUSED',
              remedy:
                'is the daemon running on that server? start it with tandem daemon --config FILE --server NAME',
            },
          },
        }),
    });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'tandem: cannot reach the Tandem API at http://127.0.0.1:29003: ECONNREFUSED; is the daemon running on that server? ' +
        'start it with tandem daemon --config FILE --server NAME\n',
    );
  });

  it('the API refuses the credential: exit 2 (the config or secret is not the cluster one)', async () => {
    const r = await run(['cluster', 'stop'], {
      fail: () =>
        new ApiClientError({
          kind: 'http',
          status: 401,
          body: {
            error: {
              code: 'UNAUTHORIZED',
              object: 'api',
              message: 'wrong credential',
              remedy: 'use --config',
            },
          },
        }),
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^tandem: api: refused \(UNAUTHORIZED\): wrong credential; use --config\n$/);
  });

  it('an unreadable or invalid config: exit 2 with the message', async () => {
    const r = await run(['status'], {
      connectFails: () =>
        new ConfigError(
          'cannot read the config file /etc/tandem/cluster.yaml: ENOENT; pass --config FILE',
          [],
        ),
    });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'tandem: cannot read the config file /etc/tandem/cluster.yaml: ENOENT; pass --config FILE\n',
    );
    const j = await run(['status', '--json'], { connectFails: () => new ConfigError('bad config', []) });
    assert.equal(j.code, 2);
    assert.equal((JSON.parse(j.stdout) as { error: { code: string } }).error.code, 'CONFIG_INVALID');
  });

  it('an unexpected exception: exit 1, reported as a bug', async () => {
    const r = await run(['plan'], { connectFails: () => new RangeError('boom') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tandem: internal error: boom; this is a bug/);
  });
});
