/**
 * Turns zod's schema issues into operator-facing config issues (issue section 2): what is wrong, in
 * words an HA administrator reads without knowing zod, and how to fix it. Unknown keys become one issue
 * per key, pointing at the key, with a "did you mean" and the list of keys allowed there.
 */
import type { z } from 'zod';
import type { IssueList, PathSeg } from './issues.ts';
import { didYouMean, listNames } from './issues.ts';
import { readIssueText, strictInfoOf } from './primitives.ts';

/**
 * Parse-level zod error map. Only unknown keys need it: the final issue no longer carries the object
 * schema whose keys the message lists, so they are encoded here.
 */
export function zodErrorMap(iss: z.core.$ZodRawIssue): string | undefined {
  if (iss.code !== 'unrecognized_keys') return undefined;
  const info = strictInfoOf(iss.inst);
  return JSON.stringify({ unknownKeys: info?.keys ?? null, perServerOf: info?.perServerOf ?? null });
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map of keys and values',
  array: 'a list',
  record: 'a map',
  null: 'null',
};

function typeRemedy(expected: string, input: unknown): string {
  if (expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
    return `quote the value: "${String(input)}"`;
  }
  if (expected === 'boolean') {
    return typeof input === 'string'
      ? 'write true or false (in YAML 1.2, yes/no/on/off are strings, not booleans)'
      : 'write true or false';
  }
  if ((expected === 'number' || expected === 'int') && typeof input === 'string' && /^\d+$/.test(input)) {
    return `write the number without quotes: ${input}`;
  }
  if (expected === 'int') return 'write a whole number such as 1';
  if (expected === 'array') return 'write a list: [a, b], or one "- item" per line';
  if (expected === 'object' || expected === 'record')
    return 'write a map: { key: value }, or one "key: value" per line';
  return `write ${EXPECTED[expected] ?? expected}`;
}

function lastKey(path: readonly PathSeg[]): string {
  const k = path[path.length - 1];
  return typeof k === 'string' ? k : 'this entry';
}

/** Adds the issues of one failed zod parse (made with `zodErrorMap` and `reportInput: true`). */
export function addZodIssues(
  issues: readonly z.core.$ZodIssue[],
  out: IssueList,
  base: readonly PathSeg[] = [],
): void {
  for (const iss of issues) {
    const path: PathSeg[] = [...base, ...iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    const input = (iss as { input?: unknown }).input;

    const own = readIssueText(iss.message);
    if (own !== null && iss.code !== 'unrecognized_keys') {
      if (input === undefined && iss.code === 'invalid_type') {
        out.error(
          path,
          `required key "${lastKey(path)}" is missing`,
          `add "${lastKey(path)}:"; ${own.remedy}`,
        );
      } else {
        out.error(path, own.message, own.remedy);
      }
      continue;
    }

    switch (iss.code) {
      case 'unrecognized_keys': {
        let known: readonly string[] | null = null;
        let perServerOf: string | null = null;
        try {
          const meta = JSON.parse(iss.message) as {
            unknownKeys: string[] | null;
            perServerOf: string | null;
          };
          known = meta.unknownKeys;
          perServerOf = meta.perServerOf;
        } catch {
          // keep the generic message
        }
        for (const key of iss.keys) {
          if (perServerOf !== null) {
            out.error(
              [...path, key],
              `"${key}" cannot be set per server for type ${perServerOf}`,
              `per-server keys of ${perServerOf}: ${listNames(known ?? [])}; set it in the common settings instead`,
              'key',
            );
          } else {
            const hint = known === null ? '' : didYouMean(key, known);
            out.error(
              [...path, key],
              `unknown key "${key}"`,
              `${hint}remove it or fix the spelling${known === null ? '' : `; keys allowed here: ${listNames(known)}`}`,
              'key',
            );
          }
        }
        break;
      }
      case 'invalid_type': {
        if (input === undefined) {
          out.error(
            path,
            `required key "${lastKey(path)}" is missing`,
            `add "${lastKey(path)}:" with ${EXPECTED[iss.expected] ?? iss.expected}`,
          );
        } else {
          out.error(
            path,
            `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(input)}`,
            typeRemedy(iss.expected, input),
          );
        }
        break;
      }
      case 'invalid_value': {
        const values = iss.values.map((v) => String(v));
        if (input === undefined) {
          out.error(
            path,
            `required key "${lastKey(path)}" is missing`,
            `add "${lastKey(path)}:" with one of ${listNames(values)}`,
          );
        } else {
          const hint = typeof input === 'string' ? didYouMean(input, values) : '';
          out.error(
            path,
            `${describeValue(input)} is not allowed here`,
            `${hint}use one of: ${listNames(values)}`,
          );
        }
        break;
      }
      case 'invalid_union': {
        // Discriminated unions add `discriminator` and `options` (not in zod's issue types).
        const disc = iss as { discriminator?: unknown; options?: unknown[] };
        if (typeof disc.discriminator === 'string') {
          const discriminator = disc.discriminator;
          const options = (disc.options ?? []).map((v) => String(v));
          const value =
            typeof input === 'object' && input !== null
              ? (input as Record<string, unknown>)[discriminator]
              : undefined;
          if (value === undefined) {
            out.error(
              path,
              `required key "${discriminator}" is missing`,
              `add "${discriminator}:" with one of ${listNames(options)}`,
            );
          } else {
            const hint = typeof value === 'string' ? didYouMean(value, options) : '';
            out.error(
              path,
              `unknown ${discriminator} ${describeValue(value)}`,
              `${hint}known types: ${listNames(options)}`,
            );
          }
        } else {
          out.error(
            path,
            `${describeValue(input)} does not match any allowed form`,
            'see docs/configuration.md for this key',
          );
        }
        break;
      }
      case 'too_small': {
        const min = Number(iss.minimum);
        if (iss.origin === 'array') {
          out.error(
            path,
            `the list needs at least ${min} entr${min === 1 ? 'y' : 'ies'}`,
            `add ${min === 1 ? 'an entry' : 'entries'} to ${lastKey(path)}`,
          );
        } else if (iss.origin === 'string') {
          out.error(
            path,
            `"${lastKey(path)}" is empty`,
            'write a value, or remove the key to use the default',
          );
        } else {
          out.error(path, `${describeValue(input)} is too small`, `use ${min} or more`);
        }
        break;
      }
      case 'invalid_key': {
        const inner = iss.issues.map((i) => readIssueText(i.message)).find((t) => t !== null);
        out.error(
          path,
          inner?.message ?? `invalid key "${lastKey(path)}"`,
          inner?.remedy ?? 'rename the key',
          'key',
        );
        break;
      }
      case 'too_big': {
        const max = Number(iss.maximum);
        out.error(path, `${describeValue(input)} is too large`, `use ${max} or less`);
        break;
      }
      default:
        out.error(path, own?.message ?? iss.message, own?.remedy ?? 'see docs/configuration.md for this key');
    }
  }
}
