import { f32, i64 } from '../inputs.ts';
import { Conv2d } from '../layers/conv2d.ts';
import { Embedding } from '../layers/embedding.ts';
import { LayerNorm } from '../layers/layer_norm.ts';
import { Linear } from '../layers/linear.ts';
import { defineModel, type Model } from '../model.ts';
import { gelu, silu } from '../ops/activations.ts';
import type { ConvWeightGrad } from '../ops/conv2d.ts';
import { globalAvgPool, reduceMean } from '../ops/reduce.ts';
import { concat, reshape } from '../ops/shape_ops.ts';
import { sinusoidalEmbedding } from '../ops/time_embedding.ts';
import type { Value } from '../tape.ts';

/**
 * The flow policy's network shape, used by the engine's tests (a small instance, checked
 * against PyTorch by bench/nn/make_grad_golden.py's `MiniPolicy`) and benchmarks (the full
 * size from NOTES). It is a fixture of the engine, not the project's policy definition.
 *
 *   image (3, S, S) -> 4 x [Conv k3 s2 p1 + SiLU] -> global avg pool -> Linear -> LayerNorm
 *   tokens (L) -> Embedding -> mean over L
 *   [image features, token features, state, x_t flattened, sin/cos(time)] -> MLP (GELU) -> v (H, A)
 */
export interface PolicyShapeConfig {
  /** Conv channels, input first: 5 entries for the 4 convs. */
  readonly channels: readonly [number, number, number, number, number];
  readonly image: number;
  readonly imageFeatures: number;
  readonly vocab: number;
  readonly tokenDim: number;
  readonly tokenLen: number;
  readonly stateDim: number;
  /** Action chunk length H and action dim A: x_t and v are (H, A). */
  readonly chunk: number;
  readonly actionDim: number;
  readonly timeDim: number;
  readonly hidden: number;
  /** Hidden layers of the head. */
  readonly depth: number;
  /** Conv weight-gradient method for every conv layer. @default 'auto' */
  readonly convWeightGrad?: ConvWeightGrad;
}

/** The size measured in NOTES (374k parameters at these settings with a 96x96 image). */
export const NOTES_POLICY_SHAPE: PolicyShapeConfig = {
  channels: [3, 32, 64, 64, 64],
  image: 96,
  imageFeatures: 128,
  vocab: 256,
  tokenDim: 64,
  tokenLen: 16,
  stateDim: 14,
  chunk: 16,
  actionDim: 7,
  timeDim: 64,
  hidden: 256,
  depth: 3,
};

export function policyShapedModel(cfg: PolicyShapeConfig) {
  const c = cfg.channels;
  return defineModel({
    name: 'policy_shaped',
    inputs: {
      image: f32(c[0], cfg.image, cfg.image),
      tokens: i64(cfg.tokenLen),
      state: f32(cfg.stateDim),
      x_t: f32(cfg.chunk, cfg.actionDim),
      time: f32(),
    },
    setup: (p) => {
      const enc = p.scope('encoder');
      const convs = [0, 1, 2, 3].map((i) => new Conv2d(enc, `conv${i}`, {
            inChannels: c[i] as number,
            outChannels: c[i + 1] as number,
            kernel: 3,
            stride: 2,
            padding: 1,
            weightGrad: cfg.convWeightGrad ?? 'auto',
          }),
      );
      const proj = new Linear(enc, 'proj', { inFeatures: c[4], outFeatures: cfg.imageFeatures });
      const norm = new LayerNorm(enc, 'norm', { dim: cfg.imageFeatures });
      const tokens = new Embedding(p, 'tokens', { vocabSize: cfg.vocab, dim: cfg.tokenDim });
      const headIn = cfg.imageFeatures + cfg.tokenDim + cfg.stateDim + cfg.chunk * cfg.actionDim + cfg.timeDim;
      const widths = [headIn, ...Array<number>(cfg.depth).fill(cfg.hidden), cfg.chunk * cfg.actionDim];
      const head = p.scope('head');
      const fcs = widths.slice(1).map((w, i) => new Linear(head, `fc${i}`, { inFeatures: widths[i] as number, outFeatures: w }));

      return (t, x) => {
        let h: Value = x.image; // (B, 3, S, S)
        for (const conv of convs) h = silu(t, conv.apply(t, h)); // (B, C, S/16, S/16) after 4 layers
        const img = norm.apply(t, proj.apply(t, globalAvgPool(t, h))); // (B, F)
        const tok = reduceMean(t, tokens.apply(t, x.tokens), [1]); // (B, L, D) -> (B, D)
        const xFlat = reshape(t, x.x_t, [0, cfg.chunk * cfg.actionDim]); // (B, H*A)
        const temb = sinusoidalEmbedding(t, x.time, cfg.timeDim); // (B, T)
        let z = concat(t, [img, tok, x.state, xFlat, temb], 1); // (B, headIn)
        fcs.forEach((fc, i) => {
          z = fc.apply(t, z);
          if (i < fcs.length - 1) z = gelu(t, z);
        });
        return { v: reshape(t, z, [0, cfg.chunk, cfg.actionDim]) }; // (B, H, A)
      };
    },
  });
}

export type PolicyShapedModel = Model<ReturnType<typeof policyShapedModel>['inputs'], 'v'>;
