/**
 * The contract of a group resource type and of a monitor type in the config layer (issue section 2, issue 4
 * sections 2-3): the zod shape of the type's own keys, which of them may be set per server ("Set Up
 * Individually" in the seed's dialogs), its defaults, how its params compile, type-specific cross-checks
 * and, for resource types, an optional automatic monitor (as the seed adds `awsvipw` for every `awsvip`).
 *
 * The types themselves live in resource-types.ts (exec, custom, pid), resource-types-aws.ts (awsvip,
 * awseip, awsdns and their monitors, awsazw, awsfencew) and resource-types-mirror.ts (md, mdw, mdnw);
 * resource-types.ts lists them all in the registry that the schema and the compiler read.
 */
import type { z } from 'zod';
import type { LOCAL_SERVER } from './defaults.ts';
import type { PathSeg, PointAt } from './issues.ts';
import type { CompiledMonitor, CompiledResource, FinalAction, RecoveryAction } from './types.ts';

/** What type hooks may know about where the config lives. */
export interface TypeCompileContext {
  /** Absolute directory of the config file; relative paths resolve against it. */
  baseDir: string;
}

/** Reports a problem at `subPath` below the object (resource or monitor) being checked. */
export type ReportFn = (
  subPath: readonly PathSeg[],
  message: string,
  remedy: string,
  pointAt?: PointAt,
) => void;

/** What a resource check may know besides its own keys. */
export interface ResourceCheckContext {
  /** Name of the resource being checked. */
  name: string;
  /** Name of the resource's group. */
  group: string;
  /**
   * The servers that can run the resource's group (its valid `startupServers`, in priority order): the
   * servers a per-server key such as `eniId` must end up set for.
   */
  servers: readonly string[];
  /**
   * False when an entry of the group's `startupServers` was refused (unknown, or listed twice): `servers`
   * then lacks what the operator meant, so a check of how many servers there are should stay quiet.
   */
  serversComplete: boolean;
  /** Absolute directory of the config file (relative paths are compared resolved). */
  baseDir: string;
  /** Reports a warning (the `report` argument reports errors). */
  warn: ReportFn;
}

/** A compiled resource and where it is declared, for checks across the resources of one type. */
export interface DeclaredResource {
  resource: CompiledResource;
  /** Path of the resource entry (`groups[i].resources[j]`). */
  path: readonly PathSeg[];
}

/** Reports a problem at an absolute path (checks across resources point into any of them). */
export type AbsoluteReportFn = (
  path: readonly PathSeg[],
  message: string,
  remedy: string,
  pointAt?: PointAt,
) => void;

/** What a monitor check may look up about the cluster. */
export interface MonitorCheckContext {
  /** Compiled resources by name (only those that passed the schema). */
  resources: ReadonlyMap<string, CompiledResource>;
  /** Every resource name written in the file, valid or not (so a broken resource is not "unknown"). */
  declaredResources: ReadonlySet<string>;
  /** Every server name written in the file, in priority order (a monitor runs on every server). */
  servers: readonly string[];
  /** True when the file has a `fencing:` section (valid or not). */
  fencingDeclared: boolean;
  /** `aws.region` when written, else null. */
  awsRegion: string | null;
  /** Reports a warning (the `report` argument reports errors). */
  warn: ReportFn;
}

type Out<S extends z.ZodRawShape> = z.output<z.ZodObject<S>>;

