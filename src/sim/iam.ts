/**
 * The AWS simulator's IAM (issue 4 section 5, and the seed's "IAM settings" / troubleshooting on missing
 * permissions): who may call, and which actions are denied to whom. The world's optional `iam:` section
 * lists users (an access key pair and denied action patterns) and roles (denied patterns); instances name
 * their role with `iamRole:` and their IMDS hands out temporary credentials for it (`issueRoleCredentials`).
 *
 * - Without an `iam:` section every well-formed SigV4 request is accepted (`enforced: false`), as before.
 * - With one, the `Credential=` access key id must be a user's key or a role key issued by an instance's
 *   IMDS (together with its session token); anything else is refused (`AuthFailure` / `InvalidClientTokenId`
 *   in server.ts). A call whose action matches a principal's `deny` pattern (`ec2:ReplaceRoute`,
 *   `route53:*`, `*`; case-insensitive, `*` and `?` wildcards) is refused (`UnauthorizedOperation` /
 *   `AccessDenied`).
 * - Role credentials of an instance that is not running get **no answer** at all, with or without an
 *   `iam:` section: a powered-off machine's processes cannot reach AWS.
 *
 * The simulator does not verify signatures cryptographically: it checks the Authorization header's shape
 * and its access key id, never the HMAC. It is a test double, not a security boundary.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ConfigIssue } from '../shared/config/types.ts';
import { ConfigError } from '../shared/errors.ts';

export interface IamUser {
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Denied action patterns, e.g. `ec2:ReplaceRoute`, `route53:*`, `*`. */
  deny: string[];
}

export interface IamRole {
  name: string;
  deny: string[];
}

/** Temporary credentials an instance's IMDS handed out for its role. */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  roleName: string;
  instanceId: string;
  issuedAtMs: number;
  expiresAtMs: number;
}

export interface IamState {
  /** Whether the world has an `iam:` section; without one every well-formed request is accepted. */
  enforced: boolean;
  users: IamUser[];
  roles: IamRole[];
  /** Role credentials issued by the instances' IMDS, by access key id (expired ones are pruned). */
  issued: Map<string, RoleCredentials>;
  /** Counter behind issued key ids. */
  seq: number;
}

/** How long IMDS role credentials are valid, and how long before expiry IMDS hands out fresh ones. */
export const ROLE_CREDENTIALS_TTL_MS = 6 * 3600_000;
export const ROLE_CREDENTIALS_ROTATE_BEFORE_MS = 3600_000;

const PATTERN_RE = /^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$/;
const pattern = z
  .string()
  .regex(PATTERN_RE, 'expected an action pattern such as ec2:ReplaceRoute, route53:*, ec2:Describe* or *');

const IamSchema = z.strictObject({
  users: z
    .array(
      z.strictObject({
        name: z
          .string()
          .regex(/^[\w+=,.@-]{1,64}$/, 'expected an IAM user name such as tandem-ha')
          .optional(),
        accessKeyId: z
          .string()
          .regex(/^[A-Z0-9]{16,128}$/, 'expected an access key id such as AKIAIOSFODNN7EXAMPLE'),
        secretAccessKey: z.string().min(1),
        deny: z.array(pattern).default([]),
      }),
    )
    .default([]),
  roles: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'expected an IAM role name such as tandem-ha'),
        deny: z.array(pattern).default([]),
      }),
    )
    .default([]),
});

/** An IAM state with nothing enforced (a world without an `iam:` section). */
export function openIamState(): IamState {
  return { enforced: false, users: [], roles: [], issued: new Map(), seq: 0 };
}

function pathText(path: readonly PropertyKey[]): string {
  let out = 'iam';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  return out;
}

/**
 * Validates the world's `iam:` section (undefined: none) and the instances' `iamRole`s against it. Throws a
 * `ConfigError` whose issues name each problem by YAML path (`iam.users[1].accessKeyId`,
 * `instances[0].iamRole`).
 */
