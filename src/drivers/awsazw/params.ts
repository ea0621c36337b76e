/**
 * Parameters of the `awsazw` monitor (issue 4 section 3; the seed's AWS AZ monitor resource): the
 * availability zone to watch, normally set per server to the zone of that server's instance.
 */
import { z } from 'zod';
import type { ParamDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { AWSAZW_MESSAGES } from './errors.ts';

export const awsAzParamsSchema = z.object({
  // null when neither the common params nor this server's override set it.
  availabilityZone: z
    .string({ error: 'no availability zone is set for this server (servers.<server>.availabilityZone)' })
    .trim()
    // Lax on purpose: Local Zones and Wavelength zones have longer names; AWS itself says when a name is unknown.
    .regex(/^[a-z0-9]+(-[a-z0-9]+)+$/, 'must be an availability zone name such as us-east-1a'),
});
export type AwsAzParams = z.infer<typeof awsAzParamsSchema>;

export const AWSAZW_PARAMS: ParamDescription[] = [
  {
    name: 'availabilityZone',
    type: 'string',
    required: true,
    perServer: true,
    description:
      'Availability zone to watch (e.g. us-east-1a); set it per server to the zone of the instance of that server.',
  },
];

function issues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`);
}

/** Problems with the params, as text (empty = fine). */
export function awsAzParamsProblems(raw: Record<string, unknown>): string[] {
  const r = awsAzParamsSchema.safeParse(raw);
  return r.success ? [] : issues(r.error);
}

/** Validate the merged params of an awsazw monitor; throws AWSAZW_INVALID_PARAMS. */
export function parseAwsAzParams(raw: Record<string, unknown>, monitor: string): AwsAzParams {
  const r = awsAzParamsSchema.safeParse(raw);
  if (!r.success)
    throw driverError(AWSAZW_MESSAGES, 'AWSAZW_INVALID_PARAMS', monitor, issues(r.error).join('; '));
  return r.data;
}
