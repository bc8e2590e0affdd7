import { KEYS, imageKey } from '../core/keys.ts';
import {
  Conv2d,
  Embedding,
  LayerNorm,
  Linear,
  concat,
  init,
  linear,
  defineModel,
  div,
  f32,
  gelu,
  globalAvgPool,
  i64,
  mul,
  reduceSum,
  reshape,
  silu,
  siluFilm,
  sinusoidalEmbedding,
  softmax,
  type InputSpec,
  type ParamHandle,
  type ParamRegistry,
  type Tape,
  type Value,
} from '../nn/index.ts';
import type { PolicyConfig } from './config.ts';

/**
 * The flow-matching VLA policy network (pi0's recipe at a size two CPU cores can train):
 *
 *   instruction tokens (L) -> Embedding -> masked mean -> Linear -> LayerNorm = l              (B, D)
 *   each camera (3, h, w) in [0, 1] -> n x [Conv k3 + SiLU + FiLM(l)] -> pool -> Linear -> LayerNorm (B, Fc)
 *   normalised state (S) -> Linear                                                            (B, Fs)
 *   features = concat(cameras..., language, state)                                            (B, F)
 *   v_theta(x_t, t | o) = MLP_GELU([features, x_t flattened (H*A), sincos(t)]) -> (B, H, A)
 *
 * The observation encoder runs once per observation (`encode`), the head once per Euler step
 * (`velocity`), so the sampling graph can unroll K head evaluations on one encoding.
 */

/** Sizes that come from the data rather than the config. */
export interface PolicyDims {
  readonly stateDim: number;
  readonly actionDim: number;
  /** Cameras in input order. */
  readonly cameras: readonly { readonly name: string; readonly height: number; readonly width: number }[];
  /** Tokenizer vocabulary size (ids 0 = pad, 1 = unknown). */
  readonly vocabSize: number;
}

/** Graph tensor names shared by the training model and the exported bundle graphs (docs/policy-format.md). */
export const POLICY_INPUTS = {
  state: KEYS.state,
  image: imageKey,
  tokens: 'task.tokens',
  mask: 'task.mask',
  noise: 'noise',
  /** Training-model only: the interpolated chunk x_t and its time t. */
  xT: 'x_t',
  time: 'time',
} as const;

/** Symbolic observation inputs of the encoder. */
export interface ObservationValues {
  readonly state: Value; // (B, S)
  readonly images: readonly Value[]; // (B, 3, h, w) per camera
  readonly tokens: Value; // (B, L) int64
  readonly mask: Value; // (B, L)
}

export interface PolicyNetwork {
  /** F: size of the observation embedding (the features graph's output). */
  readonly featureDim: number;
  encode(t: Tape, obs: ObservationValues): Value;
  /** Velocity v_theta(x_t, t | features): x_t (B, H, A), time (B) -> (B, H, A). */
  velocity(t: Tape, features: Value, xT: Value, time: Value): Value;
}

/** One camera's encoder: conv stack, pooling, Linear, LayerNorm. */
class CameraEncoder {
  readonly #convs: Conv2d[];
  /** FiLM per conv layer: Linear(language -> 2C) giving (gamma, beta); zero-initialised (identity at start). */
  readonly #film: ({ readonly weight: ParamHandle; readonly bias: ParamHandle } | undefined)[];
  readonly #keypoints: Conv2d | undefined;
  readonly #proj: Linear;
  readonly #norm: LayerNorm;
  readonly #pool: PolicyConfig['vision']['pool'];
  /** (2, h*w) expected-coordinate table of the last feature map, x row then y row, in [-1, 1]. */
  readonly #coords: Float32Array;
  readonly #map: { readonly c: number; readonly h: number; readonly w: number };

