// Assembles src/weight-kernels.wat into src/weight-kernels-binary.ts (the module's bytes, base64), which is
// committed so that building and installing need no assembler. weight-kernels.test.ts fails when the two disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { weightKernelsModuleSource } from './kernels-source.mjs';

const source = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const text = readFileSync(join(source, 'weight-kernels.wat'), 'utf8');
writeFileSync(join(source, 'weight-kernels-binary.ts'), weightKernelsModuleSource(text));
console.log('wrote src/weight-kernels-binary.ts');
