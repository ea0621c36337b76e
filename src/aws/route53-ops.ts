/**
 * The Route 53 operations of the access layer (`Route53Ops` in types.ts; issue 4 sections 2, 3 and 6).
 * Hosted zone and change ids come back from AWS as `/hostedzone/Z...` and `/change/C...`: the prefix is
 * stripped both ways. Record names are compared as lowercase FQDNs with the trailing dot, with Route 53's
 * octal escapes (`\052` for `*`) undone.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
} from '@aws-sdk/client-route-53';
import type { ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { Runner } from './call.ts';
import { AwsCallError } from './errors.ts';
import type { Route53Ops } from './types.ts';

/** `/hostedzone/Z123` -> `Z123`, `/change/C1` -> `C1`. */
export function stripIdPrefix(id: string): string {
  return id.replace(/^\/?(hostedzone|change)\//, '');
}

/** Lowercase FQDN with the trailing dot, Route 53's `\ddd` octal escapes undone. */
export function normalizeRecordName(name: string): string {
  const plain = name.replace(/\\(\d{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  const lower = plain.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

function unusable(operation: string, what: string): AwsCallError {
  return new AwsCallError({
    kind: 'answered',
    service: 'route53',
    operation,
    awsMessage: `the answer has no ${what}`,
  });
}

export function createRoute53Ops(run: Runner<Route53Client>): Route53Ops {
  /** The A record set `name` as Route 53 holds it, or null. */
  const findA = (zoneId: string, name: string, o: Parameters<Route53Ops['recordA']>[2]) =>
    run('ListResourceRecordSets', o, async (c, abortSignal): Promise<ResourceRecordSet | null> => {
      const want = normalizeRecordName(name);
      const out = await c.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: stripIdPrefix(zoneId),
          StartRecordName: want,
          StartRecordType: 'A',
          MaxItems: 1,
        }),
        { abortSignal },
      );
      // The listing starts at (name, A) or at the next record after it: compare, never assume.
      const first = out.ResourceRecordSets?.[0];
      if (first?.Name === undefined || first.Type !== 'A') return null;
      return normalizeRecordName(first.Name) === want ? first : null;
    });

  return {
    hostedZone: (zoneId, o) =>
      run('GetHostedZone', o, async (c, abortSignal) => {
        const out = await c.send(new GetHostedZoneCommand({ Id: stripIdPrefix(zoneId) }), { abortSignal });
        const z = out.HostedZone;
        if (z?.Id === undefined || z.Name === undefined) throw unusable('GetHostedZone', 'HostedZone');
        return {
          id: stripIdPrefix(z.Id),
          name: normalizeRecordName(z.Name),
          private: z.Config?.PrivateZone ?? false,
          vpcs: (out.VPCs ?? []).flatMap((v) =>
            v.VPCId === undefined ? [] : [{ vpcId: v.VPCId, region: v.VPCRegion ?? '' }],
          ),
        };
      }),

    recordA: async (zoneId, name, o) => {
      const rr = await findA(zoneId, name, o);
      if (rr?.Name === undefined) return null;
      return {
        name: normalizeRecordName(rr.Name),
        ttl: rr.TTL ?? 0,
        values: (rr.ResourceRecords ?? []).flatMap((r) => (r.Value === undefined ? [] : [r.Value])),
      };
    },

    upsertA: (zoneId, name, ip, ttl, o) =>
      run('ChangeResourceRecordSets', o, async (c, abortSignal) => {
        const out = await c.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: stripIdPrefix(zoneId),
            ChangeBatch: {
              Changes: [
                {
                  Action: 'UPSERT',
                  ResourceRecordSet: {
                    Name: normalizeRecordName(name),
                    Type: 'A',
                    TTL: ttl,
                    ResourceRecords: [{ Value: ip }],
                  },
                },
              ],
            },
          }),
          { abortSignal },
        );
        const id = out.ChangeInfo?.Id;
        if (id === undefined) throw unusable('ChangeResourceRecordSets', 'ChangeInfo.Id');
        return stripIdPrefix(id);
      }),

    deleteA: async (zoneId, name, o, onlyIfHolds) => {
      const started = Date.now();
      const rr = await findA(zoneId, name, o);
      if (rr === null) return null;
      // Only a record set that still holds our value: another server may have repointed it meanwhile.
      if (onlyIfHolds !== undefined && !(rr.ResourceRecords ?? []).some((r) => r.Value === onlyIfHolds))
        return null;
      // The rest of the caller's time, so the read and the delete share one deadline.
      const left = o?.timeoutMs === undefined ? undefined : Math.max(1, o.timeoutMs - (Date.now() - started));
      const opts = {
        ...(o?.signal === undefined ? {} : { signal: o.signal }),
        ...(left === undefined ? {} : { timeoutMs: left }),
      };
      try {
        return await run('ChangeResourceRecordSets', opts, async (c, abortSignal) => {
          // DELETE must repeat the record set exactly as it is: the one just read back.
          const out = await c.send(
            new ChangeResourceRecordSetsCommand({
              HostedZoneId: stripIdPrefix(zoneId),
              ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: rr }] },
            }),
            { abortSignal },
          );
          const id = out.ChangeInfo?.Id;
          if (id === undefined) throw unusable('ChangeResourceRecordSets', 'ChangeInfo.Id');
          return stripIdPrefix(id);
        });
      } catch (err) {
        // Someone deleted it between the read and the delete: it is gone, which is what was asked.
        if (
          err instanceof AwsCallError &&
          err.kind === 'answered' &&
          err.awsCode === 'InvalidChangeBatch' &&
          /not found/i.test(err.awsMessage)
        ) {
          return null;
        }
        throw err;
      }
    },

    changeStatus: (changeId, o) =>
      run('GetChange', o, async (c, abortSignal) => {
        const out = await c.send(new GetChangeCommand({ Id: stripIdPrefix(changeId) }), { abortSignal });
        const status = out.ChangeInfo?.Status;
        if (status !== 'PENDING' && status !== 'INSYNC') throw unusable('GetChange', 'ChangeInfo.Status');
        return status;
      }),
  };
}
