/**
 * Code and docs agree (STYLE.md 12): every code of every message table is documented in docs/messages.md
 * with the same id and message, and every documented code exists in code. Codes are unique per table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MESSAGE_TABLES, parseMessagesDoc } from './message-tables.ts';
import { AlertCode } from '../src/core/out.ts';

const text = readFileSync(join(import.meta.dirname, '..', 'docs', 'messages.md'), 'utf8');
const [tablesPart = '', alertsPart = ''] = text.split(/^# Alert codes$/m);
const doc = parseMessagesDoc(tablesPart);

test('every message table is documented, entry by entry', () => {
  for (const [name, table] of Object.entries(MESSAGE_TABLES)) {
    const rows = doc[name];
    assert.ok(rows, `docs/messages.md has no section "## ${name}"`);
    for (const m of table) {
      const row: { code: number; id: string; message: string } | undefined = rows.find(
        (r) => r.code === m.code,
      );
      assert.ok(row, `${name}: code ${m.code} (${m.id}) is not in docs/messages.md`);
      assert.equal(row.id, m.id, `${name}: code ${m.code} has id ${row.id} in the docs but ${m.id} in code`);
      assert.equal(row.message, m.message.replace(/\|/g, '\\|'), `${name}: code ${m.code} message differs`);
    }
  }
});

test('every documented code exists in code', () => {
  for (const [name, rows] of Object.entries(doc)) {
    const table = MESSAGE_TABLES[name];
    assert.ok(table, `docs/messages.md section "${name}" matches no message table in code`);
    for (const r of rows)
      assert.ok(
        table.some((m) => m.code === r.code),
        `${name}: documented code ${r.code} does not exist in code`,
      );
  }
});

test('codes and ids are unique within each table', () => {
  for (const [name, table] of Object.entries(MESSAGE_TABLES)) {
    assert.equal(new Set(table.map((m) => m.code)).size, table.length, `${name}: duplicate code`);
    assert.equal(new Set(table.map((m) => m.id)).size, table.length, `${name}: duplicate id`);
  }
});

test('every alert code is documented, and every documented alert code exists', () => {
  const documented = [...alertsPart.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!);
  const inCode = Object.values(AlertCode) as string[];
  for (const c of inCode) assert.ok(documented.includes(c), `alert code ${c} is not in docs/messages.md`);
  for (const c of documented)
    assert.ok(inCode.includes(c), `documented alert code ${c} does not exist in code`);
});
