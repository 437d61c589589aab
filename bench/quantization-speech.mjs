// Quantization results on the real speech models and held-out real speech: for every mode, the size ratio, output
// SQNR and cosine against the float model, the latency ratio measured in the same run, and a task-level agreement
// (speech decisions of the voice detector, wake-word decisions of the openWakeWord heads, directly or downstream of
// the feature models). pnpm bench runs it; it prints a Markdown table. Calibration (percentile, with channel means,
// as `whittle quantize --data` does) uses the 'calibration' split of espeak-ng speech and noise clips, evaluation the
// 'evaluation' split. The static modes are followed by measured bias correction on the calibration samples, as
// `whittle quantize --data` does, except in the row that shows the weights' bias correction alone.
// `--samples N`: clips per split (default 22, all of them; speech and noise in proportion).
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = (path) => import(pathToFileURL(join(root, path)).href);
const { failedRow, measuredCells } = await import('./lib/quantization-cells.mjs');
const { correctionNote, quantizeCopy, staticModes } = await import('./lib/static-quantization.mjs');
const fixtures = await load('packages/test-fixtures/dist/index.js');
const { realModel, speechClips, vadWindows, wakeWordAudio, melFeatures, embeddingWindows, classifierWindows } =
  fixtures;
const { decisionAgreement, VAD_STATE_SHAPE } = fixtures;
const { readModel } = await load('packages/onnx/dist/node.js');
const { encodeModel } = await load('packages/onnx/dist/index.js');
const { ortExecutorFactory } = await load('packages/runtime-ort/dist/index.js');
const { calibrate, datasetFromSamples } = await load('packages/calibrate/dist/index.js');
const { compareModels } = await load('packages/evaluate/dist/index.js');
const { PassRegistry } = await load('packages/core/dist/index.js');
const { quantizePlugin } = await load('packages/quantize/dist/index.js');
const { transformsPlugin } = await load('packages/transforms/dist/index.js');

const started = performance.now();
const argument = (name) => {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
};
const samples = Number(argument('--samples')) || 22;

const float32 = (data, dims) => ({ type: 'float32', dims, data });
const first = (outputs) => Object.values(outputs)[0];
const percent = (share) => `${(100 * share).toFixed(share === 1 ? 0 : 1)}%`;

/** `count` clips of a split, speech and non-speech in the proportions of the split, interleaved. */
function clipsOf(split) {
  const all = speechClips(split);
  const count = Math.min(samples, all.length);
  const noise = all.filter((clip) => !clip.speech);
  const speech = all.filter((clip) => clip.speech);
  const noiseCount = Math.min(
    noise.length,
    Math.max(count > 1 ? 1 : 0, Math.round((count * noise.length) / all.length)),
  );
  // Spread the noise clips among the sentences, so that any prefix mixes both kinds (a sentence first: the sample
  // compareModels times for latency).
  const position = (index, total) => (index + 0.5) / total;
  return [
    ...speech.slice(0, count - noiseCount).map((clip, index) => ({ clip, key: position(index, count - noiseCount) })),
    ...noise.slice(0, noiseCount).map((clip, index) => ({ clip, key: position(index, noiseCount) })),
  ]
    .sort((a, b) => a.key - b.key)
    .map((entry) => entry.clip);
}

async function withExecutor(model, use) {
  const executor = await ortExecutorFactory.create(model, {});
  try {
    return await use(executor);
  } finally {
    await executor.dispose();
  }
}

// ---- the float models and what they compute on both splits ---------------------------------------------------

const ids = ['silero-vad-v5', 'oww-melspectrogram', 'oww-embedding', 'oww-hey-jarvis', 'oww-alexa'];
const floats = Object.fromEntries(ids.map((id) => [id, readModel(realModel(id).path).model]));
const HEADS = { 'oww-hey-jarvis': 'x.1', 'oww-alexa': 'onnx::Flatten_0' };
const SR = { type: 'int64', dims: [], data: BigInt64Array.from([16000n]) };

