// Locates the built Whittle packages. The workspace root does not depend on them, so they are found through
// the packages' own package.json "exports" maps rather than through a bare `import '@whittle/onnx/node'`.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute file of `subpath` in the package at `packageDir`, following its "exports" map (ESM condition). */
function exportedFile(packageDir, subpath) {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const entry = manifest.exports?.[subpath];
  const target = typeof entry === 'string' ? entry : (entry?.import ?? entry?.default);
  if (!target) throw new Error(`${manifest.name} exports no '${subpath}'`);
  const file = join(packageDir, target);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: build first (pnpm --filter ${manifest.name}... build, or pnpm bench)`);
  }
  return file;
}

/** The `@whittle/onnx/node` and `@whittle/ir` modules, the same instances the onnx package itself uses. */
export async function loadWhittle() {
  const onnxDir = join(repoRoot, 'packages', 'onnx');
  // @whittle/ir as the onnx package resolves it (its workspace link), so `instanceof` checks agree.
  const irDir = realpathSync(join(onnxDir, 'node_modules', '@whittle', 'ir'));
  const [onnx, ir] = await Promise.all([
    import(pathToFileURL(exportedFile(onnxDir, './node')).href),
    import(pathToFileURL(exportedFile(irDir, '.')).href),
  ]);
  return { onnx, ir };
}
