/**
 * Lifecycle hygiene of the daemon (STYLE.md 21, issue 3 section 3): every timer, socket, child process and
 * server the daemon owns is registered in a `DisposableStore` when it is created, and disposed in reverse
 * order of registration on shutdown (the API stops taking requests before the loop stops, the loop before
 * the transport, the transport before the logs are flushed). A store that was disposed disposes anything
 * added later at once, so a late registration cannot leak.
 *
 * The daemon's own states are those of docs/architecture.md "Daemon states"; this module only tracks the
 * process-level ones: `starting` (wiring), `running` (loop live), `stopping` (signal received: cluster stop in
 * progress), `stopped` (everything disposed).
 */

export interface Disposable {
  dispose(): void | Promise<void>;
}

/** A named disposable: the name appears in the error logged when disposing it fails. */
interface Entry {
  name: string;
  item: Disposable;
}

export type DaemonPhase = 'starting' | 'running' | 'stopping' | 'stopped';

export class DisposableStore implements Disposable {
  #entries: Entry[] = [];
  #disposed = false;
  #onError: (name: string, err: unknown) => void;

  /** `onError` hears about a disposable that threw; disposing goes on with the rest. */
  constructor(onError: (name: string, err: unknown) => void = () => undefined) {
    this.#onError = onError;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Number of live disposables (leak checks in tests). */
  get size(): number {
    return this.#entries.length;
  }

  /** Names of the live disposables, oldest first. */
  names(): string[] {
    return this.#entries.map((e) => e.name);
  }

  /** Register `item`; returns it. Once the store is disposed, `item` is disposed right away. */
  add<T extends Disposable>(name: string, item: T): T {
    if (this.#disposed) {
      void this.#disposeOne({ name, item });
      return item;
    }
    this.#entries.push({ name, item });
    return item;
  }

  /** Register a cleanup function. */
  defer(name: string, fn: () => void | Promise<void>): void {
    this.add(name, { dispose: fn });
  }

  /** Dispose `item` now and forget it (e.g. a timer that fired, a child that exited). */
  async release(item: Disposable): Promise<void> {
    const i = this.#entries.findIndex((e) => e.item === item);
    if (i < 0) return;
    const [e] = this.#entries.splice(i, 1);
    await this.#disposeOne(e!);
  }

  /** Forget `item` without disposing it (it ended by itself). */
  forget(item: Disposable): void {
    const i = this.#entries.findIndex((e) => e.item === item);
    if (i >= 0) this.#entries.splice(i, 1);
  }

  /** Dispose everything, newest first, one at a time (each awaited). Idempotent. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    while (this.#entries.length > 0) {
      const e = this.#entries.pop()!;
      await this.#disposeOne(e);
    }
  }

  async #disposeOne(e: Entry): Promise<void> {
    try {
      await e.item.dispose();
    } catch (err) {
      this.#onError(e.name, err);
    }
  }
}
