/**
 * mulberry32 with Box-Muller normals: tiny, fast and deterministic, so a fixture generated from
 * the same seed is byte-identical on every run.
 */
export declare class SeededRandom {
    private state;
    private spareNormal;
    constructor(seed: number);
    /** A seed derived from `seed` and a label, so each tensor gets its own independent stream. */
    static derivedSeed(seed: number, label: string): number;
    nextUint32(): number;
    /** Uniform in [0, 1). */
    nextFloat(): number;
    /** Standard normal. */
    nextNormal(): number;
    /** Fills `target` with normals of the given mean and standard deviation. */
    fillNormal(target: Float32Array, mean: number, standardDeviation: number): Float32Array;
}