export function parseIamWorld(
  raw: unknown,
  instances: ReadonlyArray<{ iamRole?: string | undefined }>,
): IamState {
  if (raw === undefined || raw === null) return openIamState();
  const issues: ConfigIssue[] = [];
  const issue = (path: string, message: string, remedy: string): void => {
    issues.push({ severity: 'error', path, line: 0, col: 0, message, remedy });
  };
  const parsed = IamSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) issue(pathText(i.path), i.message, 'Fix the iam: section.');
    throw iamError(issues);
  }
  const { users, roles } = parsed.data;
  const seen = new Map<string, string>();
  const unique = (kind: string, value: string, path: string): void => {
    const prev = seen.get(`${kind}:${value}`);
    if (prev !== undefined)
      issue(path, `${kind} ${value} is used twice (also at ${prev}).`, 'Make it unique.');
    else seen.set(`${kind}:${value}`, path);
  };
  const named = users.map((u, i) => ({ ...u, name: u.name ?? `sim-user-${i + 1}` }));
  named.forEach((u, i) => {
    unique('user name', u.name, `iam.users[${i}].name`);
    unique('access key id', u.accessKeyId, `iam.users[${i}].accessKeyId`);
    if (u.accessKeyId.startsWith('ASIA')) {
      issue(
        `iam.users[${i}].accessKeyId`,
        `${u.accessKeyId} starts with ASIA, the prefix of temporary credentials, which the simulator issues to instance roles.`,
        'Use an AKIA… key id for a user.',
      );
    }
  });
  roles.forEach((r, i) => unique('role', r.name, `iam.roles[${i}].name`));
  instances.forEach((inst, i) => {
    if (inst.iamRole !== undefined && !roles.some((r) => r.name === inst.iamRole)) {
      issue(
        `instances[${i}].iamRole`,
        `role ${inst.iamRole} is not defined under iam.roles (${roles.map((r) => r.name).join(', ') || 'none defined'}).`,
        'Add the role to iam.roles or fix the name.',
      );
    }
  });
  if (issues.length > 0) throw iamError(issues);
  return {
    enforced: true,
    users: named.map((u) => ({ ...u, deny: [...u.deny] })),
    roles: roles.map((r) => ({ name: r.name, deny: [...r.deny] })),
    issued: new Map(),
    seq: 0,
  };
}

function iamError(issues: ConfigIssue[]): ConfigError {
  const lines = issues.map((i) => `  ${i.path}: ${i.message} ${i.remedy}`);
  return new ConfigError(
    `The world file's iam: section has ${issues.length} problem(s):\n${lines.join('\n')}`,
    issues,
  );
}

/**
 * The role credentials an instance's IMDS serves now: the latest ones issued to it for `roleName` while they
 * have more than an hour left, else fresh ones valid for six hours (older keys stay valid until they expire,
 * as on EC2, so a client holding them is not cut off by a rotation).
 */
export function issueRoleCredentials(
  iam: IamState,
  instanceId: string,
  roleName: string,
  nowMs: number,
): RoleCredentials {
  let latest: RoleCredentials | undefined;
  for (const [key, c] of iam.issued) {
    if (c.expiresAtMs <= nowMs) iam.issued.delete(key);
    else if (c.instanceId === instanceId && c.roleName === roleName) latest = c;
  }
  if (latest !== undefined && latest.expiresAtMs - nowMs > ROLE_CREDENTIALS_ROTATE_BEFORE_MS) return latest;
  iam.seq += 1;
  const creds: RoleCredentials = {
    accessKeyId: `ASIASIM${iam.seq.toString(36).toUpperCase().padStart(13, '0')}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJsim${randomBytes(96).toString('base64')}`,
    roleName,
    instanceId,
    issuedAtMs: nowMs,
    expiresAtMs: nowMs + ROLE_CREDENTIALS_TTL_MS,
  };
  iam.issued.set(creds.accessKeyId, creds);
  return creds;
}

