/**
 * Message table of the daemon's own action handlers (STYLE.md 12): recovery scripts, OS actions and actions
 * the executor cannot route to a driver. Codes are never reused. docs/messages.md mirrors this table.
 */
import type { DriverMessage } from '../drivers/messages.ts';

export const DAEMON_MESSAGES = [
  {
    code: 1,
    id: 'SCRIPT_FAILED',
    message: 'The recovery script failed.',
    remedy: 'Run the script by hand in its directory and check its output in the daemon log.',
    retryable: true,
  },
  {
    code: 2,
    id: 'SCRIPT_SPAWN_FAILED',
    message: 'The recovery script could not be run.',
    remedy: 'Check that the script exists on this server and is executable (chmod +x).',
    retryable: false,
  },
  {
    code: 3,
    id: 'OS_ACTION_FAILED',
    message: 'The OS action command failed.',
    remedy: 'Check cluster.osActions in the config file and run the command by hand as the daemon user.',
    retryable: true,
  },
  {
    code: 4,
    id: 'OS_ACTION_SPAWN_FAILED',
    message: 'The OS action command could not be run.',
    remedy: 'Check cluster.osActions in the config file: the program must exist and be executable.',
    retryable: false,
  },
  {
    code: 5,
    id: 'NO_DRIVER',
    message: 'No driver for this type is installed in this daemon.',
    remedy:
      'Upgrade Tandem on this server to a version that supports the type, or remove the object from the config.',
    retryable: false,
  },
  {
    code: 6,
    id: 'UNKNOWN_OBJECT',
    message: 'The object is not in the configuration this daemon runs with.',
    remedy: 'Restart the daemon with the same config file as the other servers (tandem config check).',
    retryable: false,
  },
] as const satisfies readonly DriverMessage[];
