/**
 * The options of KeOps's Genred that are not the formula: the accuracy of sums (`dtype_acc`,
 * `use_double_acc`, `sum_scheme`), checked and resolved per call, and the reduction names with
 * KeOps's aliases.
 *
 * @module
 */

import type { DType, SumScheme } from "../backends/backend.ts";
import { isReduction, type ReductionName, REDUCTIONS } from "../formula/reductions.ts";
import { show } from "../formula/errors.ts";

/**
 * KeOps's accuracy options of sums (the Sum reduction and the LogSumExp family only):
 * `dtype_acc: "float64"` (or `use_double_acc: true`) accumulates float32 data in float64 (on
 * WebGPU, which has no float64, by compensated sums); `sum_scheme` adds the terms one by one
 * ("direct_sum"), by blocks ("block_sum", the default of "auto") or with Kahan's compensation
 * ("kahan_scheme"). The CPU engines add blocks of terms into float64 totals in any case, and
 * evaluate the terms in float64 too for "float64" and "kahan_scheme"; the reference is float64.
 */
export interface AccuracyOptions {
  /** The accumulators' type: "auto" (the data's), "float32", or "float64". */
  dtype_acc?: "auto" | "float32" | "float64";
  /** The same as `dtype_acc: "float64"`. */
  use_double_acc?: boolean;
  /** How terms are added: "auto" (block sums), "direct_sum", "block_sum", "kahan_scheme". */
  sum_scheme?: "auto" | "direct_sum" | "block_sum" | "kahan_scheme";
}

/** The accuracy of a call's sums, resolved from `AccuracyOptions` and the data's dtype. */
export interface Accuracy {
  /** Accumulate in float64 (or as well as the engine can). */
  readonly acc64: boolean;
  readonly scheme: SumScheme;
}

export const ACCURACY_KEYS = ["dtype_acc", "use_double_acc", "sum_scheme"];
const SUM_REDUCTIONS = [
  "Sum",
  "LogSumExp",
  "LogSumExpWeight",
  "SumSoftMaxWeight",
  "Max_SumShiftExp",
  "Max_SumShiftExpWeight",
];

/**
 * Checks the accuracy options of a reduction (KeOps allows them for sums only), with errors
 * that name the option and the value.
 *
 * @example
 * ```ts
 * import { checkAccuracy } from "./options.ts";
 * import assert from "node:assert/strict";
 * assert.ok(checkAccuracy({ sum_scheme: "kahan_scheme" }, "Sum").sum_scheme === "kahan_scheme");
 * let err: unknown;
 * try { checkAccuracy({ dtype_acc: "float64" }, "ArgMin"); } catch (e) { err = e; }
 * assert.ok(err instanceof TypeError);
 * ```
 */
export function checkAccuracy(o: AccuracyOptions, reduction: ReductionName): AccuracyOptions {
  const { dtype_acc, use_double_acc, sum_scheme } = o;
  if (dtype_acc !== undefined && !["auto", "float32", "float64"].includes(dtype_acc)) {
    throw new TypeError(`Unknown dtype_acc ${show(dtype_acc)}: expected "auto", "float32" or "float64"`);
  }
  if (use_double_acc !== undefined && typeof use_double_acc !== "boolean") {
    throw new TypeError(`The option use_double_acc must be true or false, got ${show(use_double_acc)}`);
  }
  if (use_double_acc && dtype_acc !== undefined && dtype_acc !== "auto" && dtype_acc !== "float64") {
    throw new TypeError(
      `The option use_double_acc asks for float64 accumulators but dtype_acc is ${
        show(dtype_acc)
      }: give one of them`,
    );
  }
  if (sum_scheme !== undefined && !["auto", "direct_sum", "block_sum", "kahan_scheme"].includes(sum_scheme)) {
    throw new TypeError(
      `Unknown sum_scheme ${show(sum_scheme)}: expected "auto", "direct_sum", "block_sum" or "kahan_scheme"`,
    );
  }
  const asked = (dtype_acc !== undefined && dtype_acc !== "auto") || use_double_acc ||
    (sum_scheme !== undefined && sum_scheme !== "auto");
  if (asked && !SUM_REDUCTIONS.includes(reduction)) {
    throw new TypeError(
      `The ${reduction} reduction takes no dtype_acc, use_double_acc or sum_scheme: KeOps allows them for Sum and the LogSumExp family only`,
    );
  }
  return { dtype_acc, use_double_acc, sum_scheme };
}

/** The accuracy of one call, for data of `dtype`. */
export function resolveAccuracy(o: AccuracyOptions | undefined, dtype: DType): Accuracy | undefined {
  if (!o) return undefined;
  if (o.dtype_acc === "float32" && dtype === "float64") {
    throw new TypeError(
      'The option dtype_acc "float32" is for float32 data, and this call\'s data is float64: use "auto" or "float64"',
    );
  }
  const acc64 = o.use_double_acc === true || o.dtype_acc === "float64";
  const scheme: SumScheme = o.sum_scheme === "direct_sum"
    ? "direct"
    : o.sum_scheme === "kahan_scheme"
    ? "kahan"
    : "block";
  return acc64 || scheme !== "block" ? { acc64, scheme } : undefined;
}

/** KeOps's other spellings of reduction names (see `reductionName`). */
export type ReductionAlias = "SoftMax" | "MinArgMin" | "MaxArgMax" | "KMinArgKMin";

/**
 * A reduction's name: one of the table's, or one of KeOps's aliases (`"SoftMax"` for
 * SumSoftMaxWeight, and the spellings without underscores `"MinArgMin"`, `"MaxArgMax"`,
 * `"KMinArgKMin"` that pykeops's post-processing knows).
 *
 * @example
 * ```ts
 * import { reductionName } from "./options.ts";
 * import assert from "node:assert/strict";
 * assert.ok(reductionName("SoftMax") === "SumSoftMaxWeight" && reductionName("Sum") === "Sum");
 * ```
 */
export function reductionName(name: unknown): ReductionName {
  const alias = typeof name === "string" ? REDUCTION_ALIASES[name] : undefined;
  if (alias) return alias;
  if (!isReduction(name)) {
    throw new TypeError(
      `Unknown reduction ${show(name)}: expected one of ${
        Object.keys(REDUCTIONS).join(", ")
      } (or the aliases ${Object.keys(REDUCTION_ALIASES).join(", ")})`,
    );
  }
  return name;
}

const REDUCTION_ALIASES: Record<string, ReductionName> = {
  SoftMax: "SumSoftMaxWeight",
  MinArgMin: "Min_ArgMin",
  MaxArgMax: "Max_ArgMax",
  KMinArgKMin: "KMin_ArgKMin",
};
