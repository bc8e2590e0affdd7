import { add, f32, msePerSample, scale, weightedMean, type InputSpec, type TrainStepOptions } from '../nn/index.ts';
import type { TrainConfig } from './config.ts';
import { SUBGOAL_TARGET } from './dataset.ts';

/**
 * The training step `flowsteer train` runs, in one place so the benchmarks and profilers measure
 * exactly it: pi0's flow-matching loss (per-sample MSE between v_theta and noise - action,
 * weighted mean), plus subgoal.weight x the subgoal head's MSE, AdamW with the config's betas and
 * decoupled weight decay, and a global-norm gradient clip.
 */
export function policyTrainStep(config: TrainConfig, actionDim: number) {
  const H = config.policy.chunkSize;
  const targets = { target: f32(H, actionDim) /* (B, H, A) noise - action */, weight: f32(), [SUBGOAL_TARGET]: f32(actionDim) };
  const options: TrainStepOptions<Record<string, InputSpec>, 'v' | 'subgoal', typeof targets> = {
    batchSize: config.batchSize,
    targets,
    loss: (t, o, b) => {
      const flow = weightedMean(t, msePerSample(t, o.v, b.target), b.weight);
      const w = config.policy.subgoal.weight;
      return w > 0 ? add(t, flow, scale(t, weightedMean(t, msePerSample(t, o.subgoal, b[SUBGOAL_TARGET]!), b.weight), w)) : flow;
    },
    optimizer: { lr: config.lr, betas: config.betas, eps: 1e-8, weightDecay: config.weightDecay },
    gradClip: { maxNorm: config.gradClip },
  };
  return options;
}
