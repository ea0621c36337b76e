/**
 * Request-parameter helpers of the simulator's EC2 Query API (issue 4 section 5): indexed lists
 * (`InstanceId.1`, `InstanceId.2`, …), `Filter.N.Name`/`Filter.N.Value.M` filters, required and boolean
 * parameters, and the `Invalid…ID.NotFound` / `DryRunOperation` refusals every handler shares. Used by
 * ec2.ts and ec2-instances.ts.
 */
import { Ec2Fault } from './ec2-xml.ts';

/** `Name.1`, `Name.2`, … in index order. */
export function listParam(p: URLSearchParams, name: string): string[] {
  const out: [number, string][] = [];
  for (const [k, v] of p) {
    const m = /^(.+)\.(\d+)$/.exec(k);
    if (m?.[1] === name) out.push([Number(m[2]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map((e) => e[1]);
}

/** `Filter.N.Name` / `Filter.N.Value.M` -> name -> accepted values. */
function filters(p: URLSearchParams): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of p) {
    const m = /^Filter\.(\d+)\.Name$/.exec(k);
    if (m === null) continue;
    out.set(v, [...(out.get(v) ?? []), ...listParam(p, `Filter.${m[1]}.Value`)]);
  }
  return out;
}

/** Applies filters; `fields(item)` gives, per supported filter name, the item's values. */
export function applyFilters<T>(
  p: URLSearchParams,
  items: T[],
  fields: (item: T) => Record<string, string[]>,
): T[] {
  const fs = filters(p);
  if (items.length === 0 && fs.size === 0) return items;
  const sample = fields(items[0] as T);
  for (const name of fs.keys()) {
    if (items.length > 0 && !(name in sample))
      throw new Ec2Fault('InvalidParameterValue', `The filter '${name}' is invalid`);
  }
  return items.filter((item) => {
    const f = fields(item);
    for (const [name, values] of fs) {
      if (!(f[name] ?? []).some((v) => values.includes(v))) return false;
    }
    return true;
  });
}

export function required(p: URLSearchParams, name: string): string {
  const v = p.get(name);
  if (v === null || v === '')
    throw new Ec2Fault('MissingParameter', `The request must contain the parameter ${name}`);
  return v;
}

export function bool(p: URLSearchParams, name: string): boolean {
  return p.get(name)?.toLowerCase() === 'true';
}

export const notFound = (code: string, kind: string, id: string): Ec2Fault =>
  new Ec2Fault(`Invalid${code}ID.NotFound`, `The ${kind} ID '${id}' does not exist`);

/** The items named by `ids` (all of them when `ids` is empty); an unknown id is AWS's NotFound. */
export function byIds<T>(items: T[], ids: string[], idOf: (t: T) => string, code: string, kind: string): T[] {
  if (ids.length === 0) return items;
  return ids.map((id) => {
    const found = items.find((t) => idOf(t) === id);
    if (found === undefined) throw notFound(code, kind, id);
    return found;
  });
}

/** What a mutating action answers to `DryRun=true` once every check passed (HTTP 412, as AWS). */
export function dryRunOk(): Ec2Fault {
  return new Ec2Fault('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
}
