/**
 * Durations as operators write them in the cluster YAML (issue section 2): a number followed by a unit,
 * `500ms`, `3s`, `5m`, `1h`, or several such parts in decreasing order such as `1m30s`. Plain numbers are
 * refused on purpose: `timeout: 10` could mean seconds or milliseconds, and guessing wrong in an HA
 * product means a failover that is 1000 times too slow or too eager. Pure (no I/O), used by the config
 * compiler and by anything that prints a duration back to the operator.
 */

/** Milliseconds per unit, largest first (the order compound durations must follow). */
const UNITS = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

/**
 * The longest accepted duration: 2^31 - 1 ms (about 24.8 days). Node timers cannot wait longer (a
 * longer `setTimeout` fires at once), so a larger value could never be honoured.
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** One `<number><unit>` part, used by `parseDuration` and by the config schema's JSON Schema pattern. */
const PART = '(\\d+(?:\\.\\d+)?)(ms|h|m|s)';

/** Regular expression source of a whole duration (anchored), for JSON Schema `pattern`. */
export const DURATION_PATTERN = `^(?:${PART})+$`;

/** How to write a duration; shown as the remedy of every duration error. */
export const DURATION_HINT =
  'write a number followed by a unit: ms, s, m or h (for example 500ms, 3s, 5m, 1h or 1m30s); plain numbers are not accepted';

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

/**
 * Parses `500ms`, `3s`, `1.5s`, `5m`, `1h`, `1h30m`. Each unit may appear once, largest first; the
 * total must be a whole number of milliseconds no greater than `MAX_DURATION_MS`.
 */
export function parseDuration(text: string): DurationResult {
  const s = text.trim();
  if (s === '') return { ok: false, reason: 'the duration is empty' };
  if (/^\d+(\.\d+)?$/.test(s)) return { ok: false, reason: `"${s}" has no unit` };
  if (!new RegExp(DURATION_PATTERN).test(s)) return { ok: false, reason: `"${s}" is not a duration` };
  const re = new RegExp(PART, 'g');
  let total = 0;
  let lastRank = -1;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const value = Number(m[1]);
    const unit = m[2];
    const rank = UNITS.findIndex(([u]) => u === unit);
    const factor = UNITS[rank]?.[1];
    if (factor === undefined) return { ok: false, reason: `"${s}" has an unknown unit` };
    if (rank <= lastRank) {
      return {
        ok: false,
        reason: `"${s}" repeats a unit or lists units out of order (write them as 1h30m10s)`,
      };
    }
    lastRank = rank;
    total += value * factor;
  }
  // 1.5ms or 0.0001s: not representable as whole milliseconds. Round away float noise first (0.3s).
  const rounded = Math.round(total);
  if (Math.abs(total - rounded) > 1e-6) {
    return { ok: false, reason: `"${s}" is not a whole number of milliseconds` };
  }
  if (rounded > MAX_DURATION_MS) {
    return { ok: false, reason: `"${s}" is longer than the maximum ${formatDuration(MAX_DURATION_MS)}` };
  }
  return { ok: true, ms: rounded };
}

/**
 * Renders milliseconds the way `parseDuration` reads them, using the largest units that divide exactly:
 * `1000` -> `1s`, `90000` -> `1m30s`, `1500` -> `1s500ms`, `0` -> `0s`. Non-integers are rounded.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  for (const [unit, factor] of UNITS) {
    const n = Math.floor(rest / factor);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * factor;
    }
  }
  return out;
}
