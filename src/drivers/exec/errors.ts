/**
 * Message table of the `exec` resource type (STYLE.md 12). Codes are never reused: retire an entry by
 * leaving its code out for good, never by giving it to a new meaning. docs/messages.md mirrors this table.
 */
import type { DriverMessage } from '../messages.ts';

export const EXEC_MESSAGES = [
  {
    code: 1,
    id: 'EXEC_START_FAILED',
    message: 'The start command failed.',
    remedy: 'Run the start command by hand in the config directory and check its output in the daemon log.',
    retryable: true,
  },
  {
    code: 2,
    id: 'EXEC_STOP_FAILED',
    message: 'The stop command failed.',
    remedy: 'Run the stop command by hand in the config directory and check its output in the daemon log.',
    retryable: true,
  },
  {
    code: 3,
    id: 'EXEC_TIMEOUT',
    message: 'The command did not finish within the timeout; its process group was killed.',
    remedy: 'Make the command finish sooner, or raise the resource timeout.',
    retryable: true,
  },
  {
    code: 4,
    id: 'EXEC_SPAWN_FAILED',
    message: 'The command could not be run.',
    remedy:
      'Check that the program exists on this server and is executable (chmod +x), and that the path is relative to the config file directory.',
    retryable: false,
  },
  {
    code: 5,
    id: 'EXEC_ASYNC_EXITED',
    message: 'The process of the async resource exited right after it was started.',
    remedy:
      'With async: true the start command must keep running in the foreground (no `&`, no daemonizing); check its output file.',
    retryable: true,
  },
  {
    code: 6,
    id: 'EXEC_ASYNC_STOP_FAILED',
    message: 'The process of the async resource could not be stopped.',
    remedy: 'Check for processes that ignore SIGKILL (uninterruptible I/O) and for permission problems.',
    retryable: true,
  },
  {
    code: 7,
    id: 'EXEC_STATE_WRITE_FAILED',
    message: 'The resource state could not be recorded in the state directory.',
    remedy:
      'Check that the state directory (--state-dir) exists, is writable and its file system is not full.',
    retryable: true,
  },
  {
    code: 8,
    id: 'EXEC_INVALID_PARAMS',
    message: 'The resource parameters are invalid.',
    remedy: 'Fix the resource in the config file; run `tandem config check` to see every problem.',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];

export type ExecMessageId = (typeof EXEC_MESSAGES)[number]['id'];
