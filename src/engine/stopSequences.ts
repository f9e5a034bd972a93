// Stop sequences over a stream of text increments. Text that could be the beginning of a stop
// sequence is held back until it either completes one (generation stops; the stop sequence and
// anything after it are dropped) or can no longer (it is emitted). Matching is on text, so a stop
// sequence split across tokens, or a token that contains one in the middle, are both found.

export interface StopResult {
  /** Text that is now certain to be part of the output. */
  emit: string;
  /** True once a stop sequence has appeared; further pushes emit nothing. */
  stopped: boolean;
}

export class StopMatcher {
  private readonly stops: string[];
  private held = '';
  private done = false;

  constructor(stops: readonly string[]) {
    this.stops = [...new Set(stops.filter((s) => s.length > 0))];
  }

  get stopped(): boolean {
    return this.done;
  }

  push(increment: string): StopResult {
    if (this.done) return { emit: '', stopped: true };
    const text = this.held + increment;
    // Every stop occurrence starts inside `text`: anything that could have started one earlier
    // was held back. Generation stops at the first *completed* occurrence; if several complete
    // within this increment, the one that starts first wins.
    let at = -1;
    for (const s of this.stops) {
      const i = text.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      this.done = true;
      this.held = '';
      return { emit: text.slice(0, at), stopped: true };
    }
    const hold = this.longestPartialSuffix(text);
    this.held = text.slice(text.length - hold);
    return { emit: text.slice(0, text.length - hold), stopped: false };
  }

  /** The text still held back, at the end of generation (nothing if a stop sequence matched). */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop sequence. */
  private longestPartialSuffix(text: string): number {
    let best = 0;
    for (const s of this.stops) {
      const max = Math.min(s.length - 1, text.length);
      for (let len = max; len > best; len--) {
        if (text.endsWith(s.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