/**
 * Stream a clip through Silero VAD v5, the state carried from window to window (as a streaming detector does):
 * the probability of every window and the inputs it was given (state included).
 */
async function streamVad(executor, clip) {
  let state = float32(new Float32Array(256), VAD_STATE_SHAPE);
  const probabilities = [];
  const feeds = [];
  for (const window of vadWindows(clip.samples)) {
    const sample = { input: float32(window, [1, window.length]), state, sr: SR };
    const outputs = await executor.run(sample);
    feeds.push(sample);
    probabilities.push(outputs.output.data[0]);
    state = outputs.stateN;
  }
  return { probabilities, feeds };
}

/** The float openWakeWord chain on a clip: mel input, mel frames, embedding windows and embeddings, head windows. */
async function wakeWordChain(executors, clip) {
  const audio = wakeWordAudio(clip.samples);
  const melSample = { input: float32(audio, [1, audio.length]) };
  const mel = melFeatures(first(await executors.mel.run(melSample)));
  return { melSample, ...(await fromMel(executors, mel)) };
}

/** The rest of the chain from mel frames: embedding inputs, embeddings, head inputs and each head's scores. */
async function fromMel(executors, mel) {
  const embeddingSamples = embeddingWindows(mel).map((window) => ({ input_1: float32(window, [1, 76, 32, 1]) }));
  const embeddings = [];
  for (const sample of embeddingSamples) embeddings.push(first(await executors.embedding.run(sample)).data);
  return { embeddingSamples, ...(await fromEmbeddings(executors, embeddings)) };
}

/** Head inputs (16 embeddings each) and each head's score per window. */
async function fromEmbeddings(executors, embeddings) {
  const windows = classifierWindows(embeddings);
  const scores = {};
  for (const [id, input] of Object.entries(HEADS)) {
    scores[id] = [];
    for (const window of windows) {
      scores[id].push(first(await executors[id].run({ [input]: float32(window, [1, 16, 96]) })).data[0]);
    }
  }
  return { windows, scores };
}

const maximum = (values) => values.reduce((best, value) => Math.max(best, value), 0);

async function floatRuns(split) {
  const clips = clipsOf(split);
  const vad = await withExecutor(floats['silero-vad-v5'], async (executor) => {
    const runs = [];
    for (const clip of clips) runs.push(await streamVad(executor, clip));
    return runs;
  });
  const executors = {
    mel: await ortExecutorFactory.create(floats['oww-melspectrogram'], {}),
    embedding: await ortExecutorFactory.create(floats['oww-embedding'], {}),
    'oww-hey-jarvis': await ortExecutorFactory.create(floats['oww-hey-jarvis'], {}),
    'oww-alexa': await ortExecutorFactory.create(floats['oww-alexa'], {}),
  };
  const chains = [];
  for (const clip of clips) chains.push(await wakeWordChain(executors, clip));
  return { clips, vad, chains, executors };
}

const calibration = await floatRuns('calibration');
const evaluation = await floatRuns('evaluation');
const floatExecutors = evaluation.executors;
await Promise.all(Object.values(calibration.executors).map((executor) => executor.dispose()));

// ---- the models, their datasets and task checks ---------------------------------------------------------------

/** Per-clip max head scores of the float chain on the evaluation split. */
const referenceClipScores = Object.fromEntries(
  Object.keys(HEADS).map((id) => [id, evaluation.chains.map((chain) => maximum(chain.scores[id]))]),
);

/** Agreement of per-clip wake-word decisions (max score over the clip's windows > 0.5) with the float chain's. */
function clipDecisions(candidateScores) {
  return Object.keys(HEADS)
    .map((id) => {
      const result = decisionAgreement(referenceClipScores[id], candidateScores[id]);
      return `${id.replace('oww-', '')} ${percent(result.agreement)} (float fires on ${result.referencePositives}, candidate ${result.candidatePositives}; mean abs Δ(max score) ${result.meanAbsoluteDifference.toExponential(1)})`;
    })
    .join('; ');
}

