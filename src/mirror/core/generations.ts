/**
 * Generation identifiers of a mirror copy (issue 5 section 2), in the spirit of DRBD's UUID sets: whenever
 * two copies meet, they tell from these alone whether they are identical, which one is newer (and whether
 * the dirty bitmap is enough to bring the other up to date), or whether both were written independently
 * (split brain). Pure: ids are 16-hex-char strings the caller generates (the engine uses its injected
 * random source); nothing here makes one up.
 *
 * - `current`: names the data as it is now. A new one is started when a primary writes without its peer.
 * - `bitmap`: the `current` of the moment the copies separated; the dirty bitmap records every region
 *   written since. Null while the copies are (known to be) in sync.
 * - `history`: the two previous `bitmap` ids, newest first: how far back a common ancestor is recognised
 *   (it then takes a full copy, as the bitmap does not reach back that far).
 *
 * `JUST_CREATED` is the `current` of freshly initialized metadata with `initialSync: full` (the data
 * partition holds whatever it held): it is older than anything, and a copy holding it receives a full copy.
 */

export const JUST_CREATED = '0000000000000000';

export interface Generations {
  readonly current: string;
  readonly bitmap: string | null;
  /** Newest first, at most two entries. */
  readonly history: readonly string[];
}

export type CompareKind = 'identical' | 'local-newer' | 'peer-newer' | 'split-brain' | 'unrelated';

export interface Comparison {
  readonly kind: CompareKind;
  /** For `local-newer` / `peer-newer`: the bitmap cannot tell what differs, every region is copied. */
  readonly full: boolean;
  /** Which rule decided, in words (logged and shown in status). */
  readonly why: string;
}

const ID = /^[0-9a-f]{16}$/;

/** True for a well-formed id (16 lowercase hex characters). */
export function isGenerationId(id: string): boolean {
  return ID.test(id);
}

/** Metadata of a fresh copy: `JUST_CREATED` (full initial sync) or a caller-chosen shared id (skip). */
export function initialGenerations(current: string = JUST_CREATED): Generations {
  return { current, bitmap: null, history: [] };
}

function pushHistory(history: readonly string[], id: string | null): string[] {
  if (id === null || id === JUST_CREATED) return [...history].slice(0, 2);
  return [id, ...history.filter((h) => h !== id)].slice(0, 2);
}

/**
 * A primary starts writing without its peer (peer lost, activation while disconnected, operator break).
 * The old `current` becomes the bitmap id, `newId` the current: from now on the bitmap records what the
 * peer lacks. If a bitmap id is already set, the copy is already writing alone since that point and nothing
 * changes (the bitmap still reaches back to the separation).
 *
 * Example: `{ current: A, bitmap: null, history: [] }` + `onBreak(B)` -> `{ current: B, bitmap: A, history: [] }`;
 * again with C -> unchanged. A copy that was just created adopts the new id with no bitmap id (it has no
 * peer data to track against: whatever meets it later copies everything to it or from it).
 */
export function onBreak(meta: Generations, newId: string): Generations {
  if (meta.bitmap !== null) return meta;
  if (meta.current === JUST_CREATED) return { current: newId, bitmap: null, history: meta.history };
  return { current: newId, bitmap: meta.current, history: meta.history };
}

/**
 * The first activation of a just-created copy while it is connected: it names its data so that the peer,
 * still `JUST_CREATED`, sees it as newer and receives the initial full copy.
 *
 * Example: `{ current: JUST_CREATED }` + `onFirstActivation(B)` -> `{ current: B, bitmap: null, history: [] }`.
 */
export function onFirstActivation(meta: Generations, newId: string): Generations {
  return meta.current === JUST_CREATED ? { current: newId, bitmap: null, history: meta.history } : meta;
}

/**
 * What two copies are to each other. Rules in order (L = local, P = peer):
 *
 * 1. `L.current == P.current`: identical (e.g. both `A`: they separated without either writing alone).
 * 2. One side `JUST_CREATED`, the other not: the other is newer, full copy.
 * 3. `P.bitmap == L.current`: peer newer, bitmap copy (P wrote alone since it left L: `P = {B, A}`, `L = {A}`).
 *    4. the mirror image: local newer, bitmap copy.
 * 5. `L.bitmap == P.bitmap` (both non-null): split brain: both started writing alone from the same data
 *    (`L = {B, A}`, `P = {C, A}`).
 * 6. `L.current` in `P.history`: peer newer, full (P moved on through more than one separation:
 *    `P = {D, C, [A]}`, `L = {A}`). 7. the mirror image: local newer, full.
 * 8. A common id in both histories (or one's bitmap in the other's history): split brain (they share an
 *    ancestor but each has data the other lacks).
 * 9. Otherwise: unrelated (different volumes, or too far apart): refused until the operator picks a source.
 */
