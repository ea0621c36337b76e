/**
 * Region and credentials of the AWS access layer (issue 4 section 1), resolved on first use, cached, and
 * described by where they came from (`tandem doctor` shows it; no secret ever goes into a text).
 *
 * Credentials, in the SDK's order:
 * 1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) of the effective environment, unless
 *    a profile is named (`aws.profile` or AWS_PROFILE), which then wins as it does in the SDK;
 * 2. the profile in the shared credentials and config files, through the SDK's `defaultProvider` (static
 *    keys, assume-role, SSO, credential_process) with the profile and both file paths passed explicitly;
 *    taken only when the profile there names a complete credential source (`profileKind`), and then final:
 *    a profile that is set up but fails is reported, never silently replaced by the instance role;
 * 3. the instance role from IMDSv2 (`meta-data/iam/security-credentials/`), through our own IMDS client,
 *    which honours the IMDS endpoint override of the effective environment and never uses the proxy.
 *
 * The SDK's `defaultProvider` reads `process.env` for its own environment and IMDS steps; steps 1 and 3 are
 * done here instead, from the effective environment, so that `aws.environment` and the `env` handed to
 * `createAwsAccess` are what counts and no `process.env` key has to be set. With the profile named
 * explicitly the SDK skips its environment step; checking the profile first keeps it from reaching its
 * IMDS step, and credentials it still found past the shared files (marked so in their `$source`) are
 * refused. A named profile without a credential source is an error (as with the AWS CLI's `--profile`): a
 * typo must not quietly run Tandem under the instance role.
 *
 * Region: `aws.region`, AWS_REGION / AWS_DEFAULT_REGION, the profile's `region` in the config file, then
 * IMDS `meta-data/placement/region`.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { CompiledAws } from '../shared/config/types.ts';
import { AccessProblem } from './call.ts';
import { AwsCallError } from './errors.ts';
import type { ImdsClient } from './imds.ts';
import { profileKind, profileSection, readSharedFile, regionFromEnv } from './resolve.ts';
import type { AwsPlaces, SharedFile } from './resolve.ts';
import type { AwsResolution } from './types.ts';

/** The SDK's credential shape (spelled through the package we depend on, not its transitive `@smithy/types`). */
export type AwsCredentialIdentity = Awaited<ReturnType<ReturnType<typeof defaultProvider>>>;

/** Credentials with an expiry are renewed this long before it (the SDK uses the same margin). */
const RENEW_MARGIN_MS = 5 * 60_000;

export const CREDENTIALS_REMEDY =
  'Run `aws configure` as the daemon user, set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in aws.environment, or attach an IAM role to the instance.';
export const REGION_REMEDY =
  'Set aws.region in the config, or AWS_REGION (in aws.environment or the environment), or run on EC2 with the instance metadata reachable.';

export interface ResolvedRegion {
  region: string;
  source: NonNullable<AwsResolution['regionSource']>;
}

export interface ResolvedCredentials {
  identity: AwsCredentialIdentity;
  /** e.g. `environment (AWS_ACCESS_KEY_ID)`; never a secret. */
  source: string;
}

/** The SDK's profile provider, injectable for tests. */
export type ProfileProvider = (init: {
  profile: string;
  filepath: string;
  configFilepath: string;
}) => () => Promise<AwsCredentialIdentity>;

const sdkProfileProvider: ProfileProvider = (init) => {
  // ignoreCache: a file fixed by the operator after a failure is read again on the next attempt.
  // The quiet logger replaces the SDK's console.warn about AWS_ACCESS_KEY_ID in process.env next to a named
  // profile: which one is used is our documented rule, and `resolve()` reports it.
  const quiet = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  };
  const provider = defaultProvider({ ...init, ignoreCache: true, logger: quiet });
  return () => provider();
};

