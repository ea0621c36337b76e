/**
 * Parameters of the `custom` monitor type (issue 3, section 3 "Monitors"): a command run by /bin/sh in the
 * config file's directory (`cwd`, filled in by the config compiler); exit status 0 = normal.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { ParamDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { CUSTOM_MESSAGES } from './errors.ts';

export const customParamsSchema = z.object({
  command: z.string().trim().min(1, 'the monitor command is empty'),
  cwd: z.string().refine((p) => isAbsolute(p), 'cwd must be an absolute path'),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid variable name'), z.string())
    .default({}),
});
export type CustomParams = z.infer<typeof customParamsSchema>;

export const CUSTOM_PARAMS: ParamDescription[] = [
  {
    name: 'command',
    type: 'string',
    required: true,
    perServer: true,
    description:
      'Check command, run by /bin/sh in the config file directory within the monitor timeout. Exit status 0 = normal, anything else = error. Gets TANDEM_MONITOR, TANDEM_SERVER and TANDEM_CLUSTER.',
  },
  {
    name: 'env',
    type: 'record',
    required: false,
    default: {},
    perServer: true,
    description: 'Extra environment variables for the command.',
  },
];

function issues(r: { error: { issues: { path: PropertyKey[]; message: string }[] } }): string[] {
  return r.error.issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`);
}

export function parseCustomParams(raw: Record<string, unknown>, monitor: string): CustomParams {
  const r = customParamsSchema.safeParse(raw);
  if (!r.success) throw driverError(CUSTOM_MESSAGES, 'CUSTOM_INVALID_PARAMS', monitor, issues(r).join('; '));
  return r.data;
}

export function customParamsProblems(raw: Record<string, unknown>): string[] {
  const r = customParamsSchema.safeParse(raw);
  return r.success ? [] : issues(r);
}
