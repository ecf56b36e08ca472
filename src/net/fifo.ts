// Array-backed FIFO with O(1) amortised shift (Array.prototype.shift is O(n)).
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    (this.items as (T | undefined)[])[this.head] = undefined; // let it be collected
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  /** Keep only items for which keep() is true (order preserved). */
  retain(keep: (x: T) => boolean): void {
    const kept: T[] = [];
    for (let i = this.head; i < this.items.length; i++) if (keep(this.items[i])) kept.push(this.items[i]);
    this.items = kept;
    this.head = 0;
  }
  toArray(): T[] {
    return this.items.slice(this.head);
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
