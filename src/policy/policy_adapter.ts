import type { Env } from '../core/env.ts';
import type { EpisodePolicy } from '../eval/episode_policy.ts';
import { UserError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { ChunkExecutor, type ChunkExecutorConfigInput } from './chunk_executor.ts';
import type { OnnxPolicy } from './onnx_policy.ts';
import type { PolicyManifest } from './manifest.ts';

export interface OnnxEpisodePolicyOptions {
  /** Chunk execution; chunkSize and actionDim come from the bundle. @default receding horizon, n = H/2 */
  executor?: Omit<ChunkExecutorConfigInput, 'chunkSize' | 'actionDim'>;
  /**
   * Seed the executor's velocity limit with the first observation's state (a_{-1} = state), for
   * joint-position action spaces whose state lists the same joints in the same order.
   * @default false
   */
  previousActionFromState?: boolean;
}

/**
 * The noise seed of an episode, derived from its reset seed. Hashed so the policy's noise stream
 * is not the same sfc32 stream the environment draws its randomisation from.
 */
export function episodeNoiseSeed(seed: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x6a09e667, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * An ONNX policy bundle as an `EpisodePolicy` (what `evaluate`/`rollout` drive): a chunk executor
 * in front of `policy.sample`, with the initial noise drawn from a stream seeded per episode
 * (`episodeNoiseSeed(seed)`), so an evaluation is reproducible episode by episode.
 */
export function onnxEpisodePolicy(policy: OnnxPolicy, options: OnnxEpisodePolicyOptions = {}): EpisodePolicy {
  const executor = new ChunkExecutor({ ...options.executor, ...executionMode(policy.manifest, options.executor), chunkSize: policy.chunkSize, actionDim: policy.actionDim });
  const c = executor.config;
  const mode = c.temporalEnsembleCoeff !== null ? `temporal-ensemble m=${c.temporalEnsembleCoeff}` : `n=${c.nActionSteps}/${c.chunkSize}`;
  let rng: Rng | undefined;
  let first = true;
  return {
    name: `onnx(${policy.manifest.name}, ${mode})`,
    reset(seed) {
      rng = new Rng(episodeNoiseSeed(seed));
      executor.reset();
      first = true;
    },
    act(observation) {
      if (!rng) throw new Error('onnxEpisodePolicy: reset() not called');
      if (first && options.previousActionFromState) executor.reset(observation.state);
      first = false;
      const noiseRng = rng;
      return executor.act(() => policy.sample([observation], policy.drawNoise(1, noiseRng)));
    },
  };
}

/**
 * How chunks are executed: the caller's choice if it made one (either field set), else the
 * bundle's recommendation (`execution` in policy.json), else the executor's default.
 */
export function executionMode(
  manifest: Pick<PolicyManifest, 'execution'>,
  chosen: Pick<ChunkExecutorConfigInput, 'nActionSteps' | 'temporalEnsembleCoeff'> = {},
): Pick<ChunkExecutorConfigInput, 'nActionSteps' | 'temporalEnsembleCoeff'> {
  const callerChose = chosen.nActionSteps !== undefined || (chosen.temporalEnsembleCoeff ?? null) !== null;
  if (callerChose || !manifest.execution) return { nActionSteps: chosen.nActionSteps, temporalEnsembleCoeff: chosen.temporalEnsembleCoeff ?? null };
  const { n_action_steps, temporal_ensemble_coeff } = manifest.execution;
  return { nActionSteps: n_action_steps, temporalEnsembleCoeff: temporal_ensemble_coeff ?? null };
}

/**
 * Checks that a bundle can drive an environment: state and action dimensions, and every camera
 * the policy needs among the environment's. Differently named (but same-sized) state or action
 * vectors are reported through `warn`, since producers name joints differently.
 */
export function assertPolicyFitsEnv(manifest: PolicyManifest, env: Pick<Env, 'taskName' | 'stateNames' | 'actionNames' | 'cameras'>, warn: (message: string) => void = console.warn): void {
  const where = `policy '${manifest.name}' on task '${env.taskName}'`;
  if (manifest.state_dim !== env.stateNames.length)
    throw new UserError(`${where}: the policy's state has ${manifest.state_dim} values (${manifest.state_names.join(', ')}); the task's has ${env.stateNames.length} (${env.stateNames.join(', ')})`);
  if (manifest.action_dim !== env.actionNames.length)
    throw new UserError(`${where}: the policy's action has ${manifest.action_dim} values (${manifest.action_names.join(', ')}); the task's has ${env.actionNames.length} (${env.actionNames.join(', ')})`);
  const missing = manifest.cameras.filter((c) => !env.cameras.includes(c.name)).map((c) => c.name);
  if (missing.length) throw new UserError(`${where}: the policy needs camera(s) ${missing.join(', ')}; the task renders ${env.cameras.join(', ') || 'none'}`);
  const differ = (a: readonly string[], b: readonly string[]) => a.some((n, i) => n !== b[i]);
  if (differ(manifest.state_names, env.stateNames)) warn(`warning: ${where}: state names differ (policy: ${manifest.state_names.join(', ')}; task: ${env.stateNames.join(', ')})`);
  if (differ(manifest.action_names, env.actionNames)) warn(`warning: ${where}: action names differ (policy: ${manifest.action_names.join(', ')}; task: ${env.actionNames.join(', ')})`);
  if (manifest.task !== undefined && manifest.task !== env.taskName) warn(`warning: ${where}: the policy was trained on task '${manifest.task}'`);
}
