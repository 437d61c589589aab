export {
  type CalibrationDataset,
  checkedDataset,
  checkSample,
  DatasetCodes,
  type DatasetInput,
  datasetFromSamples,
  formatInput,
  formatTensor,
  limitDataset,
  modelInputs,
  type Sample,
  type SampleOrigin,
} from './dataset.js';
