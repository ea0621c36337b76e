/**
 * Parameters of the `pid` monitor type (issue 3, section 3 "Monitors"): the name of the `exec` resource with
 * `async: true` whose process it watches.
 */
import { z } from 'zod';
import type { ParamDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { PID_MESSAGES } from './errors.ts';

export const pidParamsSchema = z.object({
  resource: z.string().trim().min(1, 'name the exec resource to watch'),
});
export type PidParams = z.infer<typeof pidParamsSchema>;

export const PID_PARAMS: ParamDescription[] = [
  {
    name: 'resource',
    type: 'string',
    required: true,
    perServer: false,
    description: 'Name of the exec resource (async: true) whose process is watched.',
  },
];

export function parsePidParams(raw: Record<string, unknown>, monitor: string): PidParams {
  const r = pidParamsSchema.safeParse(raw);
  if (!r.success) {
    const what = r.error.issues
      .map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`)
      .join('; ');
    throw driverError(PID_MESSAGES, 'PID_INVALID_PARAMS', monitor, what);
  }
  return r.data;
}
