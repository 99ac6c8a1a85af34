/**
 * keops-ts: KeOps's symbolic kernel reductions for TypeScript. A formula over two point clouds
 * (`K_ij = exp(-|x_i - y_j|²)`) is reduced over i or j (`K @ b`, `argKmin`, `logsumexp`, …)
 * without ever storing the M×N matrix.
 *
 * @example
 * ```ts
 * import { Genred, Vi, Vj } from "@keops-ts/keops";
 * import assert from "node:assert/strict";
 *
 * // The Gaussian kernel sum a_i = Σ_j exp(-|x_i - y_j|²) b_j, as a formula string…
 * const gauss = Genred("Exp(-SqDist(x,y))*b", ["x = Vi(3)", "y = Vj(3)", "b = Vj(1)"], { axis: 1 });
 * const x = [[0, 0, 0], [1, 0, 0]], y = [[0, 0, 0], [0, 1, 0], [2, 0, 0]], b = [[1], [2], [3]];
 * const a = await gauss(x, y, b);
 *
 * // …and as a LazyTensor.
 * const K = Vi(x).sqdist(Vj(y)).neg().exp();
 * const a2 = await K.matvec(b);
 * assert.ok(Math.abs(a.data[0] - a2.data[0]) < 1e-6);
 * ```
 *
 * @module
 */

export { Genred } from "./lazy/genred.ts";
export type {
  AccuracyOptions,
  Arg,
  CallOptions,
  GenredOptions,
  GenredOutput,
  GenredRoutine,
  PairReduction,
  ReductionAlias,
  ReductionName,
} from "./lazy/genred.ts";
export type { BackendChoice } from "./backends/select.ts";
export type { Node, Param } from "./formula/tree.ts";
export type { Leaf } from "./lazy/variables.ts";
export { Pm, Vi, Vj } from "./lazy/variables.ts";
export type { Wrapped } from "./lazy/variables.ts";
export type { Operand, Or, Reduced, ReduceOptions, SyncReductions } from "./lazy/lazy_tensor.ts";
export { LazyTensor } from "./lazy/construct.ts";
export type { LazyTensor as LazyTensorClass } from "./lazy/lazy_tensor.ts";
export type { LazyTensorFunction } from "./lazy/construct.ts";
export { ComplexLazyTensor, ComplexPm, ComplexVi, ComplexVj } from "./lazy/complex.ts";
export type { ComplexOperand } from "./lazy/complex.ts";
export { KernelSolve } from "./lazy/solve.ts";
export type { KernelSolveRoutine, SolveInfo, SolveOptions, SolveResult } from "./lazy/solve.ts";
export { swapAxes } from "./lazy/ranges.ts";
export type { RangeArray, Ranges } from "./lazy/ranges.ts";
export {
  clusterCentroids,
  clusterRanges,
  clusterRangesCentroids,
  fromMatrix,
  gridCluster,
  sortClusters,
} from "./lazy/cluster.ts";
export type { ClusterLabels, ClusterPoints, ClusterWeights } from "./lazy/cluster.ts";
export { ndarray } from "./lazy/ndarray.ts";
export type { NDArray, NestedNumbers } from "./lazy/ndarray.ts";
export type { DType, HostArray } from "./backends/backend.ts";
export { UnsupportedError } from "./formula/errors.ts";
export { LIMITS } from "./formula/limits.ts";
export { getThreads, setThreads, shutdownThreads } from "./backends/wasm/threads.ts";
export { setEngineModule } from "./backends/wasm/engine.ts";
export type { ThreadOptions } from "./backends/wasm/threads.ts";
export { setDevice } from "./backends/webgpu/device.ts";
export { fromGpu, toGpu } from "./backends/webgpu/gpu_array.ts";
export type { GpuArray } from "./backends/webgpu/gpu_array.ts";
