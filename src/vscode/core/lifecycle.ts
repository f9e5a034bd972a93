// Small disposable helpers (after microsoft/vscode-pull-request-github src/common/lifecycle.ts).
// vscode-free: `vscode.Disposable` satisfies IDisposable structurally, so these work for both.

export interface IDisposable {
  dispose(): unknown;
}

export function toDisposable(fn: () => void): IDisposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      fn();
    },
  };
}

/** Disposes every item (last first), even if one throws; rethrows the first error. */
export function disposeAll(items: IDisposable[]): void {
  let first: unknown = undefined;
  while (items.length > 0) {
    const d = items.pop();
    try {
      d?.dispose();
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== undefined) throw first;
}

/** A long-lived object owning other disposables; `dispose()` is idempotent. */
export abstract class Disposable implements IDisposable {
  private readonly _disposables: IDisposable[] = [];
  private _isDisposed = false;

  protected get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Takes ownership of `d`; disposes it at once if this object is already disposed. */
  protected _register<T extends IDisposable>(d: T): T {
    if (this._isDisposed) d.dispose();
    else this._disposables.push(d);
    return d;
  }

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    disposeAll(this._disposables);
  }
}

/** A minimal typed event emitter for vscode-free modules (vscode.EventEmitter's shape). */
export class Emitter<T> implements IDisposable {
  private listeners: ((value: T) => void)[] = [];

  readonly event = (listener: (value: T) => void): IDisposable => {
    this.listeners.push(listener);
    return toDisposable(() => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) l(value);
  }

  dispose(): void {
    this.listeners = [];
  }
}
