import { describe, it, expect, beforeAll } from 'vitest';
import { VecEnv, type VecStepResult } from '../../sim/vec_env.ts';
import { SimEnv } from '../../sim/env.ts';
import { getTask } from '../../sim/tasks/index.ts';
import { Rng } from '../../src/core/rng.ts';
import type { Observation } from '../../src/core/observation.ts';

// reach with a short time limit, so that every env auto-resets a few times within STEPS.
const TASK = 'reach';
const CONFIG = { maxSteps: 12 };
const NUM_ENVS = 4;
const SEED = 100;
const STEPS = 30;

/** Joint targets near the home pose with a slowly varying random offset (never succeeds at reach). */
function randomActions(rng: Rng, numEnvs: number): Float32Array {
  const home = getTask(TASK).home[0]!;
  const a = new Float32Array(numEnvs * 7);
  for (let i = 0; i < numEnvs; i++) {
    for (let j = 0; j < 6; j++) a[i * 7 + j] = home[j]! + 0.3 * rng.normal();
    a[i * 7 + 6] = rng.uniform();
  }
  return a;
}

/** What one VecEnv run produced, per step, in a form that compares bit for bit. */
interface Trace {
  resets: Observation[];
  steps: VecStepResult[];
}

/** The reference: NUM_ENVS plain SimEnvs in this thread, seeded SEED + i, then + NUM_ENVS per episode. */
async function referenceTrace(actions: Float32Array[], render: boolean): Promise<Trace> {
  const envs = await Promise.all(Array.from({ length: NUM_ENVS }, () => SimEnv.create({ task: TASK, config: CONFIG, render })));
  const seeds = envs.map((_, i) => SEED + i);
  const resets = envs.map((env, i) => env.reset(seeds[i]!));
  const steps: VecStepResult[] = actions.map((a) => {
    const out: VecStepResult = { observations: [], rewards: new Float64Array(NUM_ENVS), dones: new Uint8Array(NUM_ENVS), successes: new Uint8Array(NUM_ENVS), truncateds: new Uint8Array(NUM_ENVS), infos: [] };
    envs.forEach((env, i) => {
      const r = env.step(a.subarray(i * 7, (i + 1) * 7));
      out.rewards[i] = r.reward;
      out.dones[i] = r.done ? 1 : 0;
      out.successes[i] = r.success ? 1 : 0;
      out.truncateds[i] = r.truncated ? 1 : 0;
      if (r.done) {
        const final = { observation: r.observation, reward: r.reward, rewardTerms: r.rewardTerms, success: r.success, truncated: r.truncated, progress: r.info.progress, unstable: r.info.unstable, step: r.info.step, seed: seeds[i]! };
        seeds[i]! += NUM_ENVS;
        out.observations.push(env.reset(seeds[i]!));
        out.infos.push({ rewardTerms: r.rewardTerms, truncated: r.truncated, progress: r.info.progress, unstable: r.info.unstable, step: 0, seed: seeds[i]!, final });
      } else {
        out.observations.push(r.observation);
        out.infos.push({ rewardTerms: r.rewardTerms, truncated: r.truncated, progress: r.info.progress, unstable: r.info.unstable, step: r.info.step, seed: seeds[i]! });
      }
    });
    return out;
  });
  envs.forEach((e) => e.dispose());
  return { resets, steps };
}

async function vecTrace(numWorkers: number, actions: Float32Array[], render: boolean): Promise<Trace> {
  const vec = await VecEnv.create({ task: TASK, config: CONFIG, numEnvs: NUM_ENVS, numWorkers, seed: SEED, render });
  try {
    expect(vec.numWorkers).toBe(numWorkers);
    const resets = await vec.reset();
    const steps: VecStepResult[] = [];
    for (const a of actions) steps.push(await vec.step(a));
    return { resets, steps };
  } finally {
    await vec.close();
  }
}

