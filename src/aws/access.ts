/**
 * The AWS access layer (issue 4 section 1): `createAwsAccess(settings, env)` builds the one `AwsAccess` of
 * a process from the config's `aws:` section and the environment, without any I/O. On the first call it
 * resolves the region and the credentials (credentials.ts), creates the SDK v3 client of the service
 * (EC2 or Route 53; created once, reused, destroyed by `close()`), and runs the call under its deadline
 * with our own retries (call.ts). IMDS has its own client (imds.ts).
 *
 * What the clients are given, explicitly, so that the effective environment (`{ ...env,
 * ...aws.environment }`) decides and not `process.env`: the region, the credentials provider, the endpoint
 * (`AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL_ROUTE_53`, else `AWS_ENDPOINT_URL`, else AWS's regional
 * endpoint, with the SDK's own endpoint lookup in `process.env` and the config file turned off), FIPS and
 * dual-stack from the same environment, `maxAttempts: 1`, and a `NodeHttpHandler` whose agents are an
 * `HttpsProxyAgent` when `aws.proxy` is set. The proxy carries AWS API calls only; IMDS never uses it.
 */
import { homedir } from 'node:os';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { CompiledAws } from '../shared/config/types.ts';
import {
  AccessProblem,
  defaultCallDeps,
  noAnswerError,
  raceSignal,
  runAttempts,
  startDeadline,
} from './call.ts';
import type { CallDeps, Runner } from './call.ts';
import { RegionAndCredentials } from './credentials.ts';
import type { ProfileProvider } from './credentials.ts';
import { createEc2Ops } from './ec2-ops.ts';
import { AwsCallError } from './errors.ts';
import type { AwsService } from './errors.ts';
import { IMDS_TIMEOUT_MS, ImdsClient } from './imds.ts';
import { endpointProblem, maskProxyUrl, placesOf } from './resolve.ts';
import type { Env } from './resolve.ts';
import { createRoute53Ops } from './route53-ops.ts';
import type { AwsAccess, AwsResolution } from './types.ts';

/** Clocks, randomness, the home directory and the SDK's profile provider: injectable for tests. */
export interface AwsAccessDeps extends CallDeps {
  /** Wall clock (epoch ms), for credential and IMDS token expiry. */
  wallNow: () => number;
  /** The home directory when the environment has no HOME. */
  homedir: string;
  profileProvider?: ProfileProvider;
}

/** AWS's answers that mean "the credentials we hold expired": drop them so the next call fetches new ones. */
const EXPIRED_CREDENTIALS = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);

function envFlag(env: Env, name: string): boolean {
  return (env[name] ?? '').trim().toLowerCase() === 'true';
}

/** The (decoded) password of a proxy URL, or '' when it has none or is not a URL. */
function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/** The HTTP handler of one client: direct, or through the proxy (for both http and https endpoints). */
function makeHandler(proxy: string | null): NodeHttpHandler {
  if (proxy === null) return new NodeHttpHandler();
  const problem = endpointProblem(proxy);
  let agent: HttpsProxyAgent<string>;
  try {
    if (problem !== null) throw new Error(problem);
    agent = new HttpsProxyAgent(proxy);
  } catch (err) {
    throw new AccessProblem(
      `the proxy aws.proxy (${maskProxyUrl(proxy)}) is not a usable URL: ${(err as Error).message}. ` +
        'Write it as http://[user:password@]host:port.',
      { cause: err },
    );
  }
  return new NodeHttpHandler({ httpAgent: agent, httpsAgent: agent });
}

