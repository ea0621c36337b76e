/**
 * Network-namespace test of the awsvip resource's local side (issue 4 section 2): in a namespace of its own
 * with a veth interface holding node-2's ENI address 10.0.2.10, the awsvip start (against a simulator
 * running inside the namespace, on its loopback) finds that interface through the ENI's private IP, puts the
 * VIP 10.1.0.20/32 on it with iproute2 and repoints the routes; the stop removes the address again, and a
 * second stop is a no-op. `ip -4 address` in the namespace is the witness.
 *
 * Needs root and iproute2; skips with a message otherwise (fails instead when TANDEM_REQUIRE_ALL=1). The
 * host's own network configuration is never touched: every `ip` call names the namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const requireAll = process.env.TANDEM_REQUIRE_ALL === '1';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasIp = spawnSync('ip', ['-V']).status === 0;
const canNetns = isRoot && hasIp && spawnSync('ip', ['netns', 'list']).status === 0;
const skip = canNetns
  ? false
  : 'needs root and iproute2 for network namespaces (apt-get install iproute2; run as root)';
if (skip && requireAll)
  throw new Error(`TANDEM_REQUIRE_ALL=1 but the network-namespace test cannot run: ${skip}`);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NS = `tnd-vip${process.pid % 100000}`;
const IFACE = 'tndvip0';
const PEER = 'tndvip1';

function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The driver run inside the namespace: a simulator on its loopback, the real local network, one verb. */
const CHILD = `
const root = process.env.TANDEM_ROOT;
const verb = process.env.TANDEM_VERB;
const { createSimServer } = await import(root + 'src/sim/server.ts');
const { loadWorld } = await import(root + 'src/sim/world.ts');
const ts = await import(root + 'src/drivers/awsvip/test-support.ts');
const { AwsVipDriver } = await import(root + 'src/drivers/awsvip/driver.ts');
const { makeConfig } = await import(root + 'test/daemon-fakes/config.ts');
const { Sandbox } = await import(root + 'test/daemon-fakes/driver-ctx.ts');
const sim = await createSimServer({ world: loadWorld(ts.TEST_WORLD, 'test-world.yaml'), host: '127.0.0.1', port: 0 });
const files = new ts.NoCredentials();
const aws = ts.simAccess(sim.url, files);
const sb = new Sandbox();
const out = {};
try {
  const res = ts.vipResource({ assignAddress: true });
  const config = makeConfig({ baseDir: sb.dir, servers: ['node-1', 'node-2'], resources: [res] });
  const ctx = sb.ctx(config, new AbortController().signal, 'node-2', aws);
  const drv = new AwsVipDriver();
  try {
    out[verb] = await drv[verb](res, { event: 'START', failoverFrom: null }, ctx);
    if (verb === 'stop') out.stopAgain = await drv.stop(res, { event: 'START', failoverFrom: null }, ctx);
    out.probe = await drv.monitor(res, ctx);
  } catch (e) {
    out.error = { code: e.code, message: e.message };
  }
  out.logs = sb.logs.map((l) => l.msg);
} finally {
  aws.close();
  await sim.close();
  sb.cleanup();
  files.dispose();
}
process.stdout.write(JSON.stringify(out));
`;

function runInNs(verb: 'start' | 'stop'): Record<string, unknown> {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', NS, process.execPath, '--import', 'tsx', '--input-type=module', '-e', CHILD],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 15_000,
      env: { ...process.env, TANDEM_ROOT: ROOT, TANDEM_VERB: verb },
    },
  );
  assert.equal(r.status, 0, `child (${verb}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const addrs = (): string => ip(['-n', NS, '-4', '-o', 'address', 'show', 'dev', IFACE]);

test(
  'awsvip puts 10.1.0.20/32 on the interface holding the ENI address, and stop takes it off',
  { skip, timeout: 60_000 },
  () => {
    ip(['netns', 'add', NS]);
    try {
      ip(['-n', NS, 'link', 'set', 'lo', 'up']);
      // A veth pair inside the namespace (the dummy module is missing in some containers); its peer must be
      // up too, or the interface is not running and os.networkInterfaces() does not list it.
      ip(['-n', NS, 'link', 'add', IFACE, 'type', 'veth', 'peer', 'name', PEER]);
      ip(['-n', NS, 'address', 'add', '10.0.2.10/24', 'dev', IFACE]);
      ip(['-n', NS, 'link', 'set', PEER, 'up']);
      ip(['-n', NS, 'link', 'set', IFACE, 'up']);
      assert.doesNotMatch(addrs(), /10\.1\.0\.20/);

      const started = runInNs('start');
      assert.deepEqual(started.start, { result: 'ok' }, JSON.stringify(started));
      assert.deepEqual(started.probe, { result: 'running' });
      assert.match(addrs(), /inet 10\.1\.0\.20\/32 /);
      assert.ok((started.logs as string[]).includes(`10.1.0.20/32 is on ${IFACE}`));

      const stopped = runInNs('stop');
      assert.deepEqual(stopped.stop, { result: 'ok' }, JSON.stringify(stopped));
      assert.deepEqual(stopped.stopAgain, { result: 'ok' });
      assert.deepEqual(stopped.probe, { result: 'stopped' });
      assert.doesNotMatch(addrs(), /10\.1\.0\.20/);
      assert.match(addrs(), /inet 10\.0\.2\.10\/24 /);
    } finally {
      spawnSync('ip', ['netns', 'del', NS]);
    }
  },
);
