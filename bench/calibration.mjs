// Calibration benchmark: calibrate() against plain inference over the same samples in the same run (goal: 1.3x or
// less), and peak memory of calibration over 10 and over 200 samples (goal: flat). Each measurement runs in a fresh
// child process: node bench/calibration.mjs [--rounds N]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const child = join(root, 'bench/lib/calibration-child.mjs');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;

function measure(job) {
  const result = spawnSync(process.execPath, ['--expose-gc', child, JSON.stringify(job)], { encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(result.stderr);
    throw new Error(`calibration bench child failed: ${JSON.stringify(job)}`);
  }
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const models = ['ocr-det', 'ocr-cls'];
const rows = [];
for (const model of models) {
  const inference = [];
  const calibration = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate so both see the same machine load.
    inference.push(measure({ model, mode: 'inference', samples: 50 }).seconds);
    calibration.push(measure({ model, mode: 'calibrate', samples: 50 }).seconds);
  }
  const small = measure({ model, mode: 'calibrate', samples: 10, collect: true });
  const large = measure({ model, mode: 'calibrate', samples: 200, collect: true });
  rows.push({
    model,
    inferenceSeconds: median(inference),
    calibrationSeconds: median(calibration),
    timeRatio: median(calibration) / median(inference),
    peakMemory10: small.peakBytes,
    peakMemory200: large.peakBytes,
    memoryRatio: large.peakBytes / small.peakBytes,
    tensors: large.tensors,
  });
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
console.log(
  '\nCalibration benchmark (median of %d rounds; 50 samples for time, peak = maxRSS - RSS before the work, garbage collected before each sample)',
  rounds,
);
console.log('model     tensors  inference  calibrate  ratio  goal<=1.3x  peak@10  peak@200  200/10  goal flat(<=1.2x)');
for (const row of rows) {
  console.log(
    [
      row.model.padEnd(8),
      String(row.tensors).padStart(7),
      `${row.inferenceSeconds.toFixed(2)} s`.padStart(9),
      `${row.calibrationSeconds.toFixed(2)} s`.padStart(9),
      `${row.timeRatio.toFixed(2)}x`.padStart(6),
      (row.timeRatio <= 1.3 ? 'met' : 'NOT MET').padStart(10),
      mb(row.peakMemory10).padStart(8),
      mb(row.peakMemory200).padStart(9),
      `${row.memoryRatio.toFixed(2)}x`.padStart(7),
      (row.memoryRatio <= 1.2 ? 'met' : 'NOT MET').padStart(17),
    ].join('  '),
  );
}
