/**
 * What the compiler works on: the parts of the raw config that passed the schema, with their positions
 * in the file, plus every name the file declares (valid entry or not). Salvaging valid parts lets one
 * `config check` report cross-field problems (unknown names, cycles, shared addresses) together with
 * schema problems elsewhere, instead of one round of fixes per class of error. Names declared by broken
 * entries still count as declared, so a typo in one resource does not make every reference to it an
 * "unknown resource" as well.
 *
 * Salvage works in two steps: `pruneInvalid` removes every map key the schema complained about (unknown
 * keys, values of the wrong type or form), so an entry with a bad optional key still counts; then each
 * section and list entry is parsed on its own. The compiler stays quiet about anything under a pruned
 * key, since its value was not what the file says.
 */
import type { z } from 'zod';
import type { PathSeg } from './issues.ts';
import {
  AwsSectionSchema,
  ClusterSectionSchema,
  FencingSchema,
  FencingServerSchema,
  GroupShellSchema,
  MonitorSchema,
  ResourceSchema,
  ServerSchema,
} from './schema.ts';
import type {
  ParsedAws,
  ParsedCluster,
  ParsedConfig,
  ParsedFencing,
  ParsedGroup,
  ParsedMonitor,
  ParsedResource,
  ParsedServer,
} from './schema.ts';

/** A parsed entry and its index in its list. */
export interface Indexed<T> {
  index: number;
  value: T;
}

/** A name as written, with its index (for duplicate and reference checks). */
export interface DeclaredName {
  index: number;
  name: string;
}

export interface ModelGroup {
  index: number;
  group: ParsedGroup;
  resources: Indexed<ParsedResource>[];
}

/** A resource name as written, with where it was declared. */
export interface DeclaredResource {
  name: string;
  groupIndex: number;
  resourceIndex: number;
  /** Name of its group, when the group has a name. */
  group: string | null;
}

export interface ConfigModel {
  cluster: ParsedCluster | null;
  servers: Indexed<ParsedServer>[];
  groups: ModelGroup[];
  monitors: Indexed<ParsedMonitor>[];
  /** The `aws:` section with its defaults; null only when what is written cannot be salvaged. */
  aws: ParsedAws | null;
  /** The `fencing:` section; null when not written or not salvageable (see `declared.fencing`). */
  fencing: ParsedFencing | null;
  declared: {
    servers: DeclaredName[];
    groups: DeclaredName[];
    resources: DeclaredResource[];
    monitors: DeclaredName[];
    /** True when the file has a `fencing:` key, valid or not. */
    fencing: boolean;
  };
}

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function nameOf(v: unknown): string | null {
  const n = obj(v)?.['name'];
  return typeof n === 'string' ? n : null;
}

function declaredNames(items: unknown[]): DeclaredName[] {
  const out: DeclaredName[] = [];
  items.forEach((it, index) => {
    const name = nameOf(it);
    if (name !== null) out.push({ index, name });
  });
  return out;
}

function parseEach<T>(
  items: unknown[],
  parse: (v: unknown) => { success: true; data: T } | { success: false },
): Indexed<T>[] {
  const out: Indexed<T>[] = [];
  items.forEach((it, index) => {
    const r = parse(it);
    if (r.success) out.push({ index, value: r.data });
  });
  return out;
}

/** The raw value with every map key the schema rejected removed, and the removed paths. */
export function pruneInvalid(
  raw: unknown,
  issues: readonly z.core.$ZodIssue[],
): { value: unknown; pruned: PathSeg[][] } {
  const value: unknown = structuredClone(raw);
  const pruned: PathSeg[][] = [];
  const drop = (path: readonly PropertyKey[]): void => {
    const key = path[path.length - 1];
    if (typeof key !== 'string') return; // list entries stay: removing one would shift the others
    let parent: unknown = value;
    for (const seg of path.slice(0, -1)) {
      if (typeof seg === 'symbol') return;
      parent =
        typeof parent === 'object' && parent !== null
          ? (parent as Record<PropertyKey, unknown>)[seg]
          : undefined;
    }
    const map = obj(parent);
    if (map === null || !(key in map)) return;
    delete map[key];
    pruned.push(path.filter((p): p is PathSeg => typeof p !== 'symbol'));
  };
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') for (const k of iss.keys) drop([...iss.path, k]);
    else drop(iss.path);
  }
  return { value, pruned };
}

