// A bounded queue in front of Vault. Beyond `concurrency` running and `queue`
// waiting, callers are refused at once: the hook then answers 429 with
// Retry-After (which Metacontroller honours) instead of letting syncs pile up
// until Metacontroller's 10 s timeout, which it would retry just the same.

import { HookError } from '../errors/catalog.js';

/** The catalog's OVERLOADED (429); the error handler sends Retry-After. */
export class QueueFullError extends HookError {
  constructor(override readonly retryAfterSeconds: number) {
    super('OVERLOADED', `too many syncs waiting for Vault; retry after ${retryAfterSeconds} s`);
    this.name = 'QueueFullError';
  }
}

export class BoundedQueue {
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** Recent time one slot was held, to estimate Retry-After. */
  #avgHoldMs = 50;
  rejected = 0;

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  get depth(): number {
    return this.#waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.queue) {
        this.rejected++;
        // Long enough for the queue ahead to drain, at least a second.
        throw new QueueFullError(Math.max(1, Math.ceil(((this.#waiting.length / this.concurrency) * this.#avgHoldMs) / 1000)));
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    const started = Date.now();
    try {
      return await fn();
    } finally {
      this.#avgHoldMs = this.#avgHoldMs * 0.9 + (Date.now() - started) * 0.1;
      const next = this.#waiting.shift();
      if (next)
        next(); // the slot passes straight to the next waiter
      else this.#running--;
    }
  }
}
