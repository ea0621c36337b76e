/**
 * Batching a socket's small writes: the first write of an event loop iteration corks the socket and the
 * check phase (setImmediate) uncorks it, so everything written meanwhile (the replies or acks of all the
 * requests that completed together) leaves in one writev instead of one system call each. Costs no
 * latency: the check phase follows the poll phase of the same iteration.
 */
import type { Socket } from 'node:net';

export class LoopCork {
  readonly #socket: Socket;
  #corked = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Call before writing. */
  hold(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#socket.cork();
    setImmediate(() => {
      this.#corked = false;
      this.#socket.uncork();
    });
  }
}
