/** Config path, credential and API endpoint resolution of the CLI (src/client/credentials.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sampleConfig } from '../../test/fixtures/cli/fixtures.ts';
import { secretFromFile } from '../shared/credential.ts';
import { apiToken } from '../shared/crypto.ts';
import { ConfigError } from '../shared/errors.ts';
import type { CompiledConfig } from '../shared/config/types.ts';
import {
  baseUrlFor,
  DEFAULT_CONFIG_FILE,
  loadConfig,
  localAddressPredicate,
  parseHostOption,
  pickApiEndpoint,
  readApiToken,
  readConfigFile,
  resolveClientTarget,
  resolveConfigPath,
} from './credentials.ts';

const fixtures = new URL('../../test/fixtures/cli/', import.meta.url).pathname;
const none = (): boolean => false;

describe('resolveConfigPath', () => {
  it('--config, else TANDEM_CONFIG, else the default; relative to cwd', () => {
    assert.equal(resolveConfigPath(undefined, {}, '/x'), DEFAULT_CONFIG_FILE);
    assert.equal(resolveConfigPath(undefined, { TANDEM_CONFIG: '' }, '/x'), DEFAULT_CONFIG_FILE);
    assert.equal(resolveConfigPath(undefined, { TANDEM_CONFIG: 'c.yaml' }, '/x'), '/x/c.yaml');
    assert.equal(resolveConfigPath('/a/b.yaml', { TANDEM_CONFIG: 'c.yaml' }, '/x'), '/a/b.yaml');
  });
});

describe('parseHostOption', () => {
  const ok: [string, { host: string; port: number | null }][] = [
    ['node-2', { host: 'node-2', port: null }],
    ['10.0.0.2:29013', { host: '10.0.0.2', port: 29013 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    ['[fe80::1]', { host: 'fe80::1', port: null }],
    ['fe80::1', { host: 'fe80::1', port: null }],
  ];
  for (const [input, expected] of ok)
    it(`${input}`, () => assert.deepEqual(parseHostOption(input), expected));
  for (const bad of ['', ':29003', 'node-2:', 'node-2:abc', 'node-2:70000', 'node-2:0', '[::1]:x']) {
    it(`${JSON.stringify(bad)} is a ConfigError naming --host`, () => {
      assert.throws(
        () => parseHostOption(bad),
        (e: unknown) => e instanceof ConfigError && /^--host /.test(e.message),
      );
    });
  }
});

describe('pickApiEndpoint', () => {
  const config = sampleConfig();

  it('--host SERVER: that server’s api address, with a port override', () => {
    assert.deepEqual(pickApiEndpoint(config, { host: 'node-2', isLocal: none }), {
      address: '127.0.0.2',
      port: 29003,
      server: 'node-2',
      baseUrl: 'http://127.0.0.2:29003',
    });
    assert.equal(
      pickApiEndpoint(config, { host: 'node-2:4000', isLocal: none }).baseUrl,
      'http://127.0.0.2:4000',
    );
  });

  it("--host ADDRESS: that address, the matching server's port, else 29003", () => {
    const c: CompiledConfig = {
      ...config,
      servers: config.servers.map((s) => ({ ...s, api: { ...s.api, port: 29100 } })),
    };
    assert.deepEqual(pickApiEndpoint(c, { host: '127.0.0.2', isLocal: none }), {
      address: '127.0.0.2',
      port: 29100,
      server: 'node-2',
      baseUrl: 'http://127.0.0.2:29100',
    });
    assert.deepEqual(pickApiEndpoint(c, { host: '10.9.9.9', isLocal: none }), {
      address: '10.9.9.9',
      port: 29003,
      server: null,
      baseUrl: 'http://10.9.9.9:29003',
    });
    assert.equal(pickApiEndpoint(c, { host: '[::1]:7', isLocal: none }).baseUrl, 'http://[::1]:7');
  });

  it('no --host: the first server with a local api or interconnect address, else the first server', () => {
    assert.equal(pickApiEndpoint(config, { isLocal: (a) => a === '127.0.0.2' }).server, 'node-2');
    assert.equal(pickApiEndpoint(config, { isLocal: () => true }).server, 'node-1');
    assert.equal(pickApiEndpoint(config, { isLocal: none }).server, 'node-1');
  });

  it('a wildcard api address counts only through the interconnects, and is reached through loopback', () => {
    const c: CompiledConfig = {
      ...config,
      servers: config.servers.map((s) => ({ ...s, api: { address: '0.0.0.0', port: 29003 } })),
    };
    const ep = pickApiEndpoint(c, { isLocal: (a) => a === '127.0.0.2' || a === '0.0.0.0' });
    assert.equal(ep.server, 'node-2');
    assert.equal(ep.baseUrl, 'http://127.0.0.1:29003');
    assert.equal(baseUrlFor('::', 1), 'http://[::1]:1');
  });

  it('a config without servers is a ConfigError', () => {
    assert.throws(() => pickApiEndpoint({ ...config, servers: [] }, { isLocal: none }), ConfigError);
  });

  it('localAddressPredicate: interface addresses, 127.0.0.0/8 and ::1', () => {
    const isLocal = localAddressPredicate({
      eth0: [
        {
          address: '10.0.0.5',
          netmask: '255.255.255.0',
          family: 'IPv4',
          mac: '00:00:00:00:00:00',
          internal: false,
          cidr: '10.0.0.5/24',
        },
      ],
    });
    assert.equal(isLocal('10.0.0.5'), true);
    assert.equal(isLocal('127.0.0.2'), true);
    assert.equal(isLocal('::1'), true);
    assert.equal(isLocal('10.0.0.6'), false);
  });
});

describe('config and secret files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cred-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the fixture config and derives the token from the secret without its trailing newline', async () => {
    const target = await resolveClientTarget({ configPath: join(fixtures, 'cluster.yaml'), isLocal: none });
    assert.equal(target.config.cluster.name, 'cluster1');
    assert.equal(target.token, apiToken('fixture-secret', 'cluster1'));
    assert.equal(target.endpoint.baseUrl, 'http://127.0.0.1:29003');
    assert.deepEqual(target.warnings, []);
    const viaHost = await resolveClientTarget({
      configPath: join(fixtures, 'cluster.yaml'),
      host: 'node-2',
      isLocal: none,
    });
    assert.equal(viaHost.endpoint.baseUrl, 'http://127.0.0.2:29013');
  });

  it('secretFromFile strips trailing whitespace only', () => {
    assert.equal(secretFromFile(Buffer.from('  s3cret \r\n\t\n')).toString(), '  s3cret');
    assert.equal(secretFromFile(Buffer.from('\n\n')).length, 0);
  });

  it('a missing config file is a ConfigError naming the file and --config', async () => {
    await assert.rejects(
      readConfigFile(join(dir, 'nope.yaml')),
      (e: unknown) =>
        e instanceof ConfigError &&
        /nope\.yaml: ENOENT; pass --config FILE or set TANDEM_CONFIG/.test(e.message),
    );
  });

  it('an invalid config is a ConfigError carrying every issue', async () => {
    await assert.rejects(loadConfig(join(fixtures, 'invalid.yaml')), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /invalid\.yaml is not valid \(\d+ errors?\)/);
      assert.ok(e.issues.length >= 2);
      return true;
    });
  });

  it('a config with warnings loads, with the warnings returned', async () => {
    const r = await loadConfig(join(fixtures, 'warning.yaml'));
    assert.ok(r.warnings.length > 0);
    assert.ok(r.warnings.every((w) => w.severity === 'warning'));
  });

  it('an unreadable or empty secret file is a ConfigError naming it', async () => {
    const config = sampleConfig();
    const missing = { ...config, cluster: { ...config.cluster, secretFile: join(dir, 'missing.secret') } };
    await assert.rejects(
      readApiToken(missing),
      /cannot read the cluster secret file .*missing\.secret: ENOENT/,
    );
    writeFileSync(join(dir, 'empty.secret'), '\n');
    const empty = { ...config, cluster: { ...config.cluster, secretFile: join(dir, 'empty.secret') } };
    await assert.rejects(readApiToken(empty), /empty\.secret is empty/);
  });
});
