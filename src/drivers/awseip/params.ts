/**
 * Parameters of the `awseip` resource and the `awseipw` monitor (issue 4 sections 2-3): the runtime schema
 * the drivers apply to the compiled params (after per-server overrides are merged) and the descriptions
 * shown by `describe()`. The YAML keys are `allocationId` and `eniId` (per server); the monitor names its
 * resource.
 */
import { z } from 'zod';
import type { ParamDescription } from '../driver.ts';
import { driverError } from '../messages.ts';
import { AWSEIP_MESSAGES, AWSEIPW_MESSAGES } from './errors.ts';

export const awsEipParamsSchema = z.object({
  allocationId: z
    .string()
    .regex(/^eipalloc-[0-9a-zA-Z]+$/, 'expected an EIP allocation ID such as eipalloc-0123abcd'),
  eniId: z.string().regex(/^eni-[0-9a-zA-Z]+$/, 'expected an ENI ID such as eni-0123abcd'),
});
export type AwsEipParams = z.infer<typeof awsEipParamsSchema>;

export const AWSEIP_PARAMS: ParamDescription[] = [
  {
    name: 'allocationId',
    type: 'string',
    required: true,
    perServer: true,
    description: 'Allocation ID of the Elastic IP (eipalloc-...).',
  },
  {
    name: 'eniId',
    type: 'string',
    required: true,
    perServer: true,
    description: "This server's ENI: activation associates the Elastic IP with it. Set per server.",
  },
];

function issuesText(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(params)'}: ${i.message}`);
}

/** Validate the merged params of `resource`; throws the AWSEIP_INVALID_PARAMS ResourceError. */
export function parseAwsEipParams(raw: Record<string, unknown>, resource: string): AwsEipParams {
  const r = awsEipParamsSchema.safeParse(raw);
  if (!r.success) {
    throw driverError(AWSEIP_MESSAGES, 'AWSEIP_INVALID_PARAMS', resource, issuesText(r.error).join('; '));
  }
  return r.data;
}

export function awsEipParamsProblems(raw: Record<string, unknown>): string[] {
  const r = awsEipParamsSchema.safeParse(raw);
  return r.success ? [] : issuesText(r.error);
}

export const awsEipwParamsSchema = z.object({
  resource: z.string().trim().min(1, 'name the awseip resource to watch'),
});
export type AwsEipwParams = z.infer<typeof awsEipwParamsSchema>;

export const AWSEIPW_PARAMS: ParamDescription[] = [
  {
    name: 'resource',
    type: 'string',
    required: true,
    perServer: false,
    description: 'Name of the awseip resource whose association is watched.',
  },
];

export function parseAwsEipwParams(raw: Record<string, unknown>, monitor: string): AwsEipwParams {
  const r = awsEipwParamsSchema.safeParse(raw);
  if (!r.success) {
    throw driverError(AWSEIPW_MESSAGES, 'AWSEIPW_INVALID_PARAMS', monitor, issuesText(r.error).join('; '));
  }
  return r.data;
}

export function awsEipwParamsProblems(raw: Record<string, unknown>): string[] {
  const r = awsEipwParamsSchema.safeParse(raw);
  return r.success ? [] : issuesText(r.error);
}
