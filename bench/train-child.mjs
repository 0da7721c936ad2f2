// One bench/train configuration in its own process (so that peak RSS and GPU memory are its own): prints JSON,
// { error } where it fails (the parent shows it in the row and goes on).
// argv: JSON { model, adapter?, fullFineTune, contextLength, steps, threads, seed, gpuLayers?, layout? } (layout: trainingMemoryLayout's fields)
import { loadNative } from "../dist/native.js";
import { SeededRandom } from "../dist/seeded-random.js";
import { peakResidentBytes } from "../dist/train/peak-resident-memory.js";

const options = JSON.parse(process.argv[2]);
try {
  const native = await loadNative();
  // whether gpuLayers could offload anything: without a device the same run trains on the CPU
  const { cuda, gpuDevices } = native.buildInfo();
  const trainer = await native.createTrainer({
    modelPath: options.model,
    adapterPath: options.adapter ?? "",
    contextLength: options.contextLength,
    maxSequencesPerWindow: 1,
    threads: options.threads,
    windowsPerOptimizerStep: 1,
    fullFineTune: options.fullFineTune,
    gpuLayers: options.gpuLayers ?? 0,
    ...options.layout,
  });
  const random = new SeededRandom(options.seed);
  const vocabulary = options.vocabularySize;
  const times = [];
  let loss = 0;
  // ops the GPU backend had no kernel for (so far in the session: the last step's list is all of them)
  let cpuFallbacks = [];
  for (let step = 0; step < options.steps; step++) {
    const tokens = new Int32Array(options.contextLength);
    for (let i = 0; i < tokens.length; i++) tokens[i] = 3 + Math.floor(random.nextFloat() * (vocabulary - 3));
    const labels = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) labels[i] = i + 1 < tokens.length ? tokens[i + 1] : -1;
    const started = performance.now();
    const result = await trainer.step({ tokens, labels, train: true, learningRate: 1e-4 });
    times.push(performance.now() - started);
    loss = result.crossEntropySum / result.labelledTokens;
    if (Array.isArray(result.cpuFallbacks)) cpuFallbacks = result.cpuFallbacks;
  }
  await trainer.close();
  // the first step builds and allocates everything; it is left out of the rate
  const steady = times.slice(1);
  const seconds = steady.reduce((a, b) => a + b, 0) / 1000;
  console.log(JSON.stringify({ tokensPerSecond: (steady.length * options.contextLength) / seconds, peakRssBytes: peakResidentBytes(), loss, cudaBuild: cuda, gpuDevices, cpuFallbacks }));
} catch (error) {
  console.log(JSON.stringify({ error: `${error.code ? `${error.code}: ` : ""}${String(error.message ?? error).split("\n")[0]}` }));
  // a trainer left open by a failed step could keep the event loop alive: the error is out, so exit without waiting on it
  process.exit(1);
}