/**
 * The salvageable part of a `fencing:` section whose problems were reported already: the server entries
 * that are valid (a pruned entry's own checks stay quiet), `type` taken as the only value it can have.
 */
function salvageFencing(v: unknown): ParsedFencing | null {
  const o = obj(v);
  if (o === null) return null;
  const servers: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(obj(o['servers']) ?? {}))
    if (FencingServerSchema.safeParse(entry).success) servers[name] = entry;
  const r = FencingSchema.safeParse({ ...o, type: 'aws', servers });
  return r.success ? r.data : null;
}

/** The cluster section with name and secretFile optional, to check the rest when they are missing. */
const LenientClusterSchema = ClusterSectionSchema.extend({
  name: ClusterSectionSchema.shape.name.default(''),
  secretFile: ClusterSectionSchema.shape.secretFile.default(''),
});

/**
 * Builds the model. Declared names come from `raw` as written. `parsed` is the result of the full schema
 * when it succeeded (then everything is taken from it); otherwise each section and list entry of
 * `salvage` (the pruned raw value) is parsed on its own and the valid ones are kept (their problems were
 * already reported by the full parse).
 */
export function buildModel(raw: unknown, salvage: unknown, parsed: ParsedConfig | null): ConfigModel {
  const root = obj(raw) ?? {};
  const rawGroups = list(root['groups']);
  const resources: DeclaredResource[] = [];
  rawGroups.forEach((g, groupIndex) => {
    list(obj(g)?.['resources']).forEach((r, resourceIndex) => {
      const name = nameOf(r);
      if (name !== null) resources.push({ name, groupIndex, resourceIndex, group: nameOf(g) });
    });
  });
  const declared = {
    servers: declaredNames(list(root['servers'])),
    groups: declaredNames(rawGroups),
    resources,
    monitors: declaredNames(list(root['monitors'])),
    fencing: root['fencing'] !== undefined,
  };

  if (parsed !== null) {
    return {
      cluster: parsed.cluster,
      servers: parsed.servers.map((value, index) => ({ index, value })),
      groups: parsed.groups.map((group, index) => ({
        index,
        group,
        resources: group.resources.map((value, i) => ({ index: i, value })),
      })),
      monitors: parsed.monitors.map((value, index) => ({ index, value })),
      aws: parsed.aws,
      fencing: parsed.fencing ?? null,
      declared,
    };
  }

  const part = obj(salvage) ?? {};
  const cluster = LenientClusterSchema.safeParse(part['cluster']);
  const groups: ModelGroup[] = [];
  list(part['groups']).forEach((g, index) => {
    const shell = GroupShellSchema.safeParse(g);
    if (!shell.success) return;
    const parsedResources = parseEach(shell.data.resources, (r) => ResourceSchema.safeParse(r));
    groups.push({ index, group: shell.data, resources: parsedResources });
  });
  const aws = AwsSectionSchema.safeParse(part['aws'] ?? {});
  const fencing = part['fencing'] === undefined ? null : salvageFencing(part['fencing']);
  return {
    cluster: cluster.success ? cluster.data : null,
    servers: parseEach(list(part['servers']), (s) => ServerSchema.safeParse(s)),
    groups,
    monitors: parseEach(list(part['monitors']), (m) => MonitorSchema.safeParse(m)),
    aws: aws.success ? aws.data : null,
    fencing,
    declared,
  };
}
