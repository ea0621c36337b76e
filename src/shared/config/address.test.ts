/** Address syntax (interconnects, API, NP targets) and the POSIX path helpers of the config layer. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatHostPort, hostKind, parseHostPort } from './address.ts';
import { dirnamePosix, normalizePosix, resolvePosix } from './posix-path.ts';

describe('parseHostPort', () => {
  const good: [string, string, number][] = [
    ['10.0.0.1', '10.0.0.1', 29002],
    ['10.0.0.1:1234', '10.0.0.1', 1234],
    ['node-1.example.com', 'node-1.example.com', 29002],
    ['localhost:80', 'localhost', 80],
    ['fd00::1', 'fd00::1', 29002],
    ['[fd00::1]:29100', 'fd00::1', 29100],
    ['[::ffff:10.0.0.1]', '::ffff:10.0.0.1', 29002],
    ['fe80::1%eth0', 'fe80::1%eth0', 29002],
  ];
  for (const [text, address, port] of good) {
    it(`accepts ${text}`, () => {
      const r = parseHostPort(text, 29002);
      assert.ok(r.ok);
      assert.deepEqual([r.address, r.port], [address, port]);
    });
  }
  const bad = [
    '',
    '10.0.0.256',
    '10.0.0.01',
    '10.0.0',
    '1:2:3',
    '[fd00::1',
    '[10.0.0.1]:80',
    'host:0',
    'host:65536',
    'host:x',
    '-bad.example',
    'a_b.example',
    'fd00::1::2',
  ];
  for (const text of bad)
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseHostPort(text, 1).ok, false));

  it('hostKind and formatHostPort', () => {
    assert.deepEqual(['1.2.3.4', '::1', 'a.b', 'http://x'].map(hostKind), ['ipv4', 'ipv6', 'hostname', null]);
    assert.equal(formatHostPort('::1', 5), '[::1]:5');
    assert.equal(formatHostPort('10.0.0.1', 5), '10.0.0.1:5');
  });
});

describe('POSIX paths', () => {
  it('normalize, dirname, resolve', () => {
    assert.deepEqual(['/a//b/./c/..', 'a/../..', '', '/..', 'x/'].map(normalizePosix), [
      '/a/b',
      '..',
      '.',
      '/',
      'x',
    ]);
    assert.deepEqual(['/etc/tandem/cluster.yaml', 'cluster.yaml', '/x', 'a/b'].map(dirnamePosix), [
      '/etc/tandem',
      '.',
      '/',
      'a',
    ]);
    assert.equal(resolvePosix('/etc/tandem', './cluster.secret'), '/etc/tandem/cluster.secret');
    assert.equal(resolvePosix('/etc/tandem', '../secret'), '/etc/secret');
    assert.equal(resolvePosix('/etc/tandem', '/opt/s'), '/opt/s');
    assert.equal(resolvePosix('conf', 'x'), 'conf/x');
  });
});
