/**
 * The engine's bytes, decoded from the base64 embedded in `engine_bytes.ts`.
 *
 * @module
 */

import { ENGINE_SHARED_WASM_BASE64, ENGINE_WASM_BASE64 } from "./engine_bytes.ts";

/**
 * The WASM engine: the build with its own memory, or the one importing a shared memory.
 *
 * @example
 * ```ts
 * import { engineBytes } from "./bytes.ts";
 * import assert from "node:assert/strict";
 * const b = engineBytes(false);
 * assert.ok(b[0] === 0 && b[1] === 0x61 && b[2] === 0x73 && b[3] === 0x6d); // "\0asm"
 * ```
 */
export function engineBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  const bin = atob(shared ? ENGINE_SHARED_WASM_BASE64 : ENGINE_WASM_BASE64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let k = 0; k < bin.length; k++) out[k] = bin.charCodeAt(k);
  return out;
}
