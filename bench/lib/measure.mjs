// One measurement in a fresh process (run by run.mjs):  node bench/lib/measure.mjs <json job>
// Prints one JSON line: { seconds, phases, baselineRss, maxRss } (bytes). Modes:
//   copy-rw   readFileSync + writeFileSync of each [source, destination] pair (whole file in memory)
//   copy-fs   fs.copyFileSync of each pair (the kernel copies; may use copy_file_range or reflinks)
//   whittle   readModel(source) then writeModel(model, destination) with the default externalData 'auto',
//             which keeps tensors that came from external data external (in `<destination>.data`)
//   verify    checks that destination holds the same model as source (byte-equal files, else tensor by tensor)
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadWhittle } from './whittle.mjs';

const job = JSON.parse(process.argv[2]);
const whittle = job.mode === 'whittle' || job.mode === 'verify' ? await loadWhittle() : undefined;

// Baseline: resident memory with the code loaded, before any model byte is touched.
const baselineRss = process.memoryUsage.rss();
const phases = {};
const start = performance.now();
let mark = start;
const phase = (name) => {
  const now = performance.now();
  phases[name] = (now - mark) / 1000;
  mark = now;
};
let extra = {};

switch (job.mode) {
  case 'copy-rw':
    phases.read = 0;
    phases.write = 0;
    for (const [source, destination] of job.files) {
      let now = performance.now();
      const bytes = readFileSync(source);
      phases.read += (performance.now() - now) / 1000;
      now = performance.now();
      writeFileSync(destination, bytes);
      phases.write += (performance.now() - now) / 1000;
    }
    break;
  case 'copy-fs':
    for (const [source, destination] of job.files) copyFileSync(source, destination);
    break;
  case 'whittle': {
    const { model, diagnostics } = whittle.onnx.readModel(job.source);
    phase('read');
    const written = whittle.onnx.writeModel(model, job.destination, { externalData: 'auto' });
    phase('write');
    extra = { diagnostics: diagnostics.length, written };
    break;
  }
  case 'verify':
    extra = verify(job.files, job.source, job.destination);
    break;
  default:
    throw new Error(`unknown mode ${job.mode}`);
}

const seconds = (performance.now() - start) / 1000;
const maxRss = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ seconds, phases, baselineRss, maxRss, ...extra })}\n`);

/** Same model: every file pair byte-equal, or else the same graph with byte-equal initializers. */
function verify(files, source, destination) {
  if (files.every(([a, b]) => readFileSync(a).equals(readFileSync(b)))) return { identical: 'bytes' };
  const { readModel } = whittle.onnx;
  const a = readModel(source).model.graph;
  const b = readModel(destination).model.graph;
  const problems = [];
  if (a.nodes.length !== b.nodes.length) problems.push(`${a.nodes.length} vs ${b.nodes.length} nodes`);
  if (a.initializers.length !== b.initializers.length) problems.push('initializer count differs');
  a.initializers.forEach((value, index) => {
    const x = value.initializer;
    const y = b.initializers[index]?.initializer;
    if (!y || x.name !== y.name || x.dataType !== y.dataType || x.dims.join() !== y.dims.join()) {
      problems.push(`initializer ${x.name} differs in name, type or dims`);
    } else if (!Buffer.from(x.bytes()).equals(Buffer.from(y.bytes()))) {
      problems.push(`initializer ${x.name} differs in data`);
    }
  });
  if (problems.length > 0) throw new Error(`written model differs from its source: ${problems.join('; ')}`);
  return { identical: 'tensors' };
}
