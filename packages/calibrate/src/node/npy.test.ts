import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorTensor } from '@whittle/spec';
import { describe, expect, it } from 'vitest';
import { caught, temporaryFolder } from '../test-support.js';
import { decodeNpy, encodeNpy, readNpyFile } from './npy.js';
import { decodeNpz, encodeNpz, readNpzFile } from './npz.js';

const SYSTEM_PYTHON = '/usr/bin/python3';
const dir = temporaryFolder('whittle-npy-');

const numpyAvailable =
  existsSync(SYSTEM_PYTHON) && spawnSync(SYSTEM_PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

/** An .npy file assembled by hand: any header text, any data bytes. */
function handMade(header: string, data: Uint8Array, version = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const text = `${`${header}`.padEnd(Math.ceil((prefix + header.length + 1) / 64) * 64 - prefix - 1, ' ')}\n`;
  const out = new Uint8Array(prefix + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(new TextEncoder().encode(text), prefix);
  out.set(data, prefix + text.length);
  return out;
}

const bytesOf = (array: ArrayBufferView) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

describe('.npy', () => {
  it('round-trips every supported type through the writer', () => {
    const tensors: ExecutorTensor[] = [
      { type: 'float32', dims: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, Number.NaN, 1e-30]) },
      { type: 'float64', dims: [3], data: Float64Array.from([Math.PI, -1, 1e300]) },
      { type: 'float16', dims: [2], data: Uint16Array.from([0x3c00, 0xc000]) },
      { type: 'int8', dims: [2], data: Int8Array.from([-128, 127]) },
      { type: 'int16', dims: [1, 2], data: Int16Array.from([-300, 300]) },
      { type: 'int32', dims: [2], data: Int32Array.from([-7, 2 ** 31 - 1]) },
      { type: 'int64', dims: [2], data: BigInt64Array.from([-(2n ** 62n), 5n]) },
      { type: 'uint8', dims: [1, 1, 3], data: Uint8Array.from([0, 128, 255]) },
      { type: 'uint16', dims: [1], data: Uint16Array.from([65535]) },
      { type: 'uint32', dims: [1], data: Uint32Array.from([2 ** 32 - 1]) },
      { type: 'uint64', dims: [1], data: BigUint64Array.from([2n ** 64n - 1n]) },
      { type: 'bool', dims: [3], data: Uint8Array.from([1, 0, 1]) },
      { type: 'float32', dims: [], data: Float32Array.from([42]) },
      { type: 'float32', dims: [0, 4], data: new Float32Array(0) },
    ];
    for (const tensor of tensors) {
      const back = decodeNpy(encodeNpy(tensor));
      expect(back.type).toBe(tensor.type);
      expect(back.dims).toEqual(tensor.dims);
      expect(bytesOf(back.data as ArrayBufferView)).toEqual(bytesOf(tensor.data as ArrayBufferView));
    }
  });

  it('reads format versions 2 and 3, "=" and "|" byte order marks, and big-endian data', () => {
    const data = bytesOf(Float32Array.from([1, 2]));
    const v2 = decodeNpy(handMade("{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }", data, 2));
    expect(Array.from(v2.data as Float32Array)).toEqual([1, 2]);
    const v3 = decodeNpy(handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", data, 3));
    expect(v3.dims).toEqual([1, 2]);
    const byte = decodeNpy(handMade("{'descr': '|u1', 'fortran_order': False, 'shape': (2,)}", Uint8Array.of(7, 9)));
    expect(Array.from(byte.data as Uint8Array)).toEqual([7, 9]);
    const big = decodeNpy(
      handMade(
        "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
        Uint8Array.of(0, 0, 1, 2, 255, 255, 255, 254),
      ),
    );
    expect(Array.from(big.data as Int32Array)).toEqual([258, -2]);
  });

  it('reports a bad magic, a truncated file, a garbage header and unsupported content with the file', () => {
    const file = '/data/sample.npy';
    const good = encodeNpy({ type: 'float32', dims: [4], data: new Float32Array(4) });
    const cases: [Uint8Array, string][] = [
      [new TextEncoder().encode('PK\u0003\u0004 not numpy at all'), 'magic'],
      [good.subarray(0, 8), 'not an .npy file'],
      [good.subarray(0, 40), 'truncated'],
      [good.subarray(0, good.length - 3), 'needs 16 bytes of data, the file has 13'],
      [Uint8Array.of(...good, 0, 0, 0, 0), 'bytes after the data'],
      [handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", new Uint8Array(8)), 'not a valid dictionary'],
      [handMade('hello world', new Uint8Array(8)), 'not a valid dictionary'],
      [handMade("{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(20)), "dtype '<U5'"],
      [handMade("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), 'structured'],
      [handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", new Uint8Array(4)), "valid 'shape'"],
      [Uint8Array.of(...good.subarray(0, 6), 9, 0, ...good.subarray(8)), 'version 9.0'],
    ];
    for (const [bytes, words] of cases) {
      const error = caught(() => decodeNpy(bytes, file));
      expect(error.code, words).toBe('DATASET_CORRUPT_FILE');
      expect(error.message, words).toContain(words);
      expect(error.message).toContain(file);
      expect(error.location).toEqual({ file });
    }
  });

  it('refuses Fortran order with a clear error (but not for arrays where the order makes no difference)', () => {
    const error = caught(() =>
      decodeNpy(handMade("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", new Uint8Array(24)), 'f.npy'),
    );
    expect(error.code).toBe('DATASET_CORRUPT_FILE');
    expect(error.message).toContain('Fortran (column-major) order');
    expect(error.message).toContain('np.ascontiguousarray');
    const vector = decodeNpy(
      handMade("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 3), }", new Uint8Array(12)),
    );
    expect(vector.dims).toEqual([1, 3]);
  });
});

describe('.npz', () => {
  it('round-trips stored and deflated archives, keyed by member name', () => {
    const sample = {
      x: { type: 'float32', dims: [1, 2], data: Float32Array.from([0.5, 1.5]) },
      'onnx::Flatten_0': { type: 'int64', dims: [1], data: BigInt64Array.from([3n]) },
    };
    for (const level of [0, 6] as const) {
      const back = decodeNpz(encodeNpz(sample, level));
      expect(Object.keys(back).sort()).toEqual(['onnx::Flatten_0', 'x']);
      expect(Array.from(back.x!.data as Float32Array)).toEqual([0.5, 1.5]);
      expect(Array.from(back['onnx::Flatten_0']!.data as BigInt64Array)).toEqual([3n]);
    }
  });

  it('reports a file that is not a zip, and a member that is not .npy', async () => {
    const error = caught(() => decodeNpz(new TextEncoder().encode('definitely not a zip file'), 'bad.npz'));
    expect(error.code).toBe('DATASET_CORRUPT_FILE');
    expect(error.location).toEqual({ file: 'bad.npz' });
    const { zipSync } = await import('fflate');
    const odd = zipSync({ 'notes.txt': new TextEncoder().encode('hi') });
    expect(caught(() => decodeNpz(odd, 'odd.npz')).message).toContain("'notes.txt' is not an .npy file");
    const broken = zipSync({ 'x.npy': new Uint8Array(3) });
    const inner = caught(() => decodeNpz(broken, 'broken.npz'));
    expect(inner.code).toBe('DATASET_CORRUPT_FILE');
    expect(inner.message).toContain('broken.npz:x.npy');
  });
});

describe.skipIf(!numpyAvailable)('against numpy (Debian /usr/bin/python3)', () => {
  it('reads what numpy writes and numpy reads what we write', async () => {
    const ours = join(dir, 'ours.npy');
    writeFileSync(ours, encodeNpy({ type: 'float32', dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.25]) }));
    writeFileSync(
      join(dir, 'ours.npz'),
      encodeNpz({
        a: { type: 'int64', dims: [2], data: BigInt64Array.from([-1n, 9n]) },
        b: { type: 'bool', dims: [1, 2], data: Uint8Array.from([0, 1]) },
      }),
    );
    const script = `
import json, sys
import numpy as np
from numpy.lib import format as fmt
d = sys.argv[1]
np.save(d + '/f32.npy', np.arange(12, dtype=np.float32).reshape(3, 4) / 4)
np.save(d + '/f16.npy', np.array([1.0, -2.5, 65504], dtype=np.float16))
np.save(d + '/f64.npy', np.array([[np.pi]], dtype=np.float64))
np.save(d + '/i64.npy', np.array([-2**40, 7], dtype=np.int64))
np.save(d + '/u8.npy', np.arange(6, dtype=np.uint8).reshape(1, 2, 3))
np.save(d + '/i1.npy', np.array([-5, 5], dtype=np.int8))
np.save(d + '/b1.npy', np.array([True, False, True]))
np.save(d + '/scalar.npy', np.float32(3.5))
np.save(d + '/big.npy', np.array([1, 256], dtype='>i2'))
np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
with open(d + '/v2.npy', 'wb') as f: fmt.write_array(f, np.array([1.5, 2.5], dtype=np.float32), version=(2, 0))
with open(d + '/v3.npy', 'wb') as f: fmt.write_array(f, np.array([7], dtype=np.int32), version=(3, 0))
np.savez(d + '/pair.npz', x=np.ones((1, 2), dtype=np.float32), y=np.array([3], dtype=np.int64))
np.savez_compressed(d + '/packed.npz', x=np.full((1, 1000), 0.25, dtype=np.float32))
ours = np.load(d + '/ours.npy')
z = np.load(d + '/ours.npz')
print(json.dumps({
  'ours': ours.tolist(), 'ours_dtype': str(ours.dtype),
  'a': z['a'].tolist(), 'b': z['b'].tolist(), 'b_dtype': str(z['b'].dtype),
}))
`;
    const run = spawnSync(SYSTEM_PYTHON, ['-c', script, dir], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      ours: [
        [1, 2, 3],
        [4, 5, 6.25],
      ],
      ours_dtype: 'float32',
      a: [-1, 9],
      b: [[false, true]],
      b_dtype: 'bool',
    });

    const read = (name: string) => readNpyFile(join(dir, name));
    const f32 = await read('f32.npy');
    expect(f32).toMatchObject({ type: 'float32', dims: [3, 4] });
    expect(Array.from(f32.data as Float32Array)).toEqual(Array.from({ length: 12 }, (_, i) => i / 4));
    expect(await read('f16.npy')).toMatchObject({
      type: 'float16',
      dims: [3],
      data: Uint16Array.from([0x3c00, 0xc100, 0x7bff]),
    });
    expect(Array.from((await read('f64.npy')).data as Float64Array)).toEqual([Math.PI]);
    expect(Array.from((await read('i64.npy')).data as BigInt64Array)).toEqual([-(2n ** 40n), 7n]);
    expect(await read('u8.npy')).toMatchObject({ type: 'uint8', dims: [1, 2, 3] });
    expect(Array.from((await read('i1.npy')).data as Int8Array)).toEqual([-5, 5]);
    expect(await read('b1.npy')).toMatchObject({ type: 'bool', dims: [3], data: Uint8Array.from([1, 0, 1]) });
    expect(await read('scalar.npy')).toMatchObject({ type: 'float32', dims: [], data: Float32Array.from([3.5]) });
    expect(Array.from((await read('big.npy')).data as Int16Array)).toEqual([1, 256]);
    expect(Array.from((await read('v2.npy')).data as Float32Array)).toEqual([1.5, 2.5]);
    expect(readFileSync(join(dir, 'v3.npy'))[6]).toBe(3);
    expect(Array.from((await read('v3.npy')).data as Int32Array)).toEqual([7]);
    await expect(read('fortran.npy')).rejects.toMatchObject({
      code: 'DATASET_CORRUPT_FILE',
      location: { file: join(dir, 'fortran.npy') },
    });

    const pair = await readNpzFile(join(dir, 'pair.npz'));
    expect(pair.x).toMatchObject({ type: 'float32', dims: [1, 2] });
    expect(Array.from(pair.y!.data as BigInt64Array)).toEqual([3n]);
    const packed = await readNpzFile(join(dir, 'packed.npz'));
    expect((packed.x!.data as Float32Array).every((value) => value === 0.25)).toBe(true);
  });
});
