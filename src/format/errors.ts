// One error type for everything a user can get wrong (files, architectures, ids, options):
// the CLI prints its message as one line and exits non-zero; anything else is a bug.
export class MoeLensError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MoeLensError';
  }
}

/**
 * A prompt longer than the model's context. Prompts built from text are fitted first
 * (promptFit.ts), so this means ids given as they are, or a bug; the generation is refused.
 */
export class ContextOverflowError extends MoeLensError {
  constructor(
    readonly tokens: number,
    readonly limit: number,
  ) {
    super(`context of ${tokens} tokens exceeds the model's ${limit}`);
    this.name = 'ContextOverflowError';
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
