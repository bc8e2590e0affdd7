import { z } from 'zod';
import { UserError, describeZodIssues } from '../core/errors.ts';

/**
 * Turns predicted action chunks into one action per control step; shared by the simulator and
 * the ROS bridge (docs/policy-format.md, "Executing chunks").
 *
 * - receding horizon: execute the first n of each H-action chunk, then query again;
 * - ACT temporal ensembling: query every step, average every stored prediction for the
 *   current step with weights w_i = exp(-m * i), i = 0 the oldest (ACT, Zhao et al. 2023);
 * - optional linear blend at chunk boundaries from the previous chunk's unexecuted actions;
 * - joint position clamp, then a per-step velocity limit |a_t - a_{t-1}| <= maxDelta.
 *
 * The executor never calls the policy: `needsChunk` says when to query, `push` hands it the
 * chunk, `next` gives the action. That keeps it usable with synchronous policies (sim) and with
 * asynchronous ones (a worker, a remote robot) alike.
 */

const limitArray = z.array(z.number().finite().nullable());

export const ChunkExecutorConfigSchema = z
  .object({
    chunkSize: z.number().int().positive().describe('H: actions per predicted chunk'),
    actionDim: z.number().int().positive().describe('A: values per action'),
    nActionSteps: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('actions executed per chunk before querying again (receding horizon). Default: 1 with temporal ensembling, else floor(H/2) (pi0/ACT execute all H; half keeps the policy reactive, as Diffusion Policy)'),
    temporalEnsembleCoeff: z
      .number()
      .finite()
      .nonnegative()
      .nullable()
      .default(null)
      .describe('m of ACT temporal ensembling (ACT: 0.01); null = receding horizon. Needs nActionSteps = 1'),
    smoothingSteps: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('k: blend the first k actions of a new chunk linearly from the previous chunk (receding horizon only)'),
    positionLimits: z
      .object({ lower: limitArray.describe('per action dim, null = none'), upper: limitArray.describe('per action dim, null = none') })
      .optional()
      .describe('clamp every action to [lower, upper] per dimension (joint position limits)'),
    maxDelta: limitArray.optional().describe('per action dim: max |a_t - a_{t-1}| per step (joint velocity limit x dt); null = none'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const ensemble = c.temporalEnsembleCoeff !== null;
    if (c.nActionSteps !== undefined && c.nActionSteps > c.chunkSize) issue('nActionSteps', `must be <= chunkSize (${c.chunkSize}), got ${c.nActionSteps}`);
    if (ensemble && c.nActionSteps !== undefined && c.nActionSteps !== 1) issue('nActionSteps', `temporal ensembling queries every step: nActionSteps must be 1, got ${c.nActionSteps}`);
    if (ensemble && c.smoothingSteps > 0) issue('smoothingSteps', 'boundary smoothing applies to receding horizon only (temporal ensembling already averages)');
    const n = c.nActionSteps ?? defaultActionSteps(c.chunkSize, ensemble);
    if (c.smoothingSteps > n) issue('smoothingSteps', `must be <= nActionSteps (${n}), got ${c.smoothingSteps}`);
    if (c.positionLimits) {
      const { lower, upper } = c.positionLimits;
      if (lower.length !== c.actionDim) issue('positionLimits', `lower has ${lower.length} values, expected actionDim = ${c.actionDim}`);
      if (upper.length !== c.actionDim) issue('positionLimits', `upper has ${upper.length} values, expected actionDim = ${c.actionDim}`);
      lower.forEach((lo, i) => lo !== null && upper[i] != null && upper[i]! < lo && issue('positionLimits', `dim ${i}: upper ${upper[i]} < lower ${lo}`));
    }
    if (c.maxDelta) {
      if (c.maxDelta.length !== c.actionDim) issue('maxDelta', `has ${c.maxDelta.length} values, expected actionDim = ${c.actionDim}`);
      c.maxDelta.forEach((d, i) => d !== null && d <= 0 && issue('maxDelta', `dim ${i}: must be > 0 or null, got ${d}`));
    }
  })
  .transform((c) => ({ ...c, nActionSteps: c.nActionSteps ?? defaultActionSteps(c.chunkSize, c.temporalEnsembleCoeff !== null) }));
export type ChunkExecutorConfigInput = z.input<typeof ChunkExecutorConfigSchema>;
export type ChunkExecutorConfig = Readonly<z.output<typeof ChunkExecutorConfigSchema>>;

function defaultActionSteps(chunkSize: number, ensemble: boolean): number {
  return ensemble ? 1 : Math.max(1, Math.floor(chunkSize / 2));
}

/** ACT's weights for `count` predictions of one step, oldest first: w_i = exp(-m * i). */
export function temporalEnsembleWeights(count: number, m: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.exp(-m * i));
}

export class ChunkExecutor {
  readonly config: ChunkExecutorConfig;
  /** Receding horizon: the chunk being executed (H*A, smoothing applied) and how many of its actions ran. */
  #chunk: Float32Array | undefined;
  #used = 0;
  /** Temporal ensembling: stored chunks with the step they were predicted at, oldest first. */
  #history: Array<{ chunk: Float32Array; step: number }> = [];
  #step = 0;
  #previous: Float64Array | undefined;

