// At most one notification per distinct error: a corrupt model must give one clear message, not
// one per keystroke. `reset()` after a success, so the same failure later is reported again.

export function errorMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  return raw.replace(/\s+/g, ' ').trim();
}

export class ErrorDeduper {
  private readonly shown = new Set<string>();

  /** True the first time `message` is seen since the last reset. */
  shouldShow(message: string): boolean {
    const key = message.replace(/\s+/g, ' ').trim();
    if (this.shown.has(key)) return false;
    this.shown.add(key);
    return true;
  }

  reset(): void {
    this.shown.clear();
  }
}
