import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { scanUnknownFields } from './scan.js';

const { onnx } = onnxProto;
const ROOT = '/usr/share/libonnx-testdata';

function modelFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...modelFiles(path));
    else if (entry.name === 'model.onnx') out.push(path);
  }
  return out.sort();
}

describe.skipIf(!existsSync(ROOT))('libonnx test data', () => {
  it('contains no field onnx-proto does not know in any model.onnx', () => {
    // All of them: about a thousand small files, scanned in tens of milliseconds.
    const files = modelFiles(ROOT);
    expect(files.length).toBeGreaterThan(0);
    const found: Record<string, string[]> = {};
    for (const file of files) {
      const bytes = new Uint8Array(readFileSync(file));
      const scan = scanUnknownFields(bytes);
      if (scan.size > 0) found[file] = [...scan.keys()];
      // Sanity: onnx-proto decodes what the scanner accepted.
      expect(() => onnx.ModelProto.decode(bytes)).not.toThrow();
    }
    expect(found).toEqual({});
  });
});
