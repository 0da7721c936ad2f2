import { SeededRandom } from "../../src/seeded-random.js";

/** Two packed samples of random tokens filling a window, 30% of positions (and each sample's last) left out of the loss. */
export function packedRandomWindow(contextLength: number, vocabSize: number, seed = 99) {
  const random = new SeededRandom(seed);
  const tokens = new Int32Array(contextLength);
  const labels = new Int32Array(contextLength);
  const positions = new Int32Array(contextLength);
  const seqIds = new Int32Array(contextLength);
  for (let i = 0; i < contextLength; i++) tokens[i] = 3 + Math.floor(random.nextFloat() * (vocabSize - 3));
  const half = contextLength / 2;
  for (let i = 0; i < contextLength; i++) {
    const sample = i < half ? 0 : 1;
    seqIds[i] = sample;
    positions[i] = i - sample * half;
    const last = i === half - 1 || i === contextLength - 1;
    labels[i] = last || random.nextFloat() < 0.3 ? -1 : tokens[i + 1];
  }
  return { tokens, labels, positions, seqIds };
}
