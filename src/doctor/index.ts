/** `tandem doctor` (issue 4 section 6): what the CLI uses. */
export { runDoctor, DOCTOR_CALL_TIMEOUT_MS } from './run.ts';
export type { DoctorOptions } from './run.ts';
export { renderDoctor, renderFinding } from './render.ts';
export { exitCodeOf } from './types.ts';
export type { DoctorReport, DoctorSummary, Finding, FindingStatus } from './types.ts';
