// The TypeScript module that carries the assembled kernels: shared by the assembling script and the test that
// checks the committed module is up to date. Binaryen assembles the text and inlines its small helper functions
// (V8 does not inline WebAssembly calls: the calls tripled the quantizing loop's time).
import binaryen from 'binaryen';

export function weightKernelsModuleSource(text) {
  const module = binaryen.parseText(text);
  try {
    module.setFeatures(binaryen.Features.MVP | binaryen.Features.SIMD128 | binaryen.Features.NontrappingFPToInt);
    if (!module.validate()) throw new Error('weight-kernels.wat does not validate');
    binaryen.setOptimizeLevel(3);
    binaryen.setShrinkLevel(0);
    binaryen.setFlexibleInlineMaxSize(400);
    module.optimize();
    const base64 = Buffer.from(module.emitBinary()).toString('base64');
    const lines = base64.match(/.{1,112}/g).map((line) => `  '${line}'`);
    return [
      '// Generated from weight-kernels.wat by `pnpm --filter @whittle/quantize assemble-kernels`: do not edit.',
      'export const WEIGHT_KERNELS_BASE64 =',
      `${lines.join(' +\n')};`,
      '',
    ].join('\n');
  } finally {
    module.dispose();
  }
}
