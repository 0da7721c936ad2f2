/**
 * mulberry32 with Box-Muller normals: tiny, fast and deterministic, so a fixture generated from
 * the same seed is byte-identical on every run.
 */
export class SeededRandom {
  private state: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A seed derived from `seed` and a label, so each tensor gets its own independent stream. */
  static derivedSeed(seed: number, label: string): number {
    // FNV-1a over the label, mixed with the seed by a golden-ratio multiply.
    let hash = 0x811c9dc5;
    for (let index = 0; index < label.length; index++) {
      hash = Math.imul(hash ^ label.charCodeAt(index), 0x01000193);
    }
    return (hash ^ Math.imul(seed >>> 0, 0x9e3779b9)) >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let mixed = this.state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return (mixed ^ (mixed >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Standard normal. */
  nextNormal(): number {
    if (this.spareNormal !== undefined) {
      const spare = this.spareNormal;
      this.spareNormal = undefined;
      return spare;
    }
    let uniform = this.nextFloat();
    while (uniform === 0) uniform = this.nextFloat();
    const radius = Math.sqrt(-2 * Math.log(uniform));
    const angle = 2 * Math.PI * this.nextFloat();
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Fills `target` with normals of the given mean and standard deviation. */
  fillNormal(target: Float32Array, mean: number, standardDeviation: number): Float32Array {
    for (let index = 0; index < target.length; index++) {
      target[index] = mean + standardDeviation * this.nextNormal();
    }
    return target;
  }
}
