import { describe, expect, it } from 'vitest';
import { childPath, parsePath, pathOf } from './path.js';

describe('paths', () => {
  it('round-trips through parsePath', () => {
    const samples: Array<Array<[number, number]>> = [
      [],
      [[7, 0]],
      [
        [7, 0],
        [1, 2],
        [5, 0],
        [6, 0],
      ],
      [
        [25, 10],
        [2 ** 29 - 1, 123_456],
      ],
    ];
    for (const segments of samples) expect(parsePath(pathOf(segments))).toEqual(segments);
  });

  it('childPath extends a path like pathOf does', () => {
    expect(childPath('', 7, 0)).toBe('7:0');
    expect(childPath('7:0', 5, 3)).toBe(
      pathOf([
        [7, 0],
        [5, 3],
      ]),
    );
  });

  it('rejects segments that are not field numbers and occurrence indexes', () => {
    for (const bad of [[[0, 0]], [[7, -1]], [[7, 0.5]], [[2 ** 29, 0]], [[Number.NaN, 0]]] as Array<
      Array<[number, number]>
    >) {
      expect(() => pathOf(bad)).toThrow(/invalid message path/);
    }
    for (const bad of ['7', ':0', '7:', '7:0/', '7:+1', ' 7:0', '536870912:0']) {
      expect(() => parsePath(bad), bad).toThrow(/invalid message path/);
    }
  });
});
