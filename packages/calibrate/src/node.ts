/** Node-only readers of datasets on disk; everything in the main entry is here too. */
export * from './index.js';
export {
  decodeImage,
  type DecodedImage,
  type ImageChannels,
  type ImageLayout,
  type ImagePreprocessing,
  imageToTensor,
  isImageFile,
  type ResolvedImagePreprocessing,
  readImageFile,
  resolveImagePreprocessing,
} from './node/images.js';
export { decodeNpy, encodeNpy, type NpyHeader, readNpyFile, readNpyHeader } from './node/npy.js';
export { decodeNpz, encodeNpz, readNpzFile } from './node/npz.js';
export { type DatasetKind, type FileDataset, type OpenDatasetOptions, openDataset } from './node/open-dataset.js';
export { irTensorToExecutor, readTensorProtoFile, readTestDataSet } from './node/test-data-set.js';
