export { OnnxCodes } from './codes.js';
export { CarriedKeys, type DecodeOptions, type DecodeResult, decodeModel, decodeTensor } from './decode.js';
export {
  concatenatePieces,
  type EncodedMessage,
  type EncodeOptions,
  encodeModel,
  encodeModelPieces,
  type ExternalPlacement,
  type Piece,
} from './encode.js';
export { sniffOtherFormat } from './format-sniffing.js';
export {
  EXTERNAL_KEY,
  type ExternalDataSource,
  type ExternalReference,
  FieldData,
  MAX_TENSOR_BYTES,
} from './tensor-proto.js';
