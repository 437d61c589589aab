export {
  type CompareOptions,
  type ComparisonReport,
  compareLatency,
  compareModels,
  type LatencyComparison,
  type LayerComparison,
  type OutputComparison,
} from './compare.js';
export { ErrorAccumulator, type ErrorMetrics, median } from './metrics.js';
