import { readModel } from '@whittle/onnx/node';
import { declaredInputs, type RealModelId, realModel, realModelInputs } from '@whittle/test-fixtures';
import { describe, expect, it } from 'vitest';
import { contextFor, opCounts, runModel, outputsSqnr, lowerAndCompare, minMaxRanges } from './test-support.js';
import { lowerQOperator } from './lower-qoperator.js';
import { quantizeStatic } from './quantize-static.js';

/** quantize-static's QDQ output (min-max ranges over three inputs), lowered: ONNX Runtime gives the same outputs. */
describe('lower-qoperator on quantize-static output', () => {
  for (const id of ['ocr-cls', 'ocr-det'] satisfies RealModelId[]) {
    it(`${id}: every Conv becomes QLinearConv and the outputs stay those of the QDQ model`, async () => {
      const fixture = realModel(id);
      const { model } = readModel(fixture.path);
      const feeds = realModelInputs(fixture, declaredInputs(model));
      const calibration = [1, 2, 3].map((seed) => realModelInputs(fixture, declaredInputs(model), seed));
      const float = await runModel(model, feeds);
      const table = await minMaxRanges(model, calibration);
      await quantizeStatic.create({ calibrationTable: table }).run(model, contextFor());
      const convs = opCounts(model).Conv ?? 0;
      const { lowered, agreement, statistics } = await lowerAndCompare(model, feeds, {});
      const counts = opCounts(lowered);
      const after = await runModel(lowered, feeds);
      console.info(
        `${id}: ${statistics.nodesLowered} QLinear ops, ${statistics.nodesOnIntegers} ops on integers, ` +
          `${statistics.groupsKept} groups kept in QDQ; QDQ vs lowered: ${(agreement.exact * 100).toFixed(1)}% exact, ` +
          `max ${agreement.maxSteps}; SQNR vs float ${outputsSqnr(float, after).toFixed(1)} dB`,
      );
      expect(counts.QLinearConv).toBe(convs);
      expect(counts.Conv ?? 0).toBe(0);
      // The QDQ model and its lowered form compute the same thing: ONNX Runtime's kernels agree bit for bit here.
      expect(agreement.maxSteps).toBe(0);
      expect((await lowerQOperator.create({}).run(lowered, contextFor())).changed).toBe(false);
    });
  }
});
