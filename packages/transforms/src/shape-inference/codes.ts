/**
 * Diagnostic and error codes of shape inference and input-shape fixing, sorted. Codes are part of the public
 * contract: tools match on them, so a code is never renamed, only added.
 */
export const ShapeInferenceCodes = {
  /** fix-input-shapes: a dim given for an input is not a non-negative integer or a symbol name. */
  FIX_INPUT_SHAPES_INVALID_DIM: 'FIX_INPUT_SHAPES_INVALID_DIM',
  /** fix-input-shapes: the input is not a tensor (or has no type to fix). */
  FIX_INPUT_SHAPES_NOT_A_TENSOR: 'FIX_INPUT_SHAPES_NOT_A_TENSOR',
  /** fix-input-shapes: the shape given has another rank than the input declares. */
  FIX_INPUT_SHAPES_RANK_MISMATCH: 'FIX_INPUT_SHAPES_RANK_MISMATCH',
  /** fix-input-shapes: the model has no input of that name. */
  FIX_INPUT_SHAPES_UNKNOWN_INPUT: 'FIX_INPUT_SHAPES_UNKNOWN_INPUT',
  /** A subgraph (an If branch) cannot run with the shapes it gets; its values keep the types the model declares. */
  DEAD_BRANCH: 'SHAPE_DEAD_BRANCH',
  /** An op's shape inference threw (an odd attribute, say); its outputs keep what the model declares. */
  INFERENCE_FAILED: 'SHAPE_INFERENCE_FAILED',
  /** An inferred type contradicts the type the model declares; the declared type is kept. */
  SHAPE_CONFLICT: 'SHAPE_CONFLICT',
  /** The main graph cannot run with its input shapes (dims that do not broadcast, say). */
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  /** No shape inference for an op (custom domains, rare ops); its outputs keep what the model declares. */
  UNSUPPORTED_OP: 'SHAPE_INFERENCE_UNSUPPORTED_OP',
} as const;
