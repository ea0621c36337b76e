/**
 * Parameters of the `exec` resource type (issue 3, section 3 "Exec resource"): the runtime schema the
 * driver applies to the compiled params (after per-server overrides are merged) and the description shown
 * by `describe()`. The YAML keys are `start`, `stop`, `async` and `env`; `cwd` is filled in by the config
 * compiler with the config file's directory.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { ExecParams } from '../../shared/config/types.ts';
import type { ParamDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { EXEC_MESSAGES } from './errors.ts';

export const execParamsSchema = z.object({
  start: z.string().trim().min(1, 'the start command is empty'),
  stop: z.string().trim().min(1, 'the stop command is empty').nullable().default(null),
  async: z.boolean().default(false),
  cwd: z.string().refine((p) => isAbsolute(p), 'cwd must be an absolute path'),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid variable name'), z.string())
    .default({}),
});

export const EXEC_PARAMS: ParamDescription[] = [
  {
    name: 'start',
    type: 'string',
    required: true,
    perServer: true,
    description:
      'Start command, run by /bin/sh in the config file directory. Exit status 0 = started. With async: true the process it starts is the resource.',
  },
  {
    name: 'stop',
    type: 'string',
    required: false,
    default: null,
    perServer: true,
    description:
      'Stop command, run by /bin/sh in the config file directory. Exit status 0 = stopped. For async resources it runs before the process group is terminated.',
  },
  {
    name: 'async',
    type: 'boolean',
    required: false,
    default: false,
    perServer: true,
    description:
      'Keep the started process as the resource: start succeeds when it is still running 100 ms after launch, the pid monitor watches it, stop terminates its process group (SIGTERM, then SIGKILL at the timeout). Its output goes to <stateDir>/run/<resource>.out.',
  },
  {
    name: 'env',
    type: 'record',
    required: false,
    default: {},
    perServer: true,
    description:
      'Extra environment variables. The commands also get TANDEM_EVENT (START | FAILOVER | RECOVER), TANDEM_GROUP, TANDEM_RESOURCE, TANDEM_SERVER and, when known, TANDEM_FAILOVER_FROM.',
  },
];

/** Validate the merged params of `resource`; throws the EXEC_INVALID_PARAMS ResourceError. */
export function parseExecParams(raw: Record<string, unknown>, resource: string): ExecParams {
  const r = execParamsSchema.safeParse(raw);
  if (!r.success) {
    const what = r.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ');
    throw driverError(EXEC_MESSAGES, 'EXEC_INVALID_PARAMS', resource, what);
  }
  return r.data;
}

/** Problems with the params, as text (empty = fine). */
export function execParamsProblems(raw: Record<string, unknown>): string[] {
  const r = execParamsSchema.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`);
}
