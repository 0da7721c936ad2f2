import { SeededRandom } from "../seeded-random.js";

/** 0..count-1 shuffled by Fisher-Yates with a seeded generator: the same seed gives the same order. */
export function seededPermutation(count: number, seed: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let index = 0; index < count; index++) order[index] = index;
  const random = new SeededRandom(seed);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random.nextFloat() * (i + 1));
    const swapped = order[i];
    order[i] = order[j];
    order[j] = swapped;
  }
  return order;
}