export function compareCopies(local: Generations, peer: Generations): Comparison {
  const L = local;
  const P = peer;
  if (L.current === P.current) {
    return { kind: 'identical', full: false, why: `both copies are at generation ${L.current}` };
  }
  if (L.current === JUST_CREATED) {
    return { kind: 'peer-newer', full: true, why: 'the local copy was just created, the peer has data' };
  }
  if (P.current === JUST_CREATED) {
    return {
      kind: 'local-newer',
      full: true,
      why: 'the peer copy was just created, the local copy has data',
    };
  }
  if (P.bitmap !== null && P.bitmap === L.current) {
    return {
      kind: 'peer-newer',
      full: false,
      why: `the peer was written alone since generation ${L.current} (the local copy's)`,
    };
  }
  if (L.bitmap !== null && L.bitmap === P.current) {
    return {
      kind: 'local-newer',
      full: false,
      why: `the local copy was written alone since generation ${P.current} (the peer's)`,
    };
  }
  if (L.bitmap !== null && L.bitmap === P.bitmap) {
    return {
      kind: 'split-brain',
      full: false,
      why: `both copies were written alone since generation ${L.bitmap}`,
    };
  }
  if (P.history.includes(L.current)) {
    return {
      kind: 'peer-newer',
      full: true,
      why: `the peer moved on more than once since generation ${L.current}`,
    };
  }
  if (L.history.includes(P.current)) {
    return {
      kind: 'local-newer',
      full: true,
      why: `the local copy moved on more than once since generation ${P.current}`,
    };
  }
  const lAnc = [L.bitmap, ...L.history].filter((x): x is string => x !== null);
  const pAnc = [P.bitmap, ...P.history].filter((x): x is string => x !== null);
  const common = lAnc.find((x) => pAnc.includes(x));
  if (common !== undefined) {
    return {
      kind: 'split-brain',
      full: true,
      why: `the copies share generation ${common} but each was written since`,
    };
  }
  return {
    kind: 'unrelated',
    full: true,
    why: `generations ${L.current} and ${P.current} have no common history`,
  };
}

/**
 * A resync finished: the source's bitmap id goes to its history (the bitmap is empty again), and the
 * target adopts the source's set, so that the two now compare identical.
 *
 * Example: source `{ B, A, [] }`, target `{ A, null, [] }` -> both `{ B, null, [A] }`.
 */
export function afterResync(
  source: Generations,
  _target: Generations,
): { source: Generations; target: Generations } {
  const done: Generations = {
    current: source.current,
    bitmap: null,
    history: pushHistory(source.history, source.bitmap),
  };
  return { source: done, target: { current: done.current, bitmap: null, history: [...done.history] } };
}

/**
 * `recover --source`: the operator chose `source`'s data; this returns the generations the OTHER copy (the
 * victim) takes so that, compared with the source, it is older: if both separated from the same point (the
 * usual split brain: equal bitmap ids), the victim goes back to that point and the copy is bitmap-based
 * (the engine copies the regions dirty on either side); otherwise it becomes `JUST_CREATED` and receives a
 * full copy.
 *
 * Example: victim `{ C, A }`, source `{ B, A }` -> victim `{ A, null, [] }`: source newer, bitmap copy.
 * Victim `{ X }`, source `{ Y }` (unrelated) -> victim `{ JUST_CREATED, null, [X] }`: full copy.
 */
export function onResolve(victim: Generations, source: Generations): { victim: Generations; full: boolean } {
  if (victim.bitmap !== null && victim.bitmap === source.bitmap) {
    return { victim: { current: victim.bitmap, bitmap: null, history: victim.history }, full: false };
  }
  if (source.bitmap !== null && source.bitmap === victim.current) {
    // Already older by the bitmap rule (the operator confirmed what the generations said).
    return { victim, full: false };
  }
  // The old id stays in the history: if this copy is later activated by force before the copy completes,
  // it is still recognised as descending from (and newer than) the source, not as unrelated.
  return {
    victim: { current: JUST_CREATED, bitmap: null, history: pushHistory(victim.history, victim.current) },
    full: true,
  };
}

/**
 * `recover` of a copy whose disk failed (replaced or repaired since): whatever its data partition holds is
 * not trusted, so it becomes a fresh copy (`JUST_CREATED`: the peer is newer, full copy). The old id stays
 * in the history, as in `onResolve`.
 *
 * Example: `{ B, A, [] }` -> `{ JUST_CREATED, null, [B] }`.
 */
export function onDiskReplaced(meta: Generations): Generations {
  return { current: JUST_CREATED, bitmap: null, history: pushHistory(meta.history, meta.current) };
}
