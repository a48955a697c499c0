// Reloads one at a time, and a reload asked for during one runs again after it (with the files as they are then).

/** How a request was served: by a run it started, or by the follow-up run after the one under way. */
export type ReloadTurn = 'started' | 'queued' | 'joined';

/**
 * Runs a reload one at a time, so that every requester is answered by a run that *started after its request*: a
 * request while none runs starts one; a request during a run is queued for one follow-up run that starts as soon as
 * the current one settles (fulfilled or rejected); every request that arrives before the follow-up starts shares it.
 * So an edit saved during a reload is never reported as applied by the reload that had already read the file, and a
 * burst of requests (SIGHUP, autoreload, `ldir reload`) costs at most one run after the one under way.
 */
export class ReloadQueue<T> {
  private running: Promise<T> | undefined;
  private waiting:
    | { readonly promise: Promise<T>; readonly resolve: (v: T) => void; readonly reject: (e: unknown) => void }
    | undefined;

  /** `run` does one reload; it is never called while a previous call has not settled. */
  constructor(private readonly run: () => Promise<T>) {}

  /** True while a run is under way (a request now is queued). */
  busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * Asks for a reload; resolves with the outcome of the run that serves it. `onTurn` says at once how it is served
   * (for the log): `started`, `queued` (the first request after the run under way) or `joined` (a follow-up was
   * already queued).
   */
  request(onTurn?: (turn: ReloadTurn) => void): Promise<T> {
    if (this.running === undefined) {
      onTurn?.('started');
      return this.begin();
    }
    if (this.waiting) {
      onTurn?.('joined');
      return this.waiting.promise;
    }
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.waiting = { promise, resolve, reject };
    onTurn?.('queued');
    return promise;
  }

  /** Resolves once no run is under way or queued (a reload preview waits for this: it never sees one half done). */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** Starts a run; when it settles, the queued follow-up (if any) starts in the same step, so no request slips between. */
  private begin(): Promise<T> {
    const run = (async () => this.run())(); // starts now; a throw becomes a rejection
    this.running = run;
    const settled = (): void => {
      const next = this.waiting;
      this.waiting = undefined;
      this.running = undefined;
      if (next) this.begin().then(next.resolve, next.reject);
    };
    run.then(settled, settled);
    return run;
  }
}
