import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MONITOR_TYPE_NAMES, RESOURCE_TYPE_NAMES } from '../shared/config/resource-types.ts';
import { tableProblems } from './messages.ts';
import { monitorDrivers, resourceDrivers } from './registry.ts';

test('every config type has a driver and every driver a config type', () => {
  assert.deepEqual([...resourceDrivers().keys()].sort(), [...RESOURCE_TYPE_NAMES].sort());
  assert.deepEqual([...monitorDrivers().keys()].sort(), [...MONITOR_TYPE_NAMES].sort());
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
