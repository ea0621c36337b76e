/**
 * `validate()` of the AWS resource types (awsvip, awseip): the params of every server that may run the
 * group (common params merged with its `servers:` override), and one ENI per server, since the route or
 * the Elastic IP moves between the servers' ENIs.
 */
import type { CompiledConfig, CompiledResource } from '../../shared/config/types.ts';
import { paramsFor } from '../driver.ts';

export function perServerProblems(
  resource: CompiledResource,
  config: CompiledConfig,
  problemsOf: (params: Record<string, unknown>) => string[],
  moving: string,
): string[] {
  const servers =
    config.groups.find((g) => g.name === resource.group)?.startupServers ?? config.servers.map((s) => s.name);
  const perServer = servers.map((s) => ({ s, problems: problemsOf(paramsFor(resource, s)) }));
  // A problem every server has is in the common params: say it once, without a server.
  const common = (perServer[0]?.problems ?? []).filter((x) => perServer.every((e) => e.problems.includes(x)));
  const out = [...common];
  for (const { s, problems } of perServer) {
    for (const x of problems) if (!common.includes(x)) out.push(`servers.${s}: ${x}`);
  }
  const byEni = new Map<string, string[]>();
  for (const s of servers) {
    const eni = paramsFor(resource, s).eniId;
    if (typeof eni === 'string') byEni.set(eni, [...(byEni.get(eni) ?? []), s]);
  }
  for (const [eni, ss] of byEni) {
    if (ss.length > 1) {
      out.push(
        `eniId: ${ss.join(', ')} all use ${eni}; set each server's own ENI under servers.<name>.eniId (${moving} must move between them)`,
      );
    }
  }
  return out;
}
