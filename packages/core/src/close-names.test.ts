import { describe, expect, it } from 'vitest';
import { closeNames, didYouMean, editDistance } from './close-names.js';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});

describe('closeNames', () => {
  const names = ['fold-constants', 'fuse-batchnorm', 'quantize', 'acme/fuse-gelu'];

  it('finds typos, closest first', () => {
    expect(closeNames('fold-constant', names)).toEqual(['fold-constants']);
    expect(closeNames('quantise', names)).toEqual(['quantize']);
  });

  it('finds a scoped pass named without its scope', () => {
    expect(closeNames('fuse-gelu', names)).toContain('acme/fuse-gelu');
  });

  it('suggests nothing for unrelated names', () => {
    expect(closeNames('prune', names)).toEqual([]);
  });

  it('phrases suggestions', () => {
    expect(didYouMean([])).toBe('');
    expect(didYouMean(['a'])).toBe("Did you mean 'a'?");
    expect(didYouMean(['a', 'b', 'c'])).toBe("Did you mean 'a', 'b' or 'c'?");
  });
});
