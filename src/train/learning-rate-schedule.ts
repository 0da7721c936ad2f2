export const LEARNING_RATE_SCHEDULERS = ["linear", "cosine", "constant"] as const;

export type LearningRateScheduler = (typeof LEARNING_RATE_SCHEDULERS)[number];

/**
 * The learning rate for optimizer step `step` (0-based) of `totalSteps`: a linear warmup over
 * `warmupSteps` (starting at lr/warmup rather than 0, so that the first step moves), then linear
 * decay to 0, a cosine to 0, or constant, as Hugging Face's get_*_schedule_with_warmup.
 */
export function learningRateAt(step: number, options: { learningRate: number; warmupSteps: number; totalSteps: number; scheduler: LearningRateScheduler }): number {
  const { learningRate, warmupSteps, totalSteps, scheduler } = options;
  if (step < warmupSteps) return (learningRate * (step + 1)) / warmupSteps;
  if (scheduler === "constant") return learningRate;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  if (scheduler === "cosine") return learningRate * 0.5 * (1 + Math.cos(Math.PI * progress));
  return learningRate * (1 - progress);
}
