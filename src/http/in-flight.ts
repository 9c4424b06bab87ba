// How many GraphQL operations each operator has running in this process, so that one operator cannot
// take the whole process (its event loop, its database connections) from everybody else.
export class InFlight {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Takes a place for `key`: the function giving it back, or undefined when `key` already holds `max`. */
  tryAcquire(key: string): (() => void) | undefined {
    const held = this.counts.get(key) ?? 0;
    if (held >= this.max) return undefined;
    this.counts.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }
}
