import type { Observation } from '../core/observation.ts';
import type { FlawLabel } from '../core/episode.ts';
import type { SimEnv } from '../../sim/env.ts';
import { ScriptedExpert } from '../../sim/experts/scripted_expert.ts';
import { getExpertScript } from '../../sim/experts/index.ts';

/**
 * What evaluation and recording drive: one action per observation, reset per episode.
 * Learned policies (ONNX bundles with a chunk executor) and scripted experts both fit.
 */
export interface EpisodePolicy {
  readonly name: string;
  /** Called after `env.reset(seed)` with that seed. */
  reset(seed: number): void;
  act(observation: Observation): Float32Array;
  /** Flaw labels of the episode so far (scripted experts only). */
  readonly flaws?: FlawLabel[];
}

export interface ExpertPolicyOptions {
  /** 1 = clean demonstrations. @default 1 */
  quality?: number;
}

/** The task's scripted expert as an EpisodePolicy. It reads the simulator (privileged), so sim only. */
export function expertPolicy(env: SimEnv, options: ExpertPolicyOptions = {}): EpisodePolicy {
  const script = getExpertScript(env.taskName);
  let expert: ScriptedExpert | undefined;
  return {
    name: `expert(${env.taskName}, quality=${options.quality ?? 1})`,
    reset(seed) {
      // The flaw stream gets its own seed derived from the episode's, so flaws vary per episode.
      expert = new ScriptedExpert(env, script, { quality: options.quality ?? 1, seed: seed * 7919 + 17 });
      expert.reset();
    },
    act() {
      if (!expert) throw new Error('expertPolicy: reset() not called');
      return expert.act();
    },
    get flaws() {
      return expert?.flaws ?? [];
    },
  };
}
