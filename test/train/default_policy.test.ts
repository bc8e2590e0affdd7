import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimEnv } from '../../sim/env.ts';
import { rollout } from '../../src/eval/rollout.ts';
import { OnnxPolicy } from '../../src/policy/onnx_policy.ts';
import { assertPolicyFitsEnv, onnxEpisodePolicy } from '../../src/policy/policy_adapter.ts';

/**
 * The shipped default policy (policies/default, trained by `flowsteer train`, see RESULTS.md
 * "Default policy") on a small seeded sample of the evaluation seeds. The full figure is 50
 * episodes from seed 100000; this checks the first EPISODES of them against a bound well
 * below it, so a broken bundle, runtime or simulator change fails here.
 */
const EPISODES = 6;
const MIN_SUCCESSES = 3;
const FIRST_SEED = 100_000;

let env: SimEnv;
let policy: OnnxPolicy;
beforeAll(async () => {
  policy = await OnnxPolicy.load('policies/default');
  const side = policy.manifest.cameras[0]!.height;
  env = await SimEnv.create({ task: 'pick-place', render: true, config: { cameras: policy.manifest.cameras.map((c) => c.name), imageSize: side } });
});
afterAll(() => {
  env?.dispose();
  policy?.dispose();
});

describe('policies/default', () => {
  it('is a pick-place bundle the runtime accepts', () => {
    expect(policy.manifest.task).toBe('pick-place');
    assertPolicyFitsEnv(policy.manifest, env);
  });

  it(`succeeds in at least ${MIN_SUCCESSES} of the first ${EPISODES} evaluation episodes`, () => {
    // The executor RESULTS.md reports the policy with, which the bundle recommends: whole chunks (n = H = 16).
    expect(policy.manifest.execution?.n_action_steps).toBe(policy.chunkSize);
    const episodePolicy = onnxEpisodePolicy(policy);
    const results = Array.from({ length: EPISODES }, (_, i) => rollout(env, episodePolicy, FIRST_SEED + i));
    const successes = results.filter((r) => r.success).length;
    console.log(`policies/default: ${successes}/${EPISODES} successes (seeds ${FIRST_SEED}..${FIRST_SEED + EPISODES - 1}), steps ${results.map((r) => r.steps).join(' ')}`);
    expect(successes).toBeGreaterThanOrEqual(MIN_SUCCESSES);
  }, 60_000);
});
