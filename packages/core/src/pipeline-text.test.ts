import { describe, expect, it } from 'vitest';
import { thrown } from './__fixtures__/errors.js';
import { PIPELINE_INVALID_OPTIONS, PIPELINE_SYNTAX } from './codes.js';
import { type ParsedStep, parsePipelineText, printOptionValue, printPipelineText } from './pipeline-text.js';

describe('parsePipelineText', () => {
  it('parses the example from the design', () => {
    expect(parsePipelineText('fold-constants,fuse-batchnorm,quantize{mode=static,per-channel=true}')).toEqual([
      { pass: 'fold-constants', options: {} },
      { pass: 'fuse-batchnorm', options: {} },
      { pass: 'quantize', options: { mode: 'static', perChannel: true } },
    ]);
  });

  it('reads every kind of value', () => {
    const [step] = parsePipelineText(
      'p{int=8,negative=-2,float=0.5,exponent=1e-7,yes=true,no=false,nothing=null,word=int8,path=a/b.onnx,' +
        'quoted="a,b",escaped="say \\"hi\\"\\n\\u00e9",list=[1,2,3],mixed=["a,b",x,[],{k=v}],empty=[],nested={inner-key=1}}',
    );
    expect(step!.options).toEqual({
      int: 8,
      negative: -2,
      float: 0.5,
      exponent: 1e-7,
      yes: true,
      no: false,
      nothing: null,
      word: 'int8',
      path: 'a/b.onnx',
      quoted: 'a,b',
      escaped: 'say "hi"\né',
      list: [1, 2, 3],
      mixed: ['a,b', 'x', [], { k: 'v' }],
      empty: [],
      nested: { innerKey: 1 },
    });
  });

  it('keeps words that only look like numbers as strings', () => {
    expect(parsePipelineText('p{a=01,b=1.2.3,c=1e999,d=0x10,e="8"}')[0]!.options).toEqual({
      a: '01',
      b: '1.2.3',
      c: '1e999',
      d: '0x10',
      e: '8',
    });
  });

  it('accepts third-party names, spaces and camelCase or quoted option names', () => {
    expect(parsePipelineText(' acme/fuse-gelu , @scope/x@2 { perChannel = 1 , "literal-key" = 2 } ')).toEqual([
      { pass: 'acme/fuse-gelu', options: {} },
      { pass: '@scope/x@2', options: { perChannel: 1, 'literal-key': 2 } },
    ]);
  });

  it('reads empty text as an empty pipeline and empty braces as no options', () => {
    expect(parsePipelineText('')).toEqual([]);
    expect(parsePipelineText('   ')).toEqual([]);
    expect(parsePipelineText('a{}')).toEqual([{ pass: 'a', options: {} }]);
  });

  it.each([
    ['a,,b', 3, "Expected a pass name, found ','"],
    ['a,', 3, 'Expected a pass name, found the end of the text'],
    ['a b', 3, "Expected ',' between steps, found 'b'"],
    ['quantize{mode static}', 15, "Expected '=' after option 'mode', found 's'"],
    ['quantize{mode=static', 21, "Unclosed '{' opened at column 9"],
    ['quantize{mode=static;bits=8}', 21, "Expected ',' or '}', found ';'"],
    ['q{a=1,a=2}', 7, "Option 'a' is given twice"],
    ['q{per-channel=1,perChannel=2}', 17, "Option 'perChannel' is given twice"],
    ['q{a="open}', 5, 'Unterminated string'],
    ['q{a="\\x"}', 6, "Unknown escape '\\x' in string"],
    ["q{a='x'}", 5, 'Strings are quoted with double quotes (")'],
    ['q{a=[1,2}', 9, "Expected ',' or ']', found '}'"],
    ['q{a=}', 5, "Expected a value, found '}'"],
    ['q{=1}', 3, "Expected an option name, found '='"],
    ['-bad', 1, "'-bad' is not a valid pass name"],
  ])('reports %j at column %i', (text, column, problem) => {
    const error = thrown(() => parsePipelineText(text));
    expect(error.code).toBe(PIPELINE_SYNTAX);
    expect(error.location).toEqual({ path: `text:${column}` });
    expect(error.message.split('\n')[0]).toBe(`${problem} at column ${column}:`);
  });

  it('points a caret at the problem', () => {
    const error = thrown(() => parsePipelineText('fold-constants,,quantize'));
    expect(error.message).toBe(
      "Expected a pass name, found ',' at column 16:\n  fold-constants,,quantize\n                 ^",
    );
  });

  it('shows a window of long text around the caret', () => {
    const text = `${'a,'.repeat(100)}!`;
    const lines = thrown(() => parsePipelineText(text)).message.split('\n');
    expect(lines[1]!.length).toBeLessThan(100);
    expect(lines[1]![lines[2]!.indexOf('^')]).toBe('!');
  });
});