describe('VecEnv', () => {
  const rng = new Rng(7);
  const actions = Array.from({ length: STEPS }, () => randomActions(rng, NUM_ENVS));
  let reference: Trace;

  beforeAll(async () => {
    reference = await referenceTrace(actions, true);
  });

  // toEqual compares typed arrays element by element with Object.is: bit-identical floats (and
  // identical images, rewards, flags, infos) or a failure.
  it('2 workers x 2 envs give exactly the trajectories of 4 in-process SimEnvs (same seeds and actions)', async () => {
    const trace = await vecTrace(2, actions, true);
    expect(trace.resets).toEqual(reference.resets);
    expect(trace.steps).toEqual(reference.steps);
    expect(trace.resets[0]!.images.front!.rgb.length).toBe(64 * 64 * 3);
  });

  it('numWorkers 0 (in-process) and 3 uneven workers agree with the reference too', async () => {
    expect((await vecTrace(0, actions.slice(0, 14), true)).steps).toEqual(reference.steps.slice(0, 14));
    expect((await vecTrace(3, actions.slice(0, 14), true)).steps).toEqual(reference.steps.slice(0, 14));
  });

  it('auto-resets finished envs: final observation in infos[i].final, next seed = seed + numEnvs', () => {
    let finished = 0;
    reference.steps.forEach((s, t) => {
      for (let i = 0; i < NUM_ENVS; i++) {
        const info = s.infos[i]!;
        expect(Boolean(s.dones[i])).toBe(info.final !== undefined);
        if (!info.final) continue;
        finished++;
        expect(info.final.truncated).toBe(true); // time limit CONFIG.maxSteps
        expect(info.final.step).toBe(CONFIG.maxSteps);
        expect(info.seed).toBe(info.final.seed + NUM_ENVS);
        expect(info.step).toBe(0);
        // the returned observation is the new episode's first; the final one differs from it
        expect(s.observations[i]!.state).not.toEqual(info.final.observation.state);
        expect((t + 1) % CONFIG.maxSteps).toBe(0);
      }
    });
    expect(finished).toBe(NUM_ENVS * Math.floor(STEPS / CONFIG.maxSteps));
  });

  it('reset(seeds) uses the given seeds and later auto-resets continue from them', async () => {
    const vec = await VecEnv.create({ task: TASK, config: CONFIG, numEnvs: 2, numWorkers: 2, render: false });
    const single = await SimEnv.create({ task: TASK, config: CONFIG, render: false });
    try {
      const obs = await vec.reset([42, 7]);
      expect(obs[1]!.state).toEqual(single.reset(7).state);
      const a = randomActions(new Rng(1), 2);
      let r = await vec.step(a);
      for (let t = 1; t < CONFIG.maxSteps; t++) r = await vec.step(a);
      expect(Array.from(r.dones)).toEqual([1, 1]);
      expect(r.infos.map((i) => i.seed)).toEqual([44, 9]);
      expect(r.observations[1]!.state).toEqual(single.reset(9).state);
    } finally {
      await vec.close();
      single.dispose();
    }
  });

  it('validates actions and seeds in the caller with clear errors, and stays usable', async () => {
    const vec = await VecEnv.create({ task: TASK, config: CONFIG, numEnvs: 2, numWorkers: 1, render: false });
    try {
      await vec.reset();
      await expect(vec.step(new Float32Array(13))).rejects.toThrow(/2 x 7 = 14 values.*got 13/);
      const a = randomActions(new Rng(2), 2);
      a[8] = NaN;
      await expect(vec.step(a)).rejects.toThrow(/env 1, 'shoulder.target' \(actions\[8\]\) is not finite/);
      await expect(vec.reset([1])).rejects.toThrow(/expected 2 seeds/);
      a[8] = 0.2;
      const r = await vec.step(a);
      expect(r.observations).toHaveLength(2);
    } finally {
      await vec.close();
    }
    await vec.close(); // twice is fine
    await expect(vec.reset()).rejects.toThrow(/after close/);
  });

  it('surfaces errors raised inside a worker with the worker’s message', async () => {
    // At start-up: the env constructor in the worker rejects the camera name.
    const bad = VecEnv.create({ task: TASK, numEnvs: 2, numWorkers: 1, config: { cameras: ['no_such_camera'] } });
    await expect(bad).rejects.toThrow(/VecEnv worker 0 \(envs 0\.\.1\): no camera named 'no_such_camera' in the model; available: .*front/);
    await expect(bad).rejects.toMatchObject({ name: 'UserError' });

    // While running: the worker refuses step() before reset(); afterwards the VecEnv says it is unusable.
    const vec = await VecEnv.create({ task: TASK, numEnvs: 2, numWorkers: 1, render: false });
    try {
      const err = (await vec.step(randomActions(new Rng(3), 2)).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toMatch(/VecEnv worker 0 \(envs 0\.\.1\): VecEnv: call reset\(\) before step\(\)/);
      expect((err.cause as Error).stack).toMatch(/vec_env_worker\.ts/); // the worker's own stack
      await expect(vec.reset()).rejects.toThrow(/unusable after an earlier error/);
    } finally {
      await vec.close();
    }
  });

  it('rejects an unknown task before starting any worker', async () => {
    await expect(VecEnv.create({ task: 'no_such_task', numEnvs: 2, numWorkers: 2 })).rejects.toThrow(/unknown task 'no_such_task'; available tasks: .*reach/);
  });

});