/** A short reason out of an IMDS failure, e.g. `no answer: connect ECONNREFUSED 127.0.0.1:9`. */
function imdsReason(err: unknown): string {
  if (err instanceof AwsCallError) {
    if (err.kind === 'answered' && err.httpStatus === 404) return 'it does not have it (HTTP 404)';
    return err.awsMessage;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * The SDK marks credentials with the features that produced them (`$source`). Credentials from the profile
 * carry a `CREDENTIALS_PROFILE*`, `CREDENTIALS_SSO*`, `CREDENTIALS_PROCESS` or `CREDENTIALS_LOGIN` mark;
 * any others mean the SDK's chain went past the shared files (to the process environment or its own IMDS):
 * the profile was not what gave them. Returns what it fell back to, or null.
 */
function fellBackFrom(identity: AwsCredentialIdentity): string | null {
  const source = (identity as { $source?: Record<string, unknown> }).$source;
  if (source === undefined) return null;
  const marks = Object.keys(source);
  if (marks.length === 0 || marks.some((m) => /^CREDENTIALS_(PROFILE|SSO|PROCESS|LOGIN)/.test(m)))
    return null;
  return marks.join(', ');
}

function describeFile(f: SharedFile): string {
  if (f.state === 'missing') return `${f.path} (does not exist)`;
  if (f.state === 'unreadable') return `${f.path} (unreadable: ${f.error})`;
  return f.path;
}

/**
 * Caches a successful resolution until `renewAtMs` and shares one in-flight attempt between concurrent
 * callers; a failure is not cached, so a fix by the operator is seen on the next call. While a renewal
 * fails and the old value has not expired yet (`expiresAtMs`), the old value is still served: a blip of
 * IMDS must not turn valid credentials into an `access` failure.
 */
class Cached<T> {
  #value: { v: T; renewAtMs: number; expiresAtMs: number } | null = null;
  #inflight: Promise<T> | null = null;

  constructor(
    private readonly load: () => Promise<{ v: T; renewAtMs: number; expiresAtMs: number }>,
    private readonly now: () => number,
  ) {}

  get(): Promise<T> {
    const c = this.#value;
    if (c !== null && this.now() < c.renewAtMs) return Promise.resolve(c.v);
    this.#inflight ??= this.load().then(
      (r) => {
        this.#value = r;
        this.#inflight = null;
        return r.v;
      },
      (err: unknown) => {
        this.#inflight = null;
        throw err;
      },
    );
    const stale = c !== null && this.now() < c.expiresAtMs ? c.v : undefined;
    return stale === undefined ? this.#inflight : this.#inflight.catch(() => stale);
  }

  reset(): void {
    this.#value = null;
  }
}

export class RegionAndCredentials {
  readonly #settings: CompiledAws;
  readonly #places: AwsPlaces;
  readonly #imds: ImdsClient;
  readonly #now: () => number;
  readonly #profileProvider: ProfileProvider;
  readonly #region: Cached<ResolvedRegion>;
  readonly #credentials: Cached<ResolvedCredentials>;

  constructor(args: {
    settings: CompiledAws;
    places: AwsPlaces;
    imds: ImdsClient;
    /** Wall clock (epoch ms): compared with credential expiry times. */
    now: () => number;
    profileProvider?: ProfileProvider;
  }) {
    this.#settings = args.settings;
    this.#places = args.places;
    this.#imds = args.imds;
    this.#now = args.now;
    this.#profileProvider = args.profileProvider ?? sdkProfileProvider;
    this.#region = new Cached(
      async () => ({
        v: await this.#loadRegion(),
        renewAtMs: Number.POSITIVE_INFINITY,
        expiresAtMs: Number.POSITIVE_INFINITY,
      }),
      this.#now,
    );
    this.#credentials = new Cached(async () => {
      const c = await this.#loadCredentials();
      const exp = c.identity.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
      return { v: c, renewAtMs: exp - RENEW_MARGIN_MS, expiresAtMs: exp };
    }, this.#now);
  }

  /** Throws `AccessProblem` naming every place looked at and the fix. */
  region(): Promise<ResolvedRegion> {
    return this.#region.get();
  }

  /** Throws `AccessProblem` naming every source tried and the fix. */
  credentials(): Promise<ResolvedCredentials> {
    return this.#credentials.get();
  }

  /** Drop cached credentials (AWS said they are invalid or expired). */
  forgetCredentials(): void {
    this.#credentials.reset();
  }

  async #loadRegion(): Promise<ResolvedRegion> {
    if (this.#settings.region !== null) return { region: this.#settings.region, source: 'config' };
    const fromEnv = regionFromEnv(this.#places.env);
    if (fromEnv !== null) return { region: fromEnv.region, source: 'environment' };
    const { profile, configFile } = this.#places;
    const file = await readSharedFile(configFile);
    const section = file.state === 'read' ? profileSection(file.sections, 'config', profile) : undefined;
    const fromProfile = section?.get('region') ?? '';
    if (fromProfile !== '') return { region: fromProfile, source: 'profile' };
    const tried = [
      'aws.region is not set in the config',
      'AWS_REGION and AWS_DEFAULT_REGION are not set',
      file.state === 'read'
        ? `profile "${profile}" in ${configFile} ${section === undefined ? 'does not exist' : 'has no region'}`
        : `the config file ${describeFile(file)} gives no region for profile "${profile}"`,
    ];
    try {
      const region = (await this.#imds.get('meta-data/placement/region')).trim();
      if (region !== '') return { region, source: 'imds' };
      tried.push(`the instance metadata at ${this.#imds.endpoint} answered an empty region`);
    } catch (err) {
      tried.push(`the instance metadata at ${this.#imds.endpoint} gave none: ${imdsReason(err)}`);
    }
    throw new AccessProblem(`no AWS region found: ${tried.join('; ')}. ${REGION_REMEDY}`);
  }

  async #loadCredentials(): Promise<ResolvedCredentials> {
    const { env, profile, profileOrigin } = this.#places;
    const tried: string[] = [];
    const key = env['AWS_ACCESS_KEY_ID'] ?? '';
    const secret = env['AWS_SECRET_ACCESS_KEY'] ?? '';
    const inConfig = Object.hasOwn(this.#settings.environment, 'AWS_ACCESS_KEY_ID');
    const named = profileOrigin !== 'default';
    if (key !== '' && secret !== '' && !named) {
      const token = env['AWS_SESSION_TOKEN'] ?? '';
      return {
        identity: {
          accessKeyId: key,
          secretAccessKey: secret,
          ...(token === '' ? {} : { sessionToken: token }),
        },
        source: `environment (AWS_ACCESS_KEY_ID${inConfig ? ' from aws.environment' : ''})`,
      };
    }
    if (key !== '' && secret !== '') {
      tried.push(
        `AWS_ACCESS_KEY_ID is set but not used because profile "${profile}" is named by ${profileOrigin}`,
      );
    } else if (key !== '' || secret !== '') {
      tried.push(
        `the environment has only ${key !== '' ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'} (both are needed)`,
      );
    } else {
      tried.push('the environment has no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY');
    }

    const { credentialsFile, configFile } = this.#places;
    const [credFile, confFile] = await Promise.all([
      readSharedFile(credentialsFile),
      readSharedFile(configFile),
    ]);
    const inCred =
      credFile.state === 'read' ? profileSection(credFile.sections, 'credentials', profile) : undefined;
    const inConf =
      confFile.state === 'read' ? profileSection(confFile.sections, 'config', profile) : undefined;
    // As the SDK does: one profile out of both files, the credentials file winning key by key.
    const merged =
      inCred === undefined && inConf === undefined
        ? undefined
        : new Map([...(inConf ?? []), ...(inCred ?? [])]);
    const kind = profileKind(merged);
    const where = profileKind(inCred).kind !== 'none' ? credentialsFile : configFile;
    const fix = `Fix the profile (e.g. run \`aws configure${profile === 'default' ? '' : ` --profile ${profile}`}\` as the daemon user).`;
    if (kind.kind === 'incomplete') {
      throw new AccessProblem(
        `profile "${profile}" (${where}) cannot give AWS credentials: ${kind.why}. ${fix}`,
      );
    }
    if (kind.kind !== 'none') {
      let identity: AwsCredentialIdentity;
      try {
        identity = await this.#profileProvider({
          profile,
          filepath: credentialsFile,
          configFilepath: configFile,
        })();
      } catch (err) {
        throw new AccessProblem(
          `the AWS credentials of profile "${profile}" (${where}) could not be used: ${(err as Error).message}. ${fix}`,
          { cause: err },
        );
      }
      const fellBack = fellBackFrom(identity);
      if (fellBack !== null) {
        throw new AccessProblem(
          `the AWS credentials of profile "${profile}" (${where}) could not be used: the SDK found none there and fell back to ${fellBack}. ${fix}`,
        );
      }
      return { identity, source: `profile ${profile} (${where})` };
    }
    const files = `${describeFile(credFile)} and ${describeFile(confFile)}`;
    tried.push(
      merged === undefined
        ? `profile "${profile}" is in neither ${files}`
        : `profile "${profile}" in ${files} has no credentials`,
    );
    if (named) {
      throw new AccessProblem(
        `no AWS credentials found: ${tried.join('; ')}. Set up profile "${profile}" (run \`aws configure --profile ${profile}\` as the daemon user) or stop naming it in ${profileOrigin}.`,
      );
    }

    try {
      return await this.#instanceRole();
    } catch (err) {
      tried.push(`the instance metadata at ${this.#imds.endpoint} gave no instance role: ${imdsReason(err)}`);
      throw new AccessProblem(`no AWS credentials found: ${tried.join('; ')}. ${CREDENTIALS_REMEDY}`, {
        cause: err,
      });
    }
  }

  async #instanceRole(): Promise<ResolvedCredentials> {
    const listing = await this.#imds.get('meta-data/iam/security-credentials/');
    const role = listing
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '');
    if (role === undefined) throw new Error('no IAM role is attached to the instance');
    const raw = await this.#imds.get(`meta-data/iam/security-credentials/${role}`);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new Error(`the credentials of instance role ${role} are not JSON`);
    }
    const str = (k: string): string => (typeof doc[k] === 'string' ? doc[k] : '');
    if (str('Code') !== '' && str('Code') !== 'Success') {
      throw new Error(`instance role ${role}: ${str('Code')} ${str('Message')}`.trim());
    }
    if (str('AccessKeyId') === '' || str('SecretAccessKey') === '') {
      throw new Error(`the credentials of instance role ${role} lack AccessKeyId or SecretAccessKey`);
    }
    const expiration = str('Expiration') === '' ? undefined : new Date(str('Expiration'));
    return {
      identity: {
        accessKeyId: str('AccessKeyId'),
        secretAccessKey: str('SecretAccessKey'),
        ...(str('Token') === '' ? {} : { sessionToken: str('Token') }),
        ...(expiration === undefined || Number.isNaN(expiration.getTime()) ? {} : { expiration }),
      },
      source: `instance role ${role} (IMDS)`,
    };
  }
}
