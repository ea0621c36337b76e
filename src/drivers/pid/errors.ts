/**
 * Message table of the `pid` monitor type (STYLE.md 12). Codes are never reused. docs/messages.md mirrors
 * this table.
 */
import type { DriverMessage } from '../messages.ts';

export const PID_MESSAGES = [
  {
    code: 1,
    id: 'PID_PROCESS_GONE',
    message: 'The monitored process is gone.',
    remedy:
      'Check the output file <stateDir>/run/<resource>.out and the daemon log for why the process ended.',
    retryable: true,
  },
  {
    code: 2,
    id: 'PID_NOT_RECORDED',
    message: 'No process is recorded for the resource on this server.',
    remedy:
      'The resource is not started here; monitor it only while it is active (timing: { active: <resource> }).',
    retryable: true,
  },
  {
    code: 3,
    id: 'PID_INVALID_PARAMS',
    message: 'The monitor parameters are invalid.',
    remedy: 'Set `resource` to the name of an exec resource with async: true; run `tandem config check`.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];
