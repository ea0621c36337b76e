/**
 * What can go wrong with one AWS call (issue 4 section 1), as one typed error with a `kind` the drivers map
 * to their message tables:
 *
 * - `answered`: AWS answered with an error (`awsCode` such as `InvalidVpcID.NotFound`, `awsMessage` its text);
 * - `unavailable`: throttling or 5xx that outlasted the bounded retries (never a reason to fail over by itself);
 * - `no-answer`: no answer within the call's timeout (or the connection failed): the monitors' `noResponse`;
 * - `access`: AWS access is not set up (no region, no credentials, no instance role): codes 51/52.
 */
export type AwsService = 'ec2' | 'route53' | 'imds';
export type AwsFailureKind = 'answered' | 'unavailable' | 'no-answer' | 'access';

export class AwsCallError extends Error {
  readonly kind: AwsFailureKind;
  readonly service: AwsService;
  /** The API operation, e.g. `ReplaceRoute`, `ChangeResourceRecordSets`, or the IMDS path. */
  readonly operation: string;
  /** AWS's error code when AWS answered (e.g. `InvalidNetworkInterfaceID.NotFound`), else null. */
  readonly awsCode: string | null;
  readonly httpStatus: number | null;
  /** AWS's own error text when it answered, else what happened ("no answer within 5000 ms"). */
  readonly awsMessage: string;

  constructor(
    args: {
      kind: AwsFailureKind;
      service: AwsService;
      operation: string;
      awsCode?: string | null;
      httpStatus?: number | null;
      awsMessage: string;
    },
    options?: { cause?: unknown },
  ) {
    const code = args.awsCode ? `${args.awsCode}: ` : '';
    super(`${args.service} ${args.operation}: ${code}${args.awsMessage}`, options);
    this.name = 'AwsCallError';
    this.kind = args.kind;
    this.service = args.service;
    this.operation = args.operation;
    this.awsCode = args.awsCode ?? null;
    this.httpStatus = args.httpStatus ?? null;
    this.awsMessage = args.awsMessage;
  }
}
