/**
 * The quantization passes need element types and ranks to plan (float activations versus integer indices, the rank
 * of a MatMul input), so they run type inference first. The types are facts the passes read, not part of their
 * result: the value_info entries inference adds are dropped again, so the written model is not larger for them
 * (on the OCR classifier they took the quantized file from 0.50x of the float one to 0.56x). Entries the model already had stay.
 */
import type { Model } from '@whittle/ir';
import type { PassContext } from '@whittle/spec';
import { inferShapes } from '@whittle/transforms';

/** Infer types for planning; call the returned function when done to drop the value_info entries added since. */
export async function inferTypesForPlanning(model: Model, context: PassContext<Model>): Promise<() => void> {
  const listed = new Map([...model.graphs()].map((graph) => [graph, new Set(graph.valueInfo)]));
  await inferShapes.create({}).run(model, context);
  return () => {
    for (const graph of model.graphs()) {
      const before = listed.get(graph);
      const kept = before ? graph.valueInfo.filter((value) => before.has(value)) : [];
      graph.valueInfo.splice(0, graph.valueInfo.length, ...kept);
    }
  };
}
