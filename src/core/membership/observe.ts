/**
 * Per-step membership observation: turns the liveness of every peer (heard / lost / down), of each
 * interconnect and of the witness path into alerts on change, starts NP resolution rounds and witness
 * exchanges when a peer is lost, and opens or closes the isolation episode. Returns the peers that became
 * down in this step (their groups may now fail over; placement/needs.ts decides).
 */
import type { NodeState, PeerRecord } from '../model.ts';
import { AlertCode, type Out } from '../out.ts';
import { downBlocker, downReason, isDown, isolationCause } from './lease.ts';
import { heardVia, isHeard, lanHeard, lastHeard, lostAt } from './peers.ts';

export function observeMembership(s: NodeState, now: number, out: Out): PeerRecord[] {
  observeIsolation(s, now, out);
  const becameDown: PeerRecord[] = [];
  for (const p of Object.values(s.peers)) {
    const heard = isHeard(s.ix, p, now);
    const prev = p.seen;
    const next = heard
      ? 'heard'
      : isDown(s, p, now)
        ? 'down'
        : p.seen === 'unknown' && !p.report
          ? 'unknown'
          : 'lost';
    if (next === 'unknown' && now >= lostAt(s, p)) {
      // Never heard since the daemon started: counts as lost from then on (NP round, takeover wait).
      p.seen = 'lost';
      p.lostAtMs = now;
      s.npCheck.wantedAt = now;
      s.witness.wantedAt = now;
      out.alert(
        'warning',
        'server',
        p.name,
        AlertCode.serverLost,
        `Server ${p.name} has not been heard since ${s.self} started.`,
      );
      continue;
    }
    if (next !== prev) {
      p.seen = next;
      if (next === 'heard') {
        p.lostAtMs = null;
        out.alert(
          'info',
          'server',
          p.name,
          AlertCode.serverUp,
          `Server ${p.name} is heard (${heardVia(s.ix, p, now)}).`,
        );
      }
      if (next === 'lost' || (next === 'down' && prev === 'heard')) {
        p.lostAtMs = now;
        s.npCheck.wantedAt = now;
        s.witness.wantedAt = now;
        const lh = lastHeard(p);
        out.alert(
          'error',
          'server',
          p.name,
          AlertCode.serverLost,
          `Server ${p.name} is lost: no heartbeat on any path for ${s.ix.config.cluster.heartbeat.timeoutMs} ms${lh === null ? ' (never heard)' : ` (last heard ${Math.round(now - lh)} ms ago)`}.`,
        );
        const blocker = downBlocker(s, p, now);
        if (blocker)
          out.diag('info', 'waiting before taking over from a lost server', {
            server: p.name,
            waitingFor: blocker,
          });
      }
      if (next === 'down' && prev === 'unknown') {
        out.alert(
          'warning',
          'server',
          p.name,
          AlertCode.serverLost,
          `Server ${p.name} has not been heard since ${s.self} started.`,
        );
      }
      if (next === 'down') {
        p.lostAtMs ??= now;
        becameDown.push(p);
        out.alert(
          'warning',
          'server',
          p.name,
          AlertCode.serverDown,
          `Server ${p.name} is down (${downReason(s, p)}); its groups may be taken over.`,
        );
      }
    }
    observePaths(s, p, heard, now, out);
  }
  return becameDown;
}

function observePaths(s: NodeState, p: PeerRecord, heard: boolean, now: number, out: Out): void {
  for (const lan of s.ix.lans) {
    const up = lanHeard(s.ix, p, lan, now);
    const was = p.lanUp[lan];
    if (up === (was ?? false)) continue;
    p.lanUp[lan] = up;
    if (!heard || was === undefined) continue; // the server-level alert says it all
    if (up)
      out.alert(
        'info',
        'heartbeat',
        `${lan}:${p.name}`,
        AlertCode.heartbeatRecovered,
        `Heartbeat ${lan} from ${p.name} recovered.`,
      );
    else
      out.alert(
        'warning',
        'heartbeat',
        `${lan}:${p.name}`,
        AlertCode.heartbeatLost,
        `Heartbeat ${lan} from ${p.name} lost; the server is still heard on another path.`,
      );
  }
  const viaWitnessOnly = heard && heardVia(s.ix, p, now) === 'witness';
  if (viaWitnessOnly && !p.viaWitnessOnly) {
    out.alert(
      'warning',
      'server',
      p.name,
      AlertCode.serverViaWitness,
      `Server ${p.name} is heard only through the witness: every interconnect is silent, no failover. Check the interconnects.`,
    );
  }
  p.viaWitnessOnly = viaWitnessOnly;
}

function observeIsolation(s: NodeState, now: number, out: Out): void {
  if (s.goingDown) return;
  const cause = isolationCause(s, now);
  if (cause && !s.isolation) {
    // actionOnIsolation only runs when the lease was held during this service run (only then can groups
    // have been started here); a server that never had contact just stops what its probes found.
    const hadLease = s.contactAtMs !== null && s.contactAtMs >= (s.serviceStartMs ?? s.daemonStartMs);
    s.isolation = { sinceMs: now, cause, hadLease, actionDone: false };
    // Without a lease held in this service run nothing can have been started here (a cold start while the
    // peers are still booting): a warning that it waits, not an error that it stops.
    out.alert(
      hadLease ? 'error' : 'warning',
      'server',
      s.self,
      AlertCode.npIsolated,
      hadLease
        ? `Server ${s.self} is isolated (${cause}); stopping its groups within ${s.ix.config.cluster.lease.isolationStopTimeoutMs} ms.`
        : `Server ${s.self} has no contact yet (${cause}); it starts no group until it has.`,
    );
  } else if (!cause && s.isolation) {
    s.isolation = null;
    s.isolationEndedAt = now;
    out.alert(
      'info',
      'server',
      s.self,
      AlertCode.npRejoined,
      `Server ${s.self} has contact again and rejoins the cluster.`,
    );
  }
}
