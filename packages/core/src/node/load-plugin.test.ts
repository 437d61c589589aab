import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { rejected } from '../__fixtures__/errors.js';
import { PLUGIN_INVALID, PLUGIN_LOAD_FAILED, PLUGIN_NOT_FOUND } from '../codes.js';
import { PassManager } from '../pass-manager.js';
import { PassRegistry } from '../registry.js';
import { loadPlugin } from './load-plugin.js';

const root = mkdtempSync(join(tmpdir(), 'whittle-plugins-'));
const project = join(root, 'project');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): string {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, text);
  return full;
}

/** A plugin module's source: one pass that appends a node to `{ nodes }` models. */
const pluginSource = (name: string, exportAs: 'default' | 'named') => `
const definition = {
  name: '${name}/append',
  description: 'Appends a node.',
  options: { type: 'object', properties: { node: { type: 'string', default: 'added' } } },
  create: (options) => ({
    name: '${name}/append',
    run: (model) => ({ model: { nodes: [...model.nodes, options.node] }, changed: true }),
  }),
};
${exportAs === 'default' ? 'export default' : 'export const plugin ='} { name: '${name}', passes: [definition] };
`;

write('project/plugins/local.mjs', pluginSource('local', 'default'));
write('project/plugins/named.mjs', pluginSource('named', 'named'));
write('project/plugins/bare.js', `${pluginSource('bare', 'default')}`);
write('project/package.json', '{ "type": "module" }');
write('project/plugins/empty.mjs', 'export const somethingElse = 1;\n');
write(
  'project/plugins/malformed.mjs',
  "export default { name: 'malformed', passes: [{ name: 'x', description: 'no create' }] };\n",
);
write('project/plugins/throws.mjs', "throw new Error('cannot start');\n");
write('project/plugins/missing-dependency.mjs', "import 'not-installed-anywhere';\nexport default {};\n");
// An ESM-only package, as most new npm packages are: `require.resolve` alone would not find it.
write(
  'project/node_modules/acme-whittle/package.json',
  JSON.stringify({ name: 'acme-whittle', type: 'module', exports: { '.': { import: './dist/index.js' } } }),
);
write('project/node_modules/acme-whittle/dist/index.js', pluginSource('acme', 'default'));
// A scoped package with subpath patterns.
write(
  'project/node_modules/@acme/passes/package.json',
  JSON.stringify({
    name: '@acme/passes',
    type: 'module',
    exports: { './plugins/*': { node: { import: './lib/*.mjs' } } },
  }),
);
write('project/node_modules/@acme/passes/lib/gelu.mjs', pluginSource('gelu', 'named'));
// An old CommonJS package without `exports`.
write('project/node_modules/old-plugin/package.json', JSON.stringify({ name: 'old-plugin', main: 'lib/main' }));
write('project/node_modules/old-plugin/lib/main.js', `module.exports = { plugin: { name: 'old', passes: [] } };\n`);

describe('loadPlugin', () => {
  it('loads the default export of a local module, relative to from', async () => {
    const plugin = await loadPlugin('./plugins/local.mjs', { from: project });
    expect(plugin.name).toBe('local');
    expect(plugin.passes.map((pass) => pass.name)).toEqual(['local/append']);
  });

  it('loads a named plugin export, from a path without extension, an absolute path or a file URL', async () => {
    expect((await loadPlugin('./plugins/named', { from: project })).name).toBe('named');
    expect((await loadPlugin(join(project, 'plugins/bare.js'), { from: '/' })).name).toBe('bare');
    expect((await loadPlugin(pathToFileURL(join(project, 'plugins/named.mjs')).href, { from: '/' })).name).toBe(
      'named',
    );
  });

  it('finds packages installed in the project from a folder below it', async () => {
    const from = join(project, 'configs', 'deep');
    mkdirSync(from, { recursive: true });
    expect((await loadPlugin('acme-whittle', { from })).name).toBe('acme');
    expect((await loadPlugin('@acme/passes/plugins/gelu', { from })).name).toBe('gelu');
    expect((await loadPlugin('old-plugin', { from })).name).toBe('old');
  });

  it('registers nothing by itself, and runs once registered', async () => {
    const plugin = await loadPlugin<{ nodes: string[] }>('./plugins/local.mjs', { from: project });
    const registry = new PassRegistry<{ nodes: string[] }>();
    expect(registry.has('local/append')).toBe(false);
    registry.register(plugin);
    const result = await new PassManager(registry).run({ nodes: [] }, 'local/append,local/append{node=second}');
    expect(result.model.nodes).toEqual(['added', 'second']);
  });

  it.each([
    ['./plugins/absent.mjs', PLUGIN_NOT_FOUND],
    ['not-installed-anywhere', PLUGIN_NOT_FOUND],
    ['@acme/passes/plugins/absent', PLUGIN_NOT_FOUND],
    ['@acme/passes', PLUGIN_NOT_FOUND],
    ['./plugins/empty.mjs', PLUGIN_INVALID],
    ['./plugins/malformed.mjs', PLUGIN_INVALID],
    ['./plugins/throws.mjs', PLUGIN_LOAD_FAILED],
    ['./plugins/missing-dependency.mjs', PLUGIN_LOAD_FAILED],
  ])('reports %s as %s', async (specifier, code) => {
    const error = await rejected(loadPlugin(specifier, { from: project }));
    expect(error.code).toBe(code);
    expect(error.location?.file).toBe(specifier);
    expect(error.message).toContain(`'${specifier}'`);
  });

  it('says what is wrong with a malformed plugin', async () => {
    const error = await rejected(loadPlugin('./plugins/malformed.mjs', { from: project }));
    expect(error.location).toEqual({ file: './plugins/malformed.mjs', path: 'passes[0].create' });
    expect(error.message).toContain("pass 'x' needs a create(options) function");
  });

  it('keeps the error a module threw', async () => {
    const error = await rejected(loadPlugin('./plugins/throws.mjs', { from: project }));
    expect((error.cause as Error).message).toBe('cannot start');
  });
});
