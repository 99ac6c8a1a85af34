/**
 * The engines a backend-parametrised suite runs on: the float64 reference (checked against
 * dense computations written in the tests) and every real engine of this machine. "gpu" joins
 * when its backend lands.
 *
 * @module
 */

/** Backends every operation and reduction test runs on. */
export const BACKENDS = ["reference", "cpu"] as const;

/** One of them. */
export type TestBackend = (typeof BACKENDS)[number];
