// Stage: debounce. Each request waits a delay; if a newer request arrived meanwhile (compared by
// request id, no busy-waiting) or it was cancelled, it is superseded and does not run the model.
// The delay adapts to typing speed (after Tabby): while the user types fast, wait a bit longer
// than their usual gap between keys, so the model runs when they pause, not on every key.

export interface DebounceOptions {
  /** The configured delay (ms); used until enough keystrokes were seen. 0 disables debouncing. */
  baseMs: number;
  /** Adapt to typing speed. */
  adaptive?: boolean;
  /**
   * Delay = mean recent keystroke gap × factor, clamped to [minMs, maxMs] (default: base / 2 and
   * base × 2; Tabby clamps to 100-1000 ms). Generations aborted by a keystroke are cheap here:
   * the prefill chunks they computed stay in the KV slot for the next request.
   */
  factor?: number;
  minMs?: number;
  maxMs?: number;
  /** Keystroke gaps remembered; gaps longer than `pauseMs` are pauses, not typing. */
  history?: number;
  pauseMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class Debouncer {
  private latest = 0;
  private lastKeystroke: number | null = null;
  private readonly gaps: number[] = [];
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private options: DebounceOptions) {
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? realSleep;
  }

  /** Changes the configured delay (settings may change at any time). */
  setBaseMs(baseMs: number): void {
    this.options = { ...this.options, baseMs };
  }

  /** Records a keystroke (a document change that triggers a request). */
  keystroke(at = this.now()): void {
    if (this.lastKeystroke !== null) {
      const gap = at - this.lastKeystroke;
      if (gap >= 0 && gap <= (this.options.pauseMs ?? 2000)) {
        this.gaps.push(gap);
        if (this.gaps.length > (this.options.history ?? 10)) this.gaps.shift();
      }
    }
    this.lastKeystroke = at;
  }

  /** The delay the next request would wait. */
  delay(): number {
    const o = this.options;
    if (o.baseMs <= 0) return 0;
    if (o.adaptive === false || this.gaps.length < 3) return o.baseMs;
    const mean = this.gaps.reduce((a, b) => a + b, 0) / this.gaps.length;
    const min = o.minMs ?? o.baseMs / 2;
    const max = o.maxMs ?? Math.min(1000, o.baseMs * 2);
    return Math.round(Math.min(max, Math.max(min, mean * (o.factor ?? 1.5))));
  }

  /**
   * Waits the delay; true if this is still the newest request and was not cancelled. Every
   * call supersedes the calls before it.
   */
  async wait(signal?: AbortSignal, delayMs = this.delay()): Promise<boolean> {
    const id = ++this.latest;
    if (delayMs > 0) await this.sleep(delayMs, signal);
    return id === this.latest && !signal?.aborted;
  }

  /** Supersedes waiting requests without starting a new wait (e.g. an explicit trigger). */
  supersede(): void {
    this.latest++;
  }
}
