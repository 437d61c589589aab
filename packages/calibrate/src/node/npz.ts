/**
 * NumPy `.npz` archives (what `np.savez` / `np.savez_compressed` write): a zip of `<name>.npy` members. As a
 * calibration sample, each member is one model input, keyed by the member name without `.npy`.
 */
import { readFile } from 'node:fs/promises';
import { unzipSync, zipSync } from 'fflate';
import { corruptFileError, type Sample } from '../dataset.js';
import { decodeNpy, encodeNpy } from './npy.js';

/** Parse an .npz archive into tensors by member name. Errors: `DATASET_CORRUPT_FILE` naming the file (and member). */
export function decodeNpz(bytes: Uint8Array, file?: string): Sample {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch (error) {
    throw corruptFileError(file, `not a readable .npz (zip) archive: ${(error as Error).message}`, error);
  }
  const sample: Sample = {};
  for (const [member, content] of Object.entries(members)) {
    if (member.endsWith('/')) continue; // a folder entry
    if (!member.endsWith('.npy')) {
      throw corruptFileError(file, `the archive member '${member}' is not an .npy file`);
    }
    sample[member.slice(0, -'.npy'.length)] = decodeNpy(content, file ? `${file}:${member}` : member);
  }
  return sample;
}

/** Read an .npz archive from disk. */
export async function readNpzFile(path: string): Promise<Sample> {
  return decodeNpz(await readFile(path), path);
}

/** Write tensors as an .npz archive (members stored uncompressed, as `np.savez` does; `level` > 0 deflates). */
export function encodeNpz(sample: Readonly<Sample>, level: 0 | 1 | 6 | 9 = 0): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [name, tensor] of Object.entries(sample)) files[`${name}.npy`] = encodeNpy(tensor);
  return zipSync(files, { level });
}
