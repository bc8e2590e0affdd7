import { readFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { UserError, describeZodIssues } from '../core/errors.ts';

/**
 * Configuration of the flow-matching VLA policy (`PolicyConfig`) and of its training run
 * (`TrainConfig`). Every field has a default, so `{}` is a complete config; a `--config FILE`
 * overrides any subset. Unknown keys are errors (a typo must not be silently ignored), and
 * every error names the field path.
 *
 * Defaults that differ from pi0 say so: pi0 predicts chunks of 50 at 50 Hz with a 3B-parameter
 * VLM; here the chunk is 16 at 20 Hz (0.8 s, close to pi0's 1 s) and the network is small
 * enough to train on two CPU cores.
 */

const positiveInt = z.number().int().positive();

export const VisionConfigSchema = z
  .strictObject({
    channels: z
      .array(positiveInt)
      .min(1)
      .default([16, 32, 32, 32])
      .describe('output channels of each Conv k3 (+ SiLU) layer of a camera encoder, first layer first'),
    strides: z
      .array(z.union([z.literal(1), z.literal(2)]))
      .default([2, 2, 2, 1])
      .describe('stride of each conv layer (same length as channels); 64 px -> 8x8 feature maps with the default'),
    pool: z
      .enum(['spatial_softmax', 'avg', 'flatten'])
      .default('spatial_softmax')
      .describe(
        "how the last feature map becomes a vector: 'spatial_softmax' (expected x/y of `keypoints` softmax maps, as diffusion policy / LeRobot), " +
          "'avg' (global average pool; loses where things are) or 'flatten'",
      ),
    film: z
      .boolean()
      .default(true)
      .describe('FiLM-condition every conv layer on the instruction embedding (per-channel scale and shift, zero-initialised; RT-1). Without it the policy must pick the named cube out of instruction-blind keypoints'),
    keypoints: positiveInt.default(32).describe("spatial_softmax: number of keypoint maps (a 1x1 conv from the last layer's channels)"),
    features: positiveInt.default(128).describe('per-camera embedding size (Linear + LayerNorm after pooling)'),
  })
  .superRefine((v, ctx) => {
    if (v.strides.length !== v.channels.length) {
      ctx.addIssue({ code: 'custom', path: ['strides'], message: `has ${v.strides.length} entries, channels has ${v.channels.length}; give one stride per conv layer` });
    }
  });

export const PolicyConfigSchema = z
  .strictObject({
    chunkSize: positiveInt.default(16).describe('H: actions predicted per query (pi0: 50 at 50 Hz; 16 at 20 Hz here)'),
    cameras: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('cameras the policy sees, in input order (default: every camera of the dataset)'),
    vision: VisionConfigSchema.prefault({}).describe('the per-camera conv encoder (one encoder, own weights, per camera)'),
    language: z
      .strictObject({
        dim: positiveInt.default(64).describe('token embedding size; the instruction is the masked mean of its token embeddings'),
        maxLength: positiveInt.default(16).describe('L: tokens kept per instruction (longer ones are truncated)'),
        project: z
          .boolean()
          .default(true)
          .describe('Linear + LayerNorm after pooling, so the instruction reaches the head and FiLM at the scale of the other features (a mean of N(0,1) embeddings is ~1/sqrt(L) smaller, and the one word that matters ~1/L)'),
      })
      .prefault({})
      .describe('language encoder: word tokenizer built from the dataset task strings + embeddings + masked mean pooling'),
    stateFeatures: positiveInt.default(64).describe('proprio encoder: Linear from the normalised state to this size'),
    head: z
      .strictObject({
        hidden: positiveInt.default(512).describe('width of the flow head MLP'),
        depth: positiveInt.default(3).describe('hidden layers of the flow head MLP (GELU)'),
        timeDim: z.number().int().min(4).multipleOf(2).default(64).describe("sin/cos time embedding size (pi0's periods 4e-3..4)"),
      })
      .prefault({})
      .describe('flow-matching head: MLP on [observation embedding, x_t flattened (H*A), time embedding] -> velocity (H*A)'),
    subgoal: z
      .strictObject({
        weight: z.number().nonnegative().default(0.5).describe('loss weight of the subgoal head; 0 removes it'),
        hidden: positiveInt.default(256).describe('hidden width of the subgoal MLP'),
      })
      .prefault({})
      .describe(
        'auxiliary training-only head: from the observation features, regress the next key pose (the action at the next gripper open/close, or the last action) with MSE. ' +
          'A flow head can leave "which object" to the noise (each sample picks one); this deterministic target makes the encoder bind instruction and image. Not exported',
      ),
    samplerSteps: positiveInt.default(10).describe('K: Euler steps from t=1 (noise) to t=0 (data), unrolled in sample.onnx (pi0: 10)'),
    timeBeta: z
      .strictObject({
        alpha: z.number().positive().default(1.5),
        beta: z.number().positive().default(1),
      })
      .prefault({})
      .describe('training times t = 0.001 + 0.999 * Beta(alpha, beta) (pi0: Beta(1.5, 1), more weight near t = 1, the noise end)'),
    normalization: z
      .strictObject({
        state: z.enum(['mean_std', 'min_max', 'identity']).default('mean_std').describe('observation.state normalisation (LeRobot modes)'),
        action: z.enum(['mean_std', 'min_max', 'identity']).default('mean_std').describe('action normalisation (LeRobot modes)'),
      })
      .prefault({})
      .describe('normalisation modes; statistics come from the dataset (meta/stats.json)'),
  });
export type PolicyConfig = z.infer<typeof PolicyConfigSchema>;

export const TrainConfigSchema = z
  .strictObject({
    policy: PolicyConfigSchema.prefault({}).describe('the network and sampler'),
    steps: positiveInt.default(20000).describe('optimisation steps'),
    batchSize: positiveInt.default(64).describe('samples per step (the step graph has a fixed batch)'),
    lr: z.number().positive().default(3e-4).describe('peak AdamW learning rate'),
    warmupSteps: z.number().int().nonnegative().default(500).describe('linear warm-up from 0 to lr'),
    minLrRatio: z.number().min(0).max(1).default(0.05).describe('cosine decay ends at lr * minLrRatio'),
    weightDecay: z.number().nonnegative().default(1e-4).describe('AdamW decoupled weight decay (matrices and kernels only)'),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95]).describe('AdamW betas (pi0: 0.9, 0.95)'),
    gradClip: z.number().positive().default(1).describe('global gradient-norm clip (pi0: 1.0)'),
    seed: z.number().int().nonnegative().default(0).describe('seeds initial weights, the validation split and batch sampling'),
    valFraction: z.number().min(0).lt(1).default(0.05).describe('fraction of episodes held out for validation (split by episode; at least 1 when > 0)'),
    valEvery: positiveInt.default(500).describe('validation loss every this many steps'),
    valBatches: positiveInt.default(4).describe('batches in one validation pass (fixed samples, noise and times)'),
    checkpointEvery: positiveInt.default(500).describe('checkpoint (weights + AdamW state) every this many steps'),
    logEvery: positiveInt.default(50).describe('loss-curve point every this many steps (mean training loss over the interval)'),
    stateDropout: z
      .number()
      .min(0)
      .lt(1)
      .default(0)
      .describe('probability of replacing a sample\'s normalised state by zeros (the dataset mean), so the policy cannot read the target off the arm\'s pose alone (the copycat shortcut) and must use images and instruction'),
    earlyFrames: z
      .strictObject({
        fraction: z.number().min(0).max(1).default(0).describe('share of each batch drawn from the first `frames` frames of training episodes'),
        frames: positiveInt.default(16).describe('what counts as the start of an episode'),
      })
      .prefault({})
      .describe('oversample the start of episodes, where the instruction decides what to do and nothing else does'),
    randomShift: z.number().int().nonnegative().default(4).describe('image augmentation: pad by this many pixels (edge replicate) and crop back at a random offset (DrQ / LeRobot random shift); 0 disables'),
    emaDecay: z.number().min(0).lt(1).default(0.999).describe('exponential moving average of the weights (diffusion policy / LeRobot: 0.9999 over far longer runs); validation and the exported bundle use it; 0 disables'),
    emaEvery: positiveInt.default(10).describe('fold the weights into the EMA every this many steps (with decay^emaEvery)'),
    threads: positiveInt.default(1).describe('ONNX Runtime intra-op threads of the training step'),
    execution: z
      .strictObject({
        nActionSteps: positiveInt.optional().describe('actions executed per chunk before querying again'),
        temporalEnsembleCoeff: z.number().nonnegative().optional().describe('ACT temporal ensembling coefficient m'),
      })
      .optional()
      .describe("recommended chunk execution, written to the bundle's policy.json `execution` (runtimes use it unless told otherwise); set it to what evaluation measured best"),
  });
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Deeply frozen copy (configs are read-only after parsing). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Validates a raw config object; a UserError lists each bad field as `path: message`, prefixed by `where`. */
export function parseTrainConfig(raw: unknown, where = 'train config'): TrainConfig {
  const parsed = TrainConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    // zod reports unknown keys at the parent; name each one as a field of its own.
    const issues = parsed.error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ path: [...i.path, k], message: 'unknown field (a typo?)' })) : [i],
    );
    throw new UserError(describeZodIssues(where, issues));
  }
  return deepFreeze(parsed.data);
}

/** Reads and validates a JSON config file. */
export function loadTrainConfigFile(path: string): TrainConfig {
  if (!existsSync(path)) throw new UserError(`${path}: config file missing`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseTrainConfig(raw, path);
}