/** A group resource type. Methods (not function properties) so specs of any shape share one registry type. */
export interface ResourceTypeSpec<T extends string = string, S extends z.ZodRawShape = z.ZodRawShape> {
  readonly type: T;
  readonly description: string;
  /** Zod shape of the type's own keys (the common keys live in schema.ts). */
  readonly params: S;
  /** Keys a `servers: { <server>: {...} }` entry may override (checked against `params` by defineResourceType). */
  readonly perServerKeys: readonly string[];
  /** Start/stop timeout when `timeout` is not written. */
  readonly defaultTimeout: string;
  /**
   * Without `dependsOn`, the resource depends on every resource of these types in its group (the seed's
   * "Follow the default dependency"). Types not registered yet are listed so the order is right when
   * they arrive.
   */
  readonly defaultDependsOnTypes: readonly string[];
  /** Common params as the compiled resource carries them (`CompiledResource.params`). */
  compileParams(raw: Out<S>, ctx: TypeCompileContext): Record<string, unknown>;
  /** One server's override, merged so that `{ ...params, ...override }` is that server's full params. */
  compileOverride(
    raw: Partial<Out<S>>,
    common: Record<string, unknown>,
    ctx: TypeCompileContext,
  ): Record<string, unknown>;
  /** Checks the schema cannot express (on the raw, schema-valid params and overrides). */
  check?(
    raw: Out<S>,
    overrides: ReadonlyMap<string, Partial<Out<S>>>,
    report: ReportFn,
    ctx: ResourceCheckContext,
  ): void;
  /**
   * Params that follow from the server's place in the group rather than from the file, merged into
   * `perServer[server]` under the written overrides for every server that can run the group (md: `peer`,
   * the other server of the pair). `servers` are the group's valid startup servers.
   */
  serverParams?(server: string, servers: readonly string[]): Record<string, unknown>;
  /**
   * Checks across every compiled resource of this type in the cluster, after all groups are compiled
   * (md: two volumes must not share a partition, an MDC endpoint, an NBD endpoint or a mount).
   */
  checkAcross?(resources: readonly DeclaredResource[], report: AbsoluteReportFn): void;
  /**
   * The monitors added automatically for this resource: one (exec with async: pidw-<name>; awsvip1:
   * awsvipw1), several (md1: mdw1 and mdnw1), or none (null or []). A resource with several automatic
   * monitors has each replaced separately (docs/configuration.md, "Automatic monitors").
   */
  autoMonitor?(
    resource: CompiledResource,
    ctx: TypeCompileContext,
  ): CompiledMonitor | readonly CompiledMonitor[] | null;
}

/** A monitor type. */
export interface MonitorTypeSpec<T extends string = string, S extends z.ZodRawShape = z.ZodRawShape> {
  readonly type: T;
  readonly description: string;
  readonly params: S;
  readonly perServerKeys: readonly string[];
  /** Defaults of the common monitor keys for this type. */
  readonly defaults: {
    interval: string;
    timeout: string;
    retries: number;
    /** What a check that gets no answer (times out) means for this type (`recovery.noResponse`). */
    noResponse: 'none' | 'warn' | 'recover';
    /**
     * Recovery defaults of the type, for the keys `recovery:` does not write, while the recovery target
     * is the type's own: `target` (awsazw, awsfencew: LocalServer, as the seed sets them up), else the
     * monitor's resource (awsvipw: its awsvip). So a declared monitor that replaces an automatic one
     * recovers the same way unless it says otherwise. Without `target`, the recovery target derives
     * from the monitor's `target` resource or `timing`, or is required.
     */
    recovery?: {
      target?: typeof LOCAL_SERVER;
      action?: RecoveryAction;
      maxReactivations?: number;
      finalAction?: FinalAction;
    };
  };
  compileParams(raw: Out<S>, ctx: TypeCompileContext): Record<string, unknown>;
  compileOverride(
    raw: Partial<Out<S>>,
    common: Record<string, unknown>,
    ctx: TypeCompileContext,
  ): Record<string, unknown>;
  /**
   * The resource this monitor is about by nature (pid: the exec resource it watches). It is the default
   * `target` (so the monitor replaces that resource's automatic one) and, unless `impliedTiming` is
   * `always`, the default `timing.active`.
   */
  impliedResource?(raw: Out<S>): string | null;
  /**
   * When the monitor checks its implied resource: `active` (the default: only where the resource is
   * online, as pid and the AWS monitors do) or `always` (on every server, active or standby: md's
   * monitors watch both copies), which is then the default timing and no mistake when written.
   */
  readonly impliedTiming?: 'active' | 'always';
  check?(
    raw: Out<S>,
    ctx: MonitorCheckContext,
    report: ReportFn,
    overrides: ReadonlyMap<string, Partial<Out<S>>>,
  ): void;
}

export function defineResourceType<const T extends string, S extends z.ZodRawShape>(
  spec: ResourceTypeSpec<T, S> & { perServerKeys: readonly (keyof S & string)[] },
): ResourceTypeSpec<T, S> {
  return spec;
}

export function defineMonitorType<const T extends string, S extends z.ZodRawShape>(
  spec: MonitorTypeSpec<T, S> & { perServerKeys: readonly (keyof S & string)[] },
): MonitorTypeSpec<T, S> {
  return spec;
}
