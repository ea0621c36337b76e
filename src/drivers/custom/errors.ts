/**
 * Message table of the `custom` monitor type (STYLE.md 12). Codes are never reused. docs/messages.md mirrors
 * this table.
 */
import type { DriverMessage } from '../messages.ts';

export const CUSTOM_MESSAGES = [
  {
    code: 1,
    id: 'CUSTOM_CHECK_FAILED',
    message: 'The monitor command reported an error.',
    remedy: 'Run the monitor command by hand in the config directory; exit status 0 means normal.',
    retryable: true,
  },
  {
    code: 2,
    id: 'CUSTOM_SPAWN_FAILED',
    message: 'The monitor command could not be run.',
    remedy:
      'Check that the program exists on this server and is executable (chmod +x), and that the path is relative to the config file directory.',
    retryable: false,
  },
  {
    code: 3,
    id: 'CUSTOM_TIMEOUT',
    message: 'The monitor command did not finish within the monitor timeout; its process group was killed.',
    remedy: 'Make the command finish sooner, or raise the monitor timeout.',
    retryable: true,
  },
  {
    code: 4,
    id: 'CUSTOM_INVALID_PARAMS',
    message: 'The monitor parameters are invalid.',
    remedy: 'Fix the monitor in the config file; run `tandem config check` to see every problem.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];
