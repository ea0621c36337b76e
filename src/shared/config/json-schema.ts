/**
 * The JSON Schema of the cluster YAML, generated from the zod schema (schema.ts) for editors and for
 * `tandem config schema` (issue section 2). It describes the raw, operator-facing form: keys with
 * defaults are optional and show their `default`; defaults that depend on other keys are described in
 * the `description` of the key.
 */
import { z } from 'zod';
import { ClusterConfigSchema } from './schema.ts';

/** JSON Schema (draft 2020-12) of the cluster config file. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ClusterConfigSchema, { io: 'input', target: 'draft-2020-12' });
  return {
    ...schema,
    title: 'Tandem cluster configuration',
    description:
      'The cluster YAML of Tandem (see docs/configuration.md). Durations are strings with a unit: 500ms, 3s, 5m, 1h.',
  };
}