/** Split a flat list into the clips' runs, by each clip's count. */
function perClip(values, counts) {
  const out = [];
  let at = 0;
  for (const count of counts) {
    out.push(values.slice(at, at + count));
    at += count;
  }
  return out;
}

const flat = (lists) => lists.flat();
const vadSamples = (runs) => flat(runs.map((run) => run.feeds));
const vadReference = flat(evaluation.vad.map((run) => run.probabilities));

const models = [
  {
    id: 'silero-vad-v5',
    data: 'windows of 512 samples (+64 of context), float state',
    calibration: vadSamples(calibration.vad),
    evaluation: vadSamples(evaluation.vad),
    collect: (expected, actual) => [expected.output.data[0], actual.output.data[0]],
    async task(candidate, collected) {
      // Same state: both models fed the float model's state (what compareModels saw).
      const same = decisionAgreement(
        collected.map((pair) => pair[0]),
        collected.map((pair) => pair[1]),
      );
      // Streaming: the candidate carries its own state from window to window, as a deployed detector would.
      const streamed = await withExecutor(candidate, async (executor) => {
        const probabilities = [];
        for (const clip of evaluation.clips) probabilities.push(...(await streamVad(executor, clip)).probabilities);
        return probabilities;
      });
      const own = decisionAgreement(vadReference, streamed);
      return (
        `${percent(own.agreement)} of ${own.compared} windows streaming with its own state ` +
        `(float: speech in ${own.referencePositives}, candidate ${own.candidatePositives}; mean abs Δp ${own.meanAbsoluteDifference.toExponential(1)}); ` +
        `${percent(same.agreement)} fed the float state`
      );
    },
  },
  {
    id: 'oww-melspectrogram',
    data: 'whole clips (+1 s of silence each side), 16-bit scale',
    calibration: calibration.chains.map((chain) => chain.melSample),
    evaluation: evaluation.chains.map((chain) => chain.melSample),
    collect: (_, actual) => first(actual),
    // Static mode keeps this front-end in float (QUANTIZE_KEPT_FOR_RELATIVE_PRECISION): the STFT output is squared,
    // summed by the filterbank and logged, so uint8 rounding would turn quiet bins into log(0).
    async task(_, collected) {
      const scores = { 'oww-hey-jarvis': [], 'oww-alexa': [] };
      for (const output of collected) {
        const chain = await fromMel(floatExecutors, melFeatures(output));
        for (const id of Object.keys(HEADS)) scores[id].push(maximum(chain.scores[id]));
      }
      return `downstream (float embedding + heads), clips: ${clipDecisions(scores)}`;
    },
  },
  {
    id: 'oww-embedding',
    data: 'windows of 76 float mel frames every 8',
    calibration: flat(calibration.chains.map((chain) => chain.embeddingSamples)),
    evaluation: flat(evaluation.chains.map((chain) => chain.embeddingSamples)),
    collect: (_, actual) => first(actual).data,
    async task(_, collected) {
      const scores = { 'oww-hey-jarvis': [], 'oww-alexa': [] };
      const counts = evaluation.chains.map((chain) => chain.embeddingSamples.length);
      for (const embeddings of perClip(collected, counts)) {
        const chain = await fromEmbeddings(floatExecutors, embeddings);
        for (const id of Object.keys(HEADS)) scores[id].push(maximum(chain.scores[id]));
      }
      return `downstream (float heads), clips: ${clipDecisions(scores)}`;
    },
  },
  ...Object.entries(HEADS).map(([id, input]) => ({
    id,
    data: 'windows of 16 float embeddings',
    calibration: flat(
      calibration.chains.map((chain) => chain.windows.map((w) => ({ [input]: float32(w, [1, 16, 96]) }))),
    ),
    evaluation: flat(
      evaluation.chains.map((chain) => chain.windows.map((w) => ({ [input]: float32(w, [1, 16, 96]) }))),
    ),
    collect: (expected, actual) => [first(expected).data[0], first(actual).data[0]],
    async task(_, collected) {
      const counts = evaluation.chains.map((chain) => chain.windows.length);
      const windows = decisionAgreement(
        collected.map((pair) => pair[0]),
        collected.map((pair) => pair[1]),
      );
      const clips = decisionAgreement(
        perClip(collected, counts).map((pairs) => maximum(pairs.map((pair) => pair[0]))),
        perClip(collected, counts).map((pairs) => maximum(pairs.map((pair) => pair[1]))),
      );
      return (
        `${percent(clips.agreement)} of ${clips.compared} clips (float fires on ${clips.referencePositives}, candidate ${clips.candidatePositives}); ` +
        `${percent(windows.agreement)} of ${windows.compared} windows; mean abs Δscore ${windows.meanAbsoluteDifference.toExponential(1)}, ` +
        `max ${windows.maxAbsoluteDifference.toExponential(1)}`
      );
    },
  })),
];