describe('printPipelineText', () => {
  it('prints canonical text', () => {
    expect(
      printPipelineText([
        'fold-constants',
        ['quantize', { mode: 'static', perChannel: true }],
        { pass: 'acme/fuse-gelu', options: {} },
        { pass: 'x', options: { list: ['a,b', 'plain', 1, true, null], text: '8', skipped: undefined, Odd: 1 } },
      ]),
    ).toBe(
      'fold-constants,quantize{mode=static,per-channel=true},acme/fuse-gelu,x{list=["a,b",plain,1,true,null],text="8","Odd"=1}',
    );
  });

  it('refuses values that have no text form', () => {
    const error = thrown(() => printPipelineText([['x', { weights: new Float32Array(2) }]]));
    expect(error.code).toBe(PIPELINE_INVALID_OPTIONS);
    expect(error.location?.path).toBe('pipeline[0].options.weights');
    expect(() => printOptionValue(Number.NaN)).toThrow(/no text form/);
  });
});

/** Deterministic random numbers, so a failing case can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let value = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(seed: number) {
  const next = random(seed);
  const integer = (limit: number) => Math.floor(next() * limit);
  const pick = <T>(items: readonly T[]): T => items[integer(items.length)]!;
  const nameCharacters = 'abcdefghijklmnopqrstuvwxyz0123456789-_./@';
  const nasty = [
    '',
    ' ',
    ',',
    '{',
    '}',
    '[',
    ']',
    '=',
    '"',
    '\\',
    "'",
    '\n',
    '\t',
    '\u0001',
    'é',
    '😀',
    'true',
    '8',
    'null',
    '-1',
    'a b',
    'x,y',
  ];
  const name = () =>
    pick(['a', 'q', '@', 'acme/', '_']) + Array.from({ length: integer(12) }, () => pick([...nameCharacters])).join('');
  const key = () =>
    pick(['mode', 'perChannel', 'bits', 'x', 'layer2Norm', 'maxIOSize', 'Upper', 'with-dash', 'with space', '']) +
    (integer(3) === 0 ? String(integer(10)) : '');
  const string = () =>
    Array.from({ length: integer(5) }, () => (integer(3) === 0 ? pick(nasty) : pick([...'abcXYZ019.-/:+']))).join('');
  const number = () =>
    pick([
      () => integer(1000) - 500,
      () => (next() - 0.5) * 10 ** (integer(40) - 20),
      () => -0,
      () => Number.MAX_SAFE_INTEGER,
      () => 1e21,
      () => 5e-324,
    ])();
  const value = (depth: number): unknown => {
    const kinds = depth > 2 ? 4 : 6;
    switch (integer(kinds)) {
      case 0:
        return number();
      case 1:
        return pick([true, false, null]);
      case 2:
      case 3:
        return string();
      case 4:
        return Array.from({ length: integer(4) }, () => value(depth + 1));
      default:
        return options(depth + 1);
    }
  };
  const options = (depth: number): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    for (let index = integer(4); index > 0; index--) result[key()] = value(depth);
    return result;
  };
  const pipeline = (): ParsedStep[] =>
    Array.from({ length: integer(5) }, () => ({ pass: name(), options: options(0) }));
  return { pipeline };
}

describe('text round trip', () => {
  it('parses printed text back to the same steps, for many random pipelines', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const steps = generator(seed).pipeline();
      const text = printPipelineText(steps);
      let parsed: ParsedStep[];
      try {
        parsed = parsePipelineText(text);
      } catch (error) {
        throw new Error(`seed ${seed}: ${text}`, { cause: error });
      }
      expect(parsed, `seed ${seed}: ${text}`).toEqual(steps);
      expect(printPipelineText(parsed), `seed ${seed}`).toBe(text);
    }
  });
});
