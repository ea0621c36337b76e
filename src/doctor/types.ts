/**
 * What `tandem doctor` reports (issue 4 section 6): a list of findings, one per thing checked, each with
 * the code the problem would otherwise cause at run time, the object it is about and the fix. This file is
 * the contract of the `--json` output; add fields freely, never rename or remove them.
 */

/** `ok`: checked and fine; `warning`: works but may bite; `error`: will fail; `skipped`: not checked (why is in the message). */
export type FindingStatus = 'ok' | 'warning' | 'error' | 'skipped';

export interface Finding {
  /**
   * Stable id of the check, e.g. `aws.credentials`, `awsvip.source-dest-check`, `timing.monitor`. Several
   * findings share an id when the check runs per resource or per server.
   */
  id: string;
  status: FindingStatus;
  /** What the finding is about: `aws access`, `resource awsvip1 (node-2)`, `monitor awsazw1 (node-1)`. */
  object: string;
  /**
   * The code this problem causes when it bites, as `TYPE CODE` (`awsvip 53`, `awsazw 5`); several joined
   * with ` / ` when it concerns several types; null when there is none (an ok finding, or a problem the
   * seed documents without a code, such as Source/Dest check).
   */
  code: string | null;
  /** What was found, naming the AWS ids involved. */
  message: string;
  /** What to do about it; null when there is nothing to do. */
  remedy: string | null;
  /** Time of the AWS call(s) behind the finding, when it made any (ms). */
  durationMs?: number;
}

export interface DoctorSummary {
  ok: number;
  warning: number;
  error: number;
  skipped: number;
  /** The server the checks were scoped to (`--server`), or null for every server. */
  server: string | null;
  /** Wall time of the whole run (ms). */
  durationMs: number;
}

/** The `--json` document. */
export interface DoctorReport {
  findings: Finding[];
  summary: DoctorSummary;
}

/** Exit status of `tandem doctor`: 0 when no finding is an error, 1 otherwise. */
export function exitCodeOf(report: DoctorReport): 0 | 1 {
  return report.summary.error > 0 ? 1 : 0;
}