/** Who signed a request, as far as the simulator can tell from the access key id. */
export type Caller =
  | { ok: true; arn: string; deny: readonly string[] }
  | {
      ok: false;
      /** `unknown-key`: refuse; `instance-off`: give no answer (the instance's processes are powered off). */
      reason: 'unknown-key' | 'instance-off';
      detail: string;
    };

/**
 * Identifies the caller of a request signed with `accessKeyId` (and `sessionToken`, for role keys).
 * `instanceUp(id)` says whether an instance is running (and not rebooting).
 */
export function identifyCaller(
  iam: IamState,
  accountId: string,
  accessKeyId: string,
  sessionToken: string | undefined,
  nowMs: number,
  instanceUp: (instanceId: string) => boolean,
): Caller {
  const role = iam.issued.get(accessKeyId);
  if (role !== undefined && role.expiresAtMs > nowMs) {
    if (!instanceUp(role.instanceId)) {
      return { ok: false, reason: 'instance-off', detail: `${role.instanceId} is not running` };
    }
    if (iam.enforced && sessionToken !== role.sessionToken) {
      return {
        ok: false,
        reason: 'unknown-key',
        detail: `${accessKeyId} is a role key and needs its session token (X-Amz-Security-Token)`,
      };
    }
    return {
      ok: true,
      arn: `arn:aws:sts::${accountId}:assumed-role/${role.roleName}/${role.instanceId}`,
      deny: iam.roles.find((r) => r.name === role.roleName)?.deny ?? [],
    };
  }
  const user = iam.users.find((u) => u.accessKeyId === accessKeyId);
  if (user !== undefined)
    return { ok: true, arn: `arn:aws:iam::${accountId}:user/${user.name}`, deny: user.deny };
  if (!iam.enforced) return { ok: true, arn: `arn:aws:iam::${accountId}:user/anonymous`, deny: [] };
  return {
    ok: false,
    reason: 'unknown-key',
    detail: `no user or issued role credentials with key ${accessKeyId}`,
  };
}

function patternRegExp(p: string): RegExp {
  const body = p
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** The first of `deny` matching `service:action` (IAM action names are case-insensitive), if any. */
export function deniedBy(deny: readonly string[], service: string, action: string): string | undefined {
  return deny.find((p) => patternRegExp(p).test(`${service}:${action}`));
}

/** The principal a `POST /_sim/iam/deny` names: a user (by name or access key id) or a role (by name). */
export function findPrincipal(iam: IamState, principal: string): IamUser | IamRole | undefined {
  return (
    iam.users.find((u) => u.name === principal || u.accessKeyId === principal) ??
    iam.roles.find((r) => r.name === principal)
  );
}

/** Whether `p` is a valid deny pattern. */
export function isActionPattern(p: string): boolean {
  return PATTERN_RE.test(p);
}

export interface IamView {
  enforced: boolean;
  users: Array<{ name: string; accessKeyId: string; deny: string[] }>;
  roles: Array<{ name: string; deny: string[]; instances: string[] }>;
}

/** The principals without secrets, for `GET /_sim/world` and `tandem sim show`. */
export function iamView(iam: IamState, instances: ReadonlyArray<{ id: string; iamRole?: string }>): IamView {
  const roleNames = new Set([
    ...iam.roles.map((r) => r.name),
    ...instances.flatMap((i) => (i.iamRole === undefined ? [] : [i.iamRole])),
  ]);
  return {
    enforced: iam.enforced,
    users: iam.users.map((u) => ({ name: u.name, accessKeyId: u.accessKeyId, deny: [...u.deny] })),
    roles: [...roleNames].map((name) => ({
      name,
      deny: [...(iam.roles.find((r) => r.name === name)?.deny ?? [])],
      instances: instances.filter((i) => i.iamRole === name).map((i) => i.id),
    })),
  };
}
