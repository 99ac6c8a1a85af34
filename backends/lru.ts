/**
 * A bounded cache: the most recently used entries of a map, so that a process that compiles an
 * endless stream of formulas (a service that accepts them) keeps a bounded number of compiled
 * plans and pipelines. A JavaScript Map keeps insertion order; a hit moves its entry last.
 *
 * @module
 */

/**
 * A map of at most `capacity` entries that forgets the least recently used.
 *
 * @example
 * ```ts
 * import { LruMap } from "./lru.ts";
 * import assert from "node:assert/strict";
 * const m = new LruMap<string, number>(2);
 * m.set("a", 1); m.set("b", 2); m.get("a"); m.set("c", 3);
 * assert.ok(m.get("b") === undefined && m.get("a") === 1 && m.get("c") === 3);
 * ```
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly capacity: number;
  /** Builds an empty map keeping at most `capacity` entries. */
  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** The value of a key (and it becomes the most recently used), or undefined. */
  get(key: K): V | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  /** Sets a key's value, forgetting the least recently used entry past the capacity. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The number of entries. */
  get size(): number {
    return this.entries.size;
  }
}