  constructor(config: ChunkExecutorConfigInput) {
    const parsed = ChunkExecutorConfigSchema.safeParse(config);
    if (!parsed.success) throw new UserError(describeZodIssues('chunk executor config', parsed.error.issues));
    this.config = Object.freeze(parsed.data);
  }

  /** Steps executed since reset. */
  get step(): number {
    return this.#step;
  }

  /** Starts an episode. `previousAction` (e.g. the measured joint positions) seeds the velocity limit. */
  reset(previousAction?: ArrayLike<number>): void {
    if (previousAction && previousAction.length !== this.config.actionDim)
      throw new UserError(`ChunkExecutor.reset: previousAction has ${previousAction.length} values, expected ${this.config.actionDim}`);
    this.#chunk = undefined;
    this.#used = 0;
    this.#history = [];
    this.#step = 0;
    this.#previous = previousAction ? Float64Array.from(previousAction) : undefined;
  }

  /** Whether the policy should be queried (and its chunk pushed) before `next()` this step. */
  get needsChunk(): boolean {
    if (this.config.temporalEnsembleCoeff !== null) return this.#history.at(-1)?.step !== this.#step;
    return this.#chunk === undefined || this.#used >= this.config.nActionSteps;
  }

  /**
   * Hands over a chunk predicted from the current observation (H*A, [h][a]). With receding
   * horizon it replaces whatever remained of the previous chunk, its action 0 executing now.
   */
  push(chunk: Float32Array): void {
    const { chunkSize: H, actionDim: A } = this.config;
    if (chunk.length !== H * A) throw new UserError(`ChunkExecutor.push: chunk has ${chunk.length} values, expected H*A = ${H}*${A}`);
    if (this.config.temporalEnsembleCoeff !== null) {
      if (this.#history.at(-1)?.step === this.#step) this.#history.pop(); // a second chunk for the same step replaces the first
      this.#history.push({ chunk: Float32Array.from(chunk), step: this.#step });
      this.#history = this.#history.filter((h) => this.#step - h.step < H);
      return;
    }
    const next = Float32Array.from(chunk);
    const k = this.config.smoothingSteps;
    if (k > 0 && this.#chunk) {
      // a_j = (1 - alpha_j) * prev_j + alpha_j * new_j, alpha_j = (j + 1) / (k + 1); prev_j holds at its last action.
      const prev = this.#chunk;
      for (let j = 0; j < k; j++) {
        const alpha = (j + 1) / (k + 1);
        const row = Math.min(this.#used + j, H - 1);
        for (let d = 0; d < A; d++) next[j * A + d] = (1 - alpha) * prev[row * A + d]! + alpha * next[j * A + d]!;
      }
    }
    this.#chunk = next;
    this.#used = 0;
  }

  /** The action for the current step (after limits); advances one step. */
  next(): Float32Array {
    const { actionDim: A } = this.config;
    const action = new Float64Array(A);
    const m = this.config.temporalEnsembleCoeff;
    if (m !== null) {
      // ACT temporal ensembling: predictions for this step, oldest first (i = 0 oldest).
      const preds = this.#history.filter((h) => this.#step - h.step < this.config.chunkSize);
      if (preds.length === 0) throw new Error('ChunkExecutor.next: no chunk covers this step; push() one first');
      const w = temporalEnsembleWeights(preds.length, m);
      const wSum = w.reduce((s, v) => s + v, 0);
      preds.forEach((h, i) => {
        const row = this.#step - h.step;
        for (let d = 0; d < A; d++) action[d]! += (w[i]! / wSum) * h.chunk[row * A + d]!;
      });
    } else {
      if (!this.#chunk || this.#used >= this.config.chunkSize) throw new Error('ChunkExecutor.next: no planned action left; push() a chunk first');
      for (let d = 0; d < A; d++) action[d] = this.#chunk[this.#used * A + d]!;
      this.#used++;
    }
    this.#applyLimits(action);
    const out = Float32Array.from(action);
    this.#previous = Float64Array.from(out); // the limit applies to what was actually sent
    this.#step++;
    return out;
  }

  /** One control step with a synchronous policy: queries `predict` when a chunk is due. */
  act(predict: () => Float32Array): Float32Array {
    if (this.needsChunk) this.push(predict());
    return this.next();
  }

  /** Position clamp, then the per-step velocity limit relative to the previous emitted action. */
  #applyLimits(action: Float64Array): void {
    const { positionLimits, maxDelta } = this.config;
    if (positionLimits) {
      for (let d = 0; d < action.length; d++) {
        const lo = positionLimits.lower[d];
        const hi = positionLimits.upper[d];
        if (lo != null && action[d]! < lo) action[d] = lo;
        if (hi != null && action[d]! > hi) action[d] = hi;
      }
    }
    const prev = this.#previous;
    if (maxDelta && prev) {
      for (let d = 0; d < action.length; d++) {
        const lim = maxDelta[d];
        if (lim == null) continue;
        const delta = action[d]! - prev[d]!;
        if (delta > lim) action[d] = prev[d]! + lim;
        else if (delta < -lim) action[d] = prev[d]! - lim;
      }
    }
  }
}
