/**
 * The config hash: stable under key reordering and under moving the file, changed by a real change.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { canonicalJson, configHash } from './index.ts';
import { BASE_YAML, edit, parse } from './testkit.ts';

const hashOf = (yaml: string, file = '/etc/tandem/cluster.yaml'): string => {
  const c = parse(yaml, file).config;
  assert.ok(c, 'compiles');
  return c.hash;
};

/** BASE_YAML with sections and keys in another order, flow maps instead of block maps. */
const REORDERED = `monitors: []
groups:
  - resources:
      - { start: ./start.sh, type: exec, name: exec1 }
    name: g1
servers:
  - interconnects: ["127.0.0.1:29102"]
    name: node-1
  - { interconnects: ["127.0.0.2:29102"], name: node-2 }
cluster:
  witness: { target: 127.0.0.9 }
  secretFile: ./cluster.secret
  name: c1
`;

describe('config hash', () => {
  const base = hashOf(BASE_YAML);

  it('is sha256 hex', () => assert.match(base, /^[0-9a-f]{64}$/));

  it('is stable under key reordering and formatting', () => {
    assert.equal(hashOf(REORDERED), base);
  });

  it('is stable when a default is written out explicitly', () => {
    assert.equal(
      hashOf(edit(['  name: c1\n', '  name: c1\n  heartbeat: { interval: 1000ms, timeout: 10s }\n'])),
      base,
    );
  });

  it('does not depend on where the file is', () => {
    assert.equal(hashOf(BASE_YAML, '/srv/other/place/cluster.yaml'), base);
  });

  it('changes with a real change', () => {
    const changed = [
      edit(['        start: ./start.sh', '        start: ./start2.sh']),
      edit(['  name: c1\n', '  name: c1\n  heartbeat: { timeout: 11s }\n']),
      edit([
        '  - name: node-1\n    interconnects: ["127.0.0.1:29102"]\n  - name: node-2\n    interconnects: ["127.0.0.2:29102"]\n',
        '  - name: node-2\n    interconnects: ["127.0.0.2:29102"]\n  - name: node-1\n    interconnects: ["127.0.0.1:29102"]\n',
      ]),
      edit(['  secretFile: ./cluster.secret', '  secretFile: /etc/tandem/cluster.secret']),
    ];
    const hashes = changed.map((y) => hashOf(y));
    for (const h of hashes) assert.notEqual(h, base);
    assert.equal(new Set(hashes).size, hashes.length);
  });

  it('ignores sourceFile, baseDir and hash itself', () => {
    const c = parse(BASE_YAML).config;
    assert.ok(c);
    const h = configHash({ ...c, sourceFile: '/x', baseDir: '/y', hash: 'z' });
    assert.equal(h, configHash(c));
  });

  it('canonicalJson sorts keys at every level and keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
    assert.equal(canonicalJson({ a: 1, b: undefined }), canonicalJson({ a: 1 }));
  });
});