// ---- quantize, compare, check the task ------------------------------------------------------------------------

const registry = new PassRegistry().register(transformsPlugin).register(quantizePlugin);
/** Every op type each pass can quantize: the defaults leave Conv-only (Silero, embedding) and Gemm-only models as they are. */
const DYNAMIC = { opTypes: ['MatMul', 'Gemm', 'Conv'] };
const WEIGHTS = { opTypes: ['MatMul', 'Gemm', 'Gather'] };

/** Nodes a pass quantized or converted, from its statistics. */
function convertedNodes(statistics) {
  if (statistics.nodesQuantized !== undefined) return statistics.nodesQuantized;
  if (statistics.nodesInHalf !== undefined) return statistics.nodesInHalf;
  const weights = ['matMulsQuantized', 'gemmsQuantized', 'gathersQuantized'].map((key) => statistics[key] ?? 0);
  return statistics.matMulsQuantized === undefined ? undefined : weights.reduce((sum, count) => sum + count, 0);
}

/** `CODE×n` for each warning or error code a pipeline reported. */
function diagnosticCounts(diagnostics) {
  const counts = new Map();
  for (const diagnostic of diagnostics) {
    if (diagnostic.severity === 'info') continue;
    counts.set(diagnostic.code, (counts.get(diagnostic.code) ?? 0) + 1);
  }
  return [...counts].map(([code, count]) => `${code}×${count}`).join(', ');
}

