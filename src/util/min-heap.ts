// A binary min-heap: O(log n) push and pop, O(1) peek; the deadlines of thousands of sessions without a scan.

/** Items ordered by a numeric key, smallest first (ties in no particular order). */
export class MinHeap<T> {
  private readonly keys: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The smallest key, or undefined when empty. */
  peekKey(): number | undefined {
    return this.keys[0];
  }

  /** The item with the smallest key, or undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(key: number, item: T): void {
    let index = this.items.length;
    this.keys.push(key);
    this.items.push(item);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((this.keys[parent] as number) <= key) break;
      this.move(parent, index);
      index = parent;
    }
    this.keys[index] = key;
    this.items[index] = item;
  }

  /** Removes and returns the item with the smallest key, or undefined when empty. */
  pop(): T | undefined {
    const top = this.items[0];
    const lastKey = this.keys.pop();
    const lastItem = this.items.pop() as T;
    if (this.items.length === 0 || lastKey === undefined) return top;
    let index = 0;
    const size = this.items.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && (this.keys[right] as number) < (this.keys[left] as number) ? right : left;
      if ((this.keys[child] as number) >= lastKey) break;
      this.move(child, index);
      index = child;
    }
    this.keys[index] = lastKey;
    this.items[index] = lastItem;
    return top;
  }

  clear(): void {
    this.keys.length = 0;
    this.items.length = 0;
  }

  private move(from: number, to: number): void {
    this.keys[to] = this.keys[from] as number;
    this.items[to] = this.items[from] as T;
  }
}
