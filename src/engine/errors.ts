// One error type for everything a user can get wrong (files, architectures, ids, options):
// the CLI prints its message as one line and exits non-zero; anything else is a bug.
export class MoeLensError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MoeLensError';
  }
}

/** Thrown when an AbortSignal stops work; callers map it to finishReason "cancelled". */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
