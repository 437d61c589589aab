/**
 * Quantization ops: QuantizeLinear gives its zero point's type (uint8 without one), DequantizeLinear its scale's
 * type, the integer ops int32, the QLinear ops their output zero point's type.
 */
import { DataType } from '@whittle/ir';
import { type Inferrer, intAttr } from './context.js';
import { convShape } from './conv-pool.js';
import { matmulShape } from './matmul.js';

const quantizeLinear: Inferrer = (context) => {
  const outputType = context.opset >= 21 ? intAttr(context.node, 'output_dtype', 0) : 0;
  let elementType: DataType;
  if (outputType !== 0) elementType = outputType as DataType;
  else if (context.has(2)) elementType = context.elementType(2);
  else elementType = DataType.UINT8;
  context.setTensor(0, elementType, context.shape(0));
};

const dequantizeLinear: Inferrer = (context) => {
  const outputType = context.opset >= 23 ? intAttr(context.node, 'output_dtype', 0) : 0;
  let elementType: DataType;
  if (outputType !== 0) elementType = outputType as DataType;
  else if (context.opset >= 19) elementType = context.elementType(1);
  else elementType = DataType.FLOAT;
  context.setTensor(0, elementType, context.shape(0));
};

const dynamicQuantizeLinear: Inferrer = (context) => {
  context.setTensor(0, DataType.UINT8, context.shape(0));
  context.setTensor(1, DataType.FLOAT, []);
  context.setTensor(2, DataType.UINT8, []);
};

const qlinearConv: Inferrer = (context) => {
  context.setTensor(0, context.elementType(7), convShape(context, 3));
};

const qlinearMatMul: Inferrer = (context) => {
  context.setTensor(0, context.elementType(7), matmulShape(context.shape(0), context.shape(3)));
};

const matmulInteger: Inferrer = (context) => {
  context.setTensor(0, DataType.INT32, matmulShape(context.shape(0), context.shape(1)));
};

const convInteger: Inferrer = (context) => {
  context.setTensor(0, DataType.INT32, convShape(context));
};

export const quantizationInferrers: Record<string, Inferrer> = {
  ConvInteger: convInteger,
  DequantizeLinear: dequantizeLinear,
  DynamicQuantizeLinear: dynamicQuantizeLinear,
  MatMulInteger: matmulInteger,
  QLinearConv: qlinearConv,
  QLinearMatMul: qlinearMatMul,
  QuantizeLinear: quantizeLinear,
};
