/**
 * Test fixtures for Whittle (private): real pretrained models from npm packages, the ONNX conformance suite,
 * ONNX Runtime helpers and the onnx.checker of Debian's Python.
 */
export {
  type CheckerReport,
  type CheckerResult,
  onnxChecker,
  onnxCheckerAvailable,
  onnxCheckerReport,
  onnxSameModel,
  SYSTEM_PYTHON,
} from './checker.js';
export {
  CONFORMANCE_ROOT,
  CONFORMANCE_SUITES,
  type ConformanceCase,
  type ConformanceDataSet,
  type ConformanceSuite,
  conformanceAvailable,
  conformanceCases,
  conformanceFeeds,
} from './conformance.js';
export {
  bitIdentical,
  type Feeds,
  type OrtSession,
  type OrtTensor,
  openSession,
  ort,
  ortTypeOf,
  type Outputs,
  outputsDifference,
  runOnnxRuntime,
  type SessionSettings,
  sessionOptions,
  tensorDifference,
  tensorToOrt,
  withSession,
} from './ort.js';
export { type CompareSettings, relativeDifference, tensorRelativeDifference } from './compare.js';
export { packageRoot, packageVersion } from './packages.js';
export { Random, seedOf } from './random.js';
export {
  type DeclaredInput,
  declaredInputs,
  type InputRecipe,
  type RealModel,
  type RealModelId,
  realModel,
  realModelInputs,
  realModels,
  type ValueRecipe,
} from './real-models.js';
export * from './real-data.js';
export { classifierOrientation, ctcGreedyDecode, mapOverlap, ocrCharacters } from './tasks.js';
export {
  CLASSIFIER_EMBEDDINGS,
  classifierWindows,
  type DecisionAgreement,
  decision,
  decisionAgreement,
  EMBEDDING_FRAMES,
  EMBEDDING_SIZE,
  EMBEDDING_STEP,
  embeddingWindows,
  MEL_BINS,
  melFeatures,
  VAD_CONTEXT,
  VAD_STATE_SHAPE,
  VAD_WINDOW,
  vadWindows,
  WAKE_WORD_SCALE,
  wakeWordAudio,
} from './speech-decisions.js';
