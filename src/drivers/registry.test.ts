import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MONITOR_TYPE_NAMES, RESOURCE_TYPE_NAMES } from '../shared/config/resource-types.ts';
import { tableProblems } from './messages.ts';
import { monitorDrivers, resourceDrivers } from './registry.ts';

/** Config types whose driver is still being built (issue 5: the mirror disk); the daemon reports NO_DRIVER. */
const PENDING = new Set(['md', 'mdw', 'mdnw']);

test('every config type has a driver (or is listed as pending) and every driver a config type', () => {
  const known = (names: readonly string[]): string[] => names.filter((n) => !PENDING.has(n)).sort();
  assert.deepEqual([...resourceDrivers().keys()].sort(), known(RESOURCE_TYPE_NAMES));
  assert.deepEqual([...monitorDrivers().keys()].sort(), known(MONITOR_TYPE_NAMES));
});

test('every driver describes itself with a well-formed message table', () => {
  for (const d of [...resourceDrivers().values(), ...monitorDrivers().values()]) {
    const desc = d.describe();
    assert.equal(desc.type, d.type);
    assert.ok(desc.description.length > 0, `${d.type}: description`);
    assert.deepEqual(
      tableProblems(desc.messages.map((m) => ({ ...m, retryable: false }))),
      [],
      `${d.type}: message table`,
    );
  }
});
