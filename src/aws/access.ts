/** Placeholder replaced by the AWS access layer (issue 4 section 1). */
import type { CompiledAws } from '../shared/config/types.ts';
import type { AwsAccess } from './types.ts';

export function createAwsAccess(settings: CompiledAws, _env: NodeJS.ProcessEnv = process.env): AwsAccess {
  const no = (): never => {
    throw new Error('AWS access layer not built yet');
  };
  const ops = new Proxy({}, { get: () => no });
  return {
    settings,
    ec2: ops as AwsAccess['ec2'],
    route53: ops as AwsAccess['route53'],
    imds: ops as AwsAccess['imds'],
    resolve: no,
    close: () => undefined,
  };
}