const rows = [];
const notes = [];
{
  // Sanity of the float models on the evaluation clips: the voice detector against the labels, the wake-word heads'
  // highest scores (on the sentences that say the wake word, and on all clips).
  const said = (words) => evaluation.clips.findIndex((clip) => clip.text.toLowerCase().startsWith(words));
  const detected = evaluation.vad.map((run) => maximum(run.probabilities) > 0.5);
  const right = evaluation.clips.filter((clip, index) => detected[index] === clip.speech).length;
  notes.push(
    `float silero-vad-v5 against the labels: ${right} of ${evaluation.clips.length} clips right (speech: a window > 0.5)`,
  );
  for (const [id, words] of [
    ['oww-hey-jarvis', 'hey jarvis'],
    ['oww-alexa', 'alexa'],
  ]) {
    const index = said(words);
    notes.push(
      `float ${id}: highest score ${maximum(referenceClipScores[id]).toExponential(2)} over all clips` +
        (index < 0 ? '' : `, ${referenceClipScores[id][index].toExponential(2)} on "${evaluation.clips[index].text}"`),
    );
  }
}
for (const entry of models) {
  const reference = floats[entry.id];
  const calibrationSet = datasetFromSamples(entry.calibration, `${entry.calibration.length} ${entry.data}`);
  const evaluationSet = datasetFromSamples(entry.evaluation, `${entry.evaluation.length} ${entry.data}`);
  notes.push(
    `${entry.id}: ${entry.data}; calibration ${entry.calibration.length} samples, evaluation ${entry.evaluation.length}`,
  );
  let table;
  let tableError;
  try {
    const calibrationStarted = performance.now();
    table = await calibrate(reference, calibrationSet, {
      executors: ortExecutorFactory,
      // The same defaults as `whittle quantize --data`: the 99.999th percentile, and the channel means bias
      // correction reads, recorded in the same session.
      method: { method: 'percentile', symmetric: false, bits: 8 },
      channelMeans: true,
    });
    notes.push(
      `${entry.id}: calibrated ${Object.keys(table.tensors).length} tensors in ${((performance.now() - calibrationStarted) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    tableError = error;
  }
  const modes = {
    ...staticModes(table, 'static int8 (QDQ, per-channel)'),
    'dynamic (MatMul, Gemm, Conv)': { steps: [['quantize-dynamic', DYNAMIC]] },
    fp16: { steps: [['convert-float16', { type: 'float16' }]] },
    'weight-only int4 (MatMul, Gemm, Gather)': { steps: [['quantize-weights', WEIGHTS]] },
  };
  const referenceBytes = encodeModel(reference).byteLength;
  for (const [mode, { steps, measured }] of Object.entries(modes)) {
    const failed = (stage, error) => rows.push(failedRow(entry.id, mode, stage, error));
    // The static modes (the only ones with `measured` set) need the table.
    if (measured !== undefined && !table) {
      failed('calibration', tableError);
      continue;
    }
    let result;
    try {
      const quantized = await quantizeCopy(registry, reference, steps, measured && calibrationSet);
      result = quantized.result;
      if (quantized.correction) notes.push(`${entry.id} / ${mode}: ${correctionNote(quantized.correction)}`);
    } catch (error) {
      failed(error.stage ?? 'quantization', error);
      continue;
    }
    const candidate = result.model;
    const statistics = result.passes.at(-1)?.statistics ?? {};
    const converted = convertedNodes(statistics);
    const { weightBytesBefore: before, weightBytesAfter: after } = statistics;
    // fp16 on ONNX Runtime's CPU plan keeps compute in float32 (nodesInHalf 0) but halves the weights.
    const nothing = !converted && !(after < before);
    const warnings = diagnosticCounts(result.diagnostics);
    try {
      const collected = [];
      let outputs = 0;
      let nonFinite = 0;
      const report = await compareModels(reference, candidate, evaluationSet, {
        executors: ortExecutorFactory,
        latencyRuns: 20,
        onOutputs: (expected, actual) => {
          outputs++;
          if (!first(actual).data.every(Number.isFinite)) nonFinite++;
          collected.push(entry.collect(expected, actual));
        },
      });
      const flags = [];
      if (nothing) flags.push(`**nothing quantized**${warnings ? ` (${warnings})` : ''}`);
      if (nonFinite > 0) flags.push(`**NaN/Inf in ${nonFinite} of ${outputs} outputs**`);
      rows.push([
        entry.id,
        mode,
        ...measuredCells(encodeModel(candidate).byteLength, referenceBytes, report),
        [...flags, nothing ? '' : await entry.task(candidate, collected)].filter(Boolean).join('; '),
      ]);
      notes.push(
        `${entry.id} / ${mode}: ${converted ?? '?'} nodes quantized or in half, weights ${before} -> ${after} bytes` +
          `${warnings ? `; diagnostics ${warnings}` : ''}`,
      );
    } catch (error) {
      failed('run', error);
    }
  }
}
for (const executor of Object.values(floatExecutors)) await executor.dispose();

const counts = { speech: evaluation.clips.filter((clip) => clip.speech).length };
console.log(
  `\nQuantization of the speech models on held-out real data (${evaluation.clips.length} evaluation clips: ${counts.speech} espeak-ng sentences, ${evaluation.clips.length - counts.speech} silence/noise; calibration on ${calibration.clips.length} other clips). SQNR and cosine of the first output (VAD: the speech probability); latency = median of 20 alternating runs on the first sample, candidate/float. Decisions: score > 0.5. Static rows: measured bias correction on the calibration samples, except "weight bias correction only".`,
);
console.log('| model | mode | size ratio | SQNR dB | cosine | latency ratio | task agreement with float |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(`\n${notes.map((note) => `- ${note}`).join('\n')}`);
console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s in all`);
