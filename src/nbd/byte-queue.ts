/**
 * A FIFO of received bytes for the NBD connection parser: socket chunks go in, fixed-size messages come out.
 * `peek`/`take` return a view into the chunk when the bytes lie in one chunk (the common case: headers, and
 * payloads that arrived in one read) and copy only when a message straddles chunks.
 */
export class ByteQueue {
  #chunks: Buffer[] = [];
  /** Bytes of `#chunks[0]` already consumed. */
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes without consuming them; the caller checked `length >= n`. */
  peek(n: number): Buffer {
    if (n > this.#length) throw new RangeError(`peek(${n}) with ${this.#length} bytes queued`);
    const first = this.#chunks[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    let head = this.#head;
    for (const c of this.#chunks) {
      const k = Math.min(c.length - head, n - copied);
      c.copy(out, copied, head, head + k);
      copied += k;
      head = 0;
      if (copied === n) break;
    }
    return out;
  }

  /** Removes and returns the first `n` bytes; the caller checked `length >= n`. */
  take(n: number): Buffer {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /**
   * Removes the first `n` bytes and returns them as views of the chunks they arrived in (no copy; one
   * buffer when they lie in one chunk); the caller checked `length >= n`.
   */
  takeChunks(n: number): Buffer | Buffer[] {
    if (n > this.#length) throw new RangeError(`takeChunks(${n}) with ${this.#length} bytes queued`);
    const first = this.#chunks[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n);
      this.skip(n);
      return out;
    }
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.#chunks[0]!;
      const avail = c.length - this.#head;
      const k = Math.min(avail, left);
      out.push(c.subarray(this.#head, this.#head + k));
      left -= k;
      if (k === avail) {
        this.#chunks.shift();
        this.#head = 0;
      } else this.#head += k;
    }
    this.#length -= n;
    return out;
  }

  /** Drops up to `n` bytes; returns how many were dropped. */
  skip(n: number): number {
    const want = Math.min(n, this.#length);
    let left = want;
    while (left > 0) {
      const first = this.#chunks[0];
      if (first === undefined) break;
      const avail = first.length - this.#head;
      if (avail > left) {
        this.#head += left;
        left = 0;
      } else {
        left -= avail;
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.#length -= want;
    return want;
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#length = 0;
  }
}
