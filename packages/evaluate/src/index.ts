export {
  type CompareOptions,
  type ComparisonReport,
  compareModels,
  type LayerComparison,
  type OutputComparison,
} from './compare.js';
export { ErrorAccumulator, type ErrorMetrics, median } from './metrics.js';
