// Generates the benchmark models (run as a child process by run.mjs; never timed).
//   node bench/lib/generate.mjs <json spec>
// A chain of MatMul nodes, Y = X·W0·W1·…, X: float32[1, dim], each W: float32[dim, dim] with deterministic
// pseudo-random values, written by Whittle's writer twice: all weights in raw_data, and all weights as
// external data in one `<model>.data` file.
import { loadWhittle } from './whittle.mjs';

const spec = JSON.parse(process.argv[2]);
const { onnx, ir } = await loadWhittle();
const { BytesData, DataType, GraphBuilder, Tensor, tensorType } = ir;

/** xorshift32 seeded per tensor, mapped to uniform floats in [-scale, scale). */
function weights(count, seed, scale) {
  const values = new Float32Array(count);
  let x = (seed * 0x9e3779b1) >>> 0 || 1;
  const step = (2 * scale) / 2 ** 24;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    values[i] = (x >>> 8) * step - scale;
  }
  return new Uint8Array(values.buffer);
}

const { dim, layers, seed } = spec;
const builder = new GraphBuilder('matmul_chain');
let current = builder.input('X', DataType.FLOAT, [1, dim]);
for (let i = 0; i < layers; i++) {
  const tensor = new Tensor({
    name: `W${i}`,
    dataType: DataType.FLOAT,
    dims: [dim, dim],
    data: new BytesData(weights(dim * dim, seed + i, 1 / Math.sqrt(dim))),
  });
  const weight = builder.initializer(tensor);
  current = builder.op('MatMul', [current, weight], { name: `matmul_${i}`, output: i === layers - 1 ? 'Y' : `H${i}` });
}
builder.output(current, tensorType(DataType.FLOAT, [1, dim]));
const model = builder.model({
  opsetImports: [{ domain: '', version: 13 }],
  irVersion: 8,
  producerName: 'whittle-bench',
});

const raw = onnx.writeModel(model, spec.rawPath, { externalData: 'inline' });
const external = onnx.writeModel(model, spec.externalPath, { externalData: 'external', externalThreshold: 1024 });
process.stdout.write(`${JSON.stringify({ raw, external })}\n`);