export function createAwsAccess(
  settings: CompiledAws,
  env: NodeJS.ProcessEnv = process.env,
  deps: Partial<AwsAccessDeps> = {},
): AwsAccess {
  const d: AwsAccessDeps = { ...defaultCallDeps, wallNow: Date.now, homedir: homedir(), ...deps };
  const places = placesOf(settings, env, d.homedir);
  const imds = new ImdsClient({
    endpoint: places.endpoints.imds,
    disabled: places.imdsDisabled,
    now: d.wallNow,
  });
  const rc = new RegionAndCredentials({
    settings,
    places,
    imds,
    now: d.wallNow,
    ...(d.profileProvider === undefined ? {} : { profileProvider: d.profileProvider }),
  });

  const commonConfig = (region: string, endpoint: string | null) => ({
    region,
    ...(endpoint === null ? {} : { endpoint }),
    credentials: async () => (await rc.credentials()).identity,
    maxAttempts: 1,
    requestHandler: makeHandler(settings.proxy),
    ignoreConfiguredEndpointUrls: true,
    useFipsEndpoint: envFlag(places.env, 'AWS_USE_FIPS_ENDPOINT'),
    useDualstackEndpoint: envFlag(places.env, 'AWS_USE_DUALSTACK_ENDPOINT'),
  });

  // The proxy's password must not show in any text, whatever a socket or agent error puts in its message.
  const proxyPassword = settings.proxy === null ? '' : passwordOf(settings.proxy);
  const redact = (err: unknown): unknown => {
    if (proxyPassword === '' || !(err instanceof AwsCallError)) return err;
    const forms = [proxyPassword, encodeURIComponent(proxyPassword)];
    if (!forms.some((f) => err.awsMessage.includes(f))) return err;
    const hidden = forms.reduce((t, f) => t.split(f).join('****'), err.awsMessage);
    return new AwsCallError(
      {
        kind: err.kind,
        service: err.service,
        operation: err.operation,
        awsCode: err.awsCode,
        httpStatus: err.httpStatus,
        awsMessage: hidden,
      },
      { cause: err.cause },
    );
  };

  let ec2Client: EC2Client | null = null;
  let route53Client: Route53Client | null = null;

  /** A `Runner` for one service: region and credentials first (kind `access`), then the attempts. */
  function runner<C>(service: Exclude<AwsService, 'imds'>, client: (region: string) => C): Runner<C> {
    const endpoint = service === 'ec2' ? places.endpoints.ec2 : places.endpoints.route53;
    const variable = (service === 'ec2' ? places.endpointVars.ec2 : places.endpointVars.route53) ?? '';
    const problem = endpoint === null ? null : endpointProblem(endpoint);
    const badEndpoint =
      problem === null
        ? null
        : `the ${service === 'ec2' ? 'EC2' : 'Route 53'} endpoint ${endpoint ?? ''} (${variable}) cannot be used: ${problem}. ` +
          `Fix ${variable} in aws.environment or the daemon's environment.`;
    return async (operation, o, fn) => {
      const deadline = startDeadline(o, settings.callTimeoutMs, d.now);
      try {
        let c: C;
        let region: string;
        try {
          if (badEndpoint !== null) throw new AccessProblem(badEndpoint);
          region = (await raceSignal(rc.region(), deadline.signal)).region;
          await raceSignal(rc.credentials(), deadline.signal);
          c = client(region);
        } catch (err) {
          if (!(err instanceof AccessProblem) && deadline.signal.aborted) {
            throw noAnswerError(service, operation, deadline, d.now, err);
          }
          throw new AwsCallError(
            { kind: 'access', service, operation, awsMessage: (err as Error).message },
            { cause: err },
          );
        }
        return await runAttempts({
          service,
          operation,
          deadline,
          deps: d,
          endpoint: endpoint ?? `the ${service === 'ec2' ? 'EC2' : 'Route 53'} endpoint of ${region}`,
          attempt: (signal) => fn(c, signal),
        });
      } catch (err) {
        if (
          err instanceof AwsCallError &&
          err.kind === 'answered' &&
          EXPIRED_CREDENTIALS.has(err.awsCode ?? '')
        ) {
          rc.forgetCredentials();
        }
        throw redact(err);
      } finally {
        deadline.dispose();
      }
    };
  }

  const ec2 = createEc2Ops(
    runner('ec2', (region) => (ec2Client ??= new EC2Client(commonConfig(region, places.endpoints.ec2)))),
  );
  const route53 = createRoute53Ops(
    runner(
      'route53',
      (region) => (route53Client ??= new Route53Client(commonConfig(region, places.endpoints.route53))),
    ),
  );

  return {
    settings,
    ec2,
    route53,
    imds: {
      get: (path, o) => {
        const timeoutMs = Math.min(
          o?.timeoutMs ?? settings.callTimeoutMs,
          settings.callTimeoutMs,
          IMDS_TIMEOUT_MS,
        );
        return imds.get(path, { timeoutMs, ...(o?.signal === undefined ? {} : { signal: o.signal }) });
      },
    },

    async resolve(o): Promise<AwsResolution> {
      const deadline = startDeadline(o, settings.callTimeoutMs, d.now);
      const why = (err: unknown): string =>
        err === deadline.signal.reason
          ? `no answer within ${deadline.timeoutMs} ms while looking it up`
          : err instanceof Error
            ? err.message
            : String(err);
      try {
        const [region, creds] = await Promise.allSettled([
          raceSignal(rc.region(), deadline.signal),
          raceSignal(rc.credentials(), deadline.signal),
        ]);
        return {
          region: region.status === 'fulfilled' ? region.value.region : null,
          regionSource: region.status === 'fulfilled' ? region.value.source : null,
          regionError: region.status === 'rejected' ? why(region.reason) : null,
          credentialsSource: creds.status === 'fulfilled' ? creds.value.source : null,
          credentialsError: creds.status === 'rejected' ? why(creds.reason) : null,
          proxy: settings.proxy === null ? null : maskProxyUrl(settings.proxy),
          endpoints: { ...places.endpoints },
        };
      } finally {
        deadline.dispose();
      }
    },

    close(): void {
      // A call after close() opens new clients; the daemon closes last, after its monitors stopped.
      ec2Client?.destroy();
      route53Client?.destroy();
      ec2Client = null;
      route53Client = null;
      imds.close();
    },
  };
}