  constructor(p: ParamRegistry, cfg: PolicyConfig['vision'], camera: { height: number; width: number }, languageDim: number) {
    let c = 3;
    let h = camera.height;
    let w = camera.width;
    this.#convs = cfg.channels.map((out, i) => {
      const stride = cfg.strides[i] as number;
      const conv = new Conv2d(p, `conv${i}`, { inChannels: c, outChannels: out, kernel: 3, stride, padding: 1 });
      c = out;
      h = Math.floor((h + 2 - 3) / stride) + 1;
      w = Math.floor((w + 2 - 3) / stride) + 1;
      return conv;
    });
    this.#film = cfg.channels.map((out, i) =>
      cfg.film
        ? { weight: p.declare(`film${i}.weight`, [2 * out, languageDim], init.zeros()), bias: p.declare(`film${i}.bias`, [2 * out], init.zeros()) }
        : undefined,
    );
    this.#pool = cfg.pool;
    this.#map = { c, h, w };
    let pooled: number;
    if (cfg.pool === 'spatial_softmax') {
      this.#keypoints = new Conv2d(p, 'keypoints', { inChannels: c, outChannels: cfg.keypoints, kernel: 1 });
      pooled = 2 * cfg.keypoints;
    } else {
      pooled = cfg.pool === 'avg' ? c : c * h * w;
    }
    this.#proj = new Linear(p, 'proj', { inFeatures: pooled, outFeatures: cfg.features });
    this.#norm = new LayerNorm(p, 'norm', { dim: cfg.features });
    this.#coords = new Float32Array(2 * h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        this.#coords[y * w + x] = w > 1 ? -1 + (2 * x) / (w - 1) : 0;
        this.#coords[h * w + y * w + x] = h > 1 ? -1 + (2 * y) / (h - 1) : 0;
      }
    }
  }

  apply(t: Tape, image: Value, language: Value): Value {
    let z = image; // (B, 3, h, w)
    this.#convs.forEach((conv, i) => {
      const film = this.#film[i];
      if (film) {
        // FiLM (Perez et al. 2018; RT-1): z <- silu(conv(z)) * (1 + gamma(l)) + beta(l), per
        // channel, so the instruction decides which objects the keypoints below attend to.
        const gb = linear(t, language, t.param(film.weight), t.param(film.bias)); // (B, 2C) = [gamma | beta]
        z = siluFilm(t, conv.apply(t, z), gb); // (B, C, h', w')
      } else {
        z = silu(t, conv.apply(t, z)); // (B, C, h', w')
      }
    });
    let pooled: Value;
    const { h, w } = this.#map;
    if (this.#keypoints) {
      // Spatial softmax (Levine et al. 2016; diffusion policy): each keypoint map -> a
      // distribution over positions -> its expected (x, y).
      const k = this.#keypoints.apply(t, z); // (B, K, h, w)
      const K = k.shape[1] as number;
      const attn = softmax(t, reshape(t, k, [0, K, 1, h * w]), 3); // (B, K, 1, hw)
      const xy = reduceSum(t, mul(t, attn, t.constFloat(this.#coords, [2, h * w])), [3]); // (B, K, 2)
      pooled = reshape(t, xy, [0, 2 * K]);
    } else if (this.#pool === 'avg') {
      pooled = globalAvgPool(t, z); // (B, C)
    } else {
      pooled = reshape(t, z, [0, -1]); // (B, C*h*w)
    }
    return this.#norm.apply(t, this.#proj.apply(t, pooled)); // (B, Fc)
  }
}

/** Declares the network's parameters on `p` (always in the same order) and returns its two halves. */
export function declarePolicyNetwork(p: ParamRegistry, cfg: PolicyConfig, dims: PolicyDims): PolicyNetwork {
  const H = cfg.chunkSize;
  const A = dims.actionDim;
  const tokens = new Embedding(p, 'language.tokens', { vocabSize: dims.vocabSize, dim: cfg.language.dim });
  const cams = dims.cameras.map((c) => new CameraEncoder(p.scope(`vision.${c.name}`), cfg.vision, c, cfg.language.dim));
  const languageProj = cfg.language.project ? new Linear(p, 'language.proj', { inFeatures: cfg.language.dim, outFeatures: cfg.language.dim }) : undefined;
  const languageNorm = cfg.language.project ? new LayerNorm(p, 'language.norm', { dim: cfg.language.dim }) : undefined;
  const stateProj = new Linear(p, 'state.proj', { inFeatures: dims.stateDim, outFeatures: cfg.stateFeatures });
  const featureDim = cams.length * cfg.vision.features + cfg.language.dim + cfg.stateFeatures;
  const widths = [featureDim + H * A + cfg.head.timeDim, ...Array<number>(cfg.head.depth).fill(cfg.head.hidden), H * A];
  const head = p.scope(HEAD_SCOPE);
  const fcs = widths.slice(1).map((out, i) => new Linear(head, `fc${i}`, { inFeatures: widths[i] as number, outFeatures: out }));

  return {
    featureDim,
    encode(t, obs) {
      if (obs.images.length !== cams.length) throw new Error(`policy encode: ${obs.images.length} images for ${cams.length} cameras`);
      // Masked mean of the token embeddings: sum_i m_i e_i / max(1, sum_i m_i).
      const L = obs.tokens.shape[1] as number;
      const emb = tokens.apply(t, obs.tokens); // (B, L, D)
      const m = reshape(t, obs.mask, [0, L, 1]); // (B, L, 1)
      const summed = reduceSum(t, mul(t, emb, m), [1]); // (B, D)
      const count = t.emit('Max', [reduceSum(t, obs.mask, [1], { keepdims: true }), t.scalar(1)], { shape: [obs.mask.shape[0] as number, 1] }); // (B, 1), data only
      const pooled = div(t, summed, count); // (B, D)
      const language = languageProj && languageNorm ? languageNorm.apply(t, languageProj.apply(t, pooled)) : pooled; // (B, D)
      const imageFeatures = cams.map((enc, i) => enc.apply(t, obs.images[i] as Value, language)); // (B, Fc) each
      const state = stateProj.apply(t, obs.state); // (B, Fs)
      return concat(t, [...imageFeatures, language, state], 1); // (B, F)
    },
    velocity(t, features, xT, time) {
      const xFlat = reshape(t, xT, [0, H * A]); // (B, H*A)
      const temb = sinusoidalEmbedding(t, time, cfg.head.timeDim); // (B, T)
      let z = concat(t, [features, xFlat, temb], 1);
      fcs.forEach((fc, i) => {
        z = fc.apply(t, z);
        if (i < fcs.length - 1) z = gelu(t, z);
      });
      return reshape(t, z, [0, H, A]); // (B, H, A)
    },
  };
}

/** Per-sample observation input specs by graph name, in contract order. */
export function observationInputSpecs(cfg: PolicyConfig, dims: PolicyDims): Record<string, InputSpec> {
  const specs: Record<string, InputSpec> = { [POLICY_INPUTS.state]: f32(dims.stateDim) };
  for (const c of dims.cameras) specs[POLICY_INPUTS.image(c.name)] = f32(3, c.height, c.width);
  specs[POLICY_INPUTS.tokens] = i64(cfg.language.maxLength);
  specs[POLICY_INPUTS.mask] = f32(cfg.language.maxLength);
  return specs;
}

/** Picks the observation Values out of a name -> Value record. */
export function observationValues(values: Readonly<Record<string, Value>>, dims: PolicyDims): ObservationValues {
  const get = (name: string): Value => {
    const v = values[name];
    if (!v) throw new Error(`policy: input '${name}' missing`);
    return v;
  };
  return {
    state: get(POLICY_INPUTS.state),
    images: dims.cameras.map((c) => get(POLICY_INPUTS.image(c.name))),
    tokens: get(POLICY_INPUTS.tokens),
    mask: get(POLICY_INPUTS.mask),
  };
}

/** Parameter scope of the flow head (the features graph leaves it out). */
export const HEAD_SCOPE = 'head';

/** Parameter scope of the training-only subgoal head (never exported). */
export const SUBGOAL_SCOPE = 'subgoal';

export const POLICY_MODEL_NAME = 'flowsteer_flow_policy';

/**
 * The training model: observation + (x_t, t) -> v. One velocity evaluation per sample, which
 * is what the flow-matching loss needs; the sampler's unrolled graph is built by `export.ts`
 * from the same parameters.
 */
export function flowPolicyModel(cfg: PolicyConfig, dims: PolicyDims) {
  const inputs: Record<string, InputSpec> = {
    ...observationInputSpecs(cfg, dims),
    [POLICY_INPUTS.xT]: f32(cfg.chunkSize, dims.actionDim),
    [POLICY_INPUTS.time]: f32(),
  };
  return defineModel({
    name: POLICY_MODEL_NAME,
    inputs,
    setup: (p) => {
      const net = declarePolicyNetwork(p, cfg, dims);
      // Training-only subgoal head, declared after the network so the exported graphs' parameters are a prefix.
      const sub = cfg.subgoal.weight > 0 ? p.scope(SUBGOAL_SCOPE) : undefined;
      const fc0 = sub && new Linear(sub, 'fc0', { inFeatures: net.featureDim, outFeatures: cfg.subgoal.hidden });
      const fc1 = sub && new Linear(sub, 'fc1', { inFeatures: cfg.subgoal.hidden, outFeatures: dims.actionDim });
      return (t, x) => {
        const features = net.encode(t, observationValues(x, dims));
        const v = net.velocity(t, features, x[POLICY_INPUTS.xT] as Value, x[POLICY_INPUTS.time] as Value);
        // Without the head the model has the `v` output only (the loss then never reads `subgoal`).
        const outputs = fc0 && fc1 ? { v, subgoal: fc1.apply(t, gelu(t, fc0.apply(t, features))) /* (B, A) */ } : { v };
        return outputs as Readonly<Record<'v' | 'subgoal', Value>>;
      };
    },
  });
}

export type FlowPolicyModel = ReturnType<typeof flowPolicyModel>;
