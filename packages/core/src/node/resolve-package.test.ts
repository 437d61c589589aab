import { describe, expect, it } from 'vitest';
import { resolveExports } from './resolve-package.js';

describe('resolveExports', () => {
  it('follows import conditions, nested and in order', () => {
    expect(resolveExports('./index.js', '.')).toBe('./index.js');
    expect(resolveExports({ import: './esm.js', require: './cjs.js' }, '.')).toBe('./esm.js');
    expect(resolveExports({ require: './cjs.js', default: './any.js' }, '.')).toBe('./any.js');
    expect(resolveExports({ '.': { types: './x.d.ts', node: { import: './node.js' } } }, '.')).toBe('./node.js');
    expect(resolveExports({ '.': [{ browser: './b.js' }, './fallback.js'] }, '.')).toBe('./fallback.js');
    expect(resolveExports({ '.': { require: './cjs.js' } }, '.')).toBeUndefined();
  });

  it('resolves subpaths and patterns, the longest prefix first', () => {
    const exports = { '.': './index.js', './passes/*': './dist/*.js', './passes/special/*': './special/*.js' };
    expect(resolveExports(exports, './passes/gelu')).toBe('./dist/gelu.js');
    expect(resolveExports(exports, './passes/special/x')).toBe('./special/x.js');
    expect(resolveExports(exports, './other')).toBeUndefined();
    expect(resolveExports({ './private/*': null }, './private/x')).toBeUndefined();
  });
});
