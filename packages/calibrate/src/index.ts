export {
  type CalibrationDataset,
  checkedDataset,
  checkSample,
  DatasetCodes,
  type DatasetInput,
  datasetFromSamples,
  firstSample,
  formatInput,
  formatTensor,
  limitDataset,
  modelInputs,
  spreadDataset,
  type Sample,
  type SampleOrigin,
} from './dataset.js';
export {
  type CalibrateOptions,
  type CalibrationProgress,
  calibrate,
  calibrationTensors,
} from './calibrate.js';
export {
  DEFAULT_HISTOGRAM_BINS,
  decodeHistogramCounts,
  encodeCounts,
  Histogram,
  type HistogramBinsJSON,
  type HistogramCounts,
  type HistogramJSON,
  type HistogramOptions,
} from './histogram.js';
export { DEFAULT_AVERAGING_CONSTANT, MovingAverageMinMax, type MovingAverageJSON } from './moving-average.js';
export {
  OBSERVED_ELEMENT_TYPES,
  TensorObserver,
  type TensorObserverOptions,
  type TensorStatistics,
} from './observer.js';
export {
  computeRange,
  DEFAULT_PERCENTILE,
  entropyThresholdIndex,
  RANGE_METHODS,
  type Range,
  type RangeMethod,
  type RangeOptions,
  type RangeStatistics,
  validateRangeOptions,
} from './range-methods.js';
export {
  CALIBRATION_TABLE_FORMAT,
  CALIBRATION_TABLE_VERSION,
  type CalibrationTable,
  CalibrationTableCodes,
  type CalibrationTableMethod,
  type CalibrationTableModel,
  type CalibrationTensor,
  type CreateCalibrationTableOptions,
  createCalibrationTable,
  modelFingerprint,
  type ParseCalibrationTableOptions,
  parseCalibrationTable,
  parseCalibrationTableSync,
  rangeOptionsOf,
  rangeStatisticsOf,
  recomputeRanges,
  serializeCalibrationTable,
} from './table.js';
export {
  addChannelMeanOutputs,
  ChannelMeanAccumulator,
  type ChannelMeans,
  type ChannelMeanTarget,
  type ChannelMeanRecorder,
  channelMeanTargets,
  createChannelMeanSession,
  measureChannelMeans,
  withChannelMeans,
} from './channel-means.js';
export {
  type BranchName,
  hoistBranches,
  hoistTakenBranches,
  mainGraphIfs,
  withTakenBranches,
} from './branches.js';
