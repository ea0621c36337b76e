/**
 * The JSON Schema for editors (`tandem config schema`), and the docs/code consistency check: every key
 * of the schema is documented in docs/configuration.md.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from './index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

type Json = Record<string, unknown>;

/** Every property name anywhere in the schema. */
function keysOf(schema: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) keysOf(s, out);
  else if (typeof schema === 'object' && schema !== null) {
    const o = schema as Json;
    if (typeof o['properties'] === 'object' && o['properties'] !== null) {
      for (const [k, v] of Object.entries(o['properties'] as Json)) {
        out.add(k);
        keysOf(v, out);
      }
    }
    for (const [k, v] of Object.entries(o)) if (k !== 'properties') keysOf(v, out);
  }
  return out;
}

describe('configJsonSchema', () => {
  const schema = configJsonSchema();

  it('is a draft 2020-12 object schema that forbids unknown keys', () => {
    assert.equal(schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema['type'], 'object');
    assert.equal(schema['additionalProperties'], false);
    assert.deepEqual(schema['required'], ['cluster', 'servers']);
    assert.ok(JSON.stringify(schema).length > 1000);
  });

  it('shows defaults and duration patterns', () => {
    const cluster = (schema['properties'] as Json)['cluster'] as Json;
    const hb = ((cluster['properties'] as Json)['heartbeat'] as Json)['properties'] as Json;
    assert.equal((hb['interval'] as Json)['default'], '1s');
    assert.equal((hb['timeout'] as Json)['default'], '10s');
    assert.match(String((hb['timeout'] as Json)['pattern']), /ms\|h\|m\|s/);
  });

  it('lists each resource and monitor type with its own keys', () => {
    const text = JSON.stringify(schema);
    for (const k of ['"exec"', '"custom"', '"pid"', '"autoMonitor"', '"async"', '"command"', '"resource"'])
      assert.ok(text.includes(k), k);
  });

  it('every key is documented in docs/configuration.md', () => {
    const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    // A key counts as documented in code style on its own or as part of a dotted path (`heartbeat.timeout`).
    const documented = (k: string): boolean =>
      new RegExp(`\`([\\w\\[\\].-]*\\.)?${k}(\\.[\\w\\[\\].-]*)?\``).test(doc);
    const missing = [...keysOf(schema)].filter((k) => !documented(k));
    assert.deepEqual(missing, []);
  });
});
