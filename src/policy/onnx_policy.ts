import * as ort from 'onnxruntime-node';
import type { Observation } from '../core/observation.ts';
import { KEYS, imageKey } from '../core/keys.ts';
import { UserError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { GRAPH_NAMES, loadPolicyBundle, type PolicyBundle, type PolicyManifest } from './manifest.ts';
import type { OrtSessionOptions, ProviderName } from './ort_session.ts';
import { WordTokenizer } from './tokenizer.ts';
import { Normalizer } from './normalize.ts';

export interface OnnxPolicyOptions extends OrtSessionOptions {
  /** Seed of the default noise stream used when `sample` gets no noise. @default 0 */
  noiseSeed?: number;
}

/**
 * A policy bundle (docs/policy-format.md) running on ONNX Runtime.
 *
 * `sample` turns raw observations into raw (unnormalised) action chunks: tokenise, normalise the
 * state, convert images HWC uint8 -> NCHW float / 255, run the sampling graph with the initial
 * noise x_1, unnormalise. Inference is synchronous (see ort_session.ts); `PolicyWorker` runs the
 * same class off the caller's thread.
 */
export class OnnxPolicy {
  readonly manifest: PolicyManifest;
  readonly dir: string;
  /** The execution provider actually used (after any CUDA fallback). */
  readonly provider: ProviderName;
  /** H */
  readonly chunkSize: number;
  /** A */
  readonly actionDim: number;
  /** S */
  readonly stateDim: number;
  /** F */
  readonly featureDim: number;
  readonly #bundle: PolicyBundle;
  readonly #tokenizer: WordTokenizer;
  readonly #state: Normalizer;
  readonly #action: Normalizer;
  #rng: Rng;

  private constructor(bundle: PolicyBundle, noiseSeed: number) {
    const m = bundle.manifest;
    this.#bundle = bundle;
    this.manifest = m;
    this.dir = bundle.dir;
    this.provider = bundle.provider;
    this.chunkSize = m.chunk_size;
    this.actionDim = m.action_dim;
    this.stateDim = m.state_dim;
    this.featureDim = m.graphs.features.dim;
    this.#tokenizer = new WordTokenizer(m.tokenizer);
    this.#state = new Normalizer(m.normalization[KEYS.state], m.state_dim, KEYS.state);
    this.#action = new Normalizer(m.normalization[KEYS.action], m.action_dim, KEYS.action);
    this.#rng = new Rng(noiseSeed);
  }

  /** Loads and validates a bundle directory (errors name the file and field). */
  static async load(dir: string, options: OnnxPolicyOptions = {}): Promise<OnnxPolicy> {
    return new OnnxPolicy(loadPolicyBundle(dir, options), options.noiseSeed ?? 0);
  }

  /** Values per observation in `sample`'s noise and result: H * A. */
  get chunkLength(): number {
    return this.chunkSize * this.actionDim;
  }

  /** Restarts the default noise stream. */
  reseed(seed: number): void {
    this.#rng = new Rng(seed);
  }

  /** Standard-normal initial noise x_1 for `batch` observations, (B, H, A) flat. @default rng: the policy's stream */
  drawNoise(batch: number, rng: Rng = this.#rng): Float32Array {
    const noise = new Float32Array(batch * this.chunkLength);
    for (let i = 0; i < noise.length; i++) noise[i] = rng.normal();
    return noise;
  }

  /**
   * Action chunks for a batch of observations: Float32Array (B * H * A), row-major [b][h][a],
   * unnormalised. `noise` (B * H * A, standard normal) defaults to the seeded stream; the same
   * noise and observations give bit-identical actions.
   */
  sample(observations: readonly Observation[], noise?: Float32Array): Float32Array {
    const B = observations.length;
    const x1 = noise ?? this.drawNoise(B);
    if (x1.length !== B * this.chunkLength)
      throw new UserError(`${this.manifest.name}: noise has ${x1.length} values, expected ${B * this.chunkLength} (B=${B} x H=${this.chunkSize} x A=${this.actionDim})`);
    const feeds = this.#observationFeeds(observations);
    feeds[GRAPH_NAMES.noise] = new ort.Tensor('float32', x1, [B, this.chunkSize, this.actionDim]);
    const out = this.#run('sample', feeds, GRAPH_NAMES.action, [B, this.chunkSize, this.actionDim]);
    return this.#action.unnormalize(out);
  }

  /** Observation embeddings (B * F) from the features graph. */
  features(observations: readonly Observation[]): Float32Array {
    const B = observations.length;
    return Float32Array.from(this.#run('features', this.#observationFeeds(observations), GRAPH_NAMES.features, [B, this.featureDim]));
  }

  dispose(): void {
    this.#bundle.dispose();
  }

  #run(graph: 'sample' | 'features', feeds: Record<string, ort.Tensor>, output: string, dims: number[]): Float32Array {
    const session = this.#bundle[graph];
    const result = session.run(feeds, [output])[output];
    if (!result || result.type !== 'float32') throw new UserError(`${session.file}: output '${output}' missing or not float32`);
    if (result.dims.length !== dims.length || result.dims.some((d, i) => d !== dims[i]))
      throw new UserError(`${session.file}: output '${output}' has shape [${result.dims.join(', ')}], expected [${dims.join(', ')}]`);
    return result.data as Float32Array;
  }

  /** The inputs shared by both graphs: state, images, tokens, mask. */
  #observationFeeds(observations: readonly Observation[]): Record<string, ort.Tensor> {
    const B = observations.length;
    if (B === 0) throw new UserError(`${this.manifest.name}: empty observation batch`);
    const S = this.stateDim;
    const state = new Float32Array(B * S);
    observations.forEach((o, b) => {
      if (o.state.length !== S) throw new UserError(`observation ${b}: state has ${o.state.length} values; policy '${this.manifest.name}' expects ${S} (${this.manifest.state_names.join(', ')})`);
      state.set(o.state, b * S);
    });
    const feeds: Record<string, ort.Tensor> = {
      [KEYS.state]: new ort.Tensor('float32', this.#state.normalize(state, state), [B, S]),
    };
    for (const cam of this.manifest.cameras) feeds[imageKey(cam.name)] = new ort.Tensor('float32', this.#images(observations, cam), [B, 3, cam.height, cam.width]);
    const { tokens, mask } = this.#tokenizer.encode(observations.map((o) => o.task));
    const L = this.#tokenizer.maxLength;
    feeds[GRAPH_NAMES.tokens] = new ort.Tensor('int64', tokens, [B, L]);
    feeds[GRAPH_NAMES.mask] = new ort.Tensor('float32', mask, [B, L]);
    return feeds;
  }

  /** HWC uint8 RGB frames -> (B, 3, H, W) float32 in [0, 1]. */
  #images(observations: readonly Observation[], cam: PolicyManifest['cameras'][number]): Float32Array {
    const { name, height: H, width: W } = cam;
    const plane = H * W;
    const out = new Float32Array(observations.length * 3 * plane);
    observations.forEach((o, b) => {
      const frame = o.images[name];
      if (!frame) throw new UserError(`observation ${b}: no image from camera '${name}' (policy '${this.manifest.name}' needs ${this.manifest.cameras.map((c) => c.name).join(', ')}; got ${Object.keys(o.images).join(', ') || 'none'})`);
      if (frame.height !== H || frame.width !== W || frame.rgb.length !== plane * 3)
        throw new UserError(`observation ${b}: camera '${name}' image is ${frame.width}x${frame.height} (${frame.rgb.length} bytes); policy '${this.manifest.name}' expects ${W}x${H} RGB (width x height)`);
      const rgb = frame.rgb;
      const base = b * 3 * plane;
      for (let p = 0; p < plane; p++) {
        out[base + p] = rgb[3 * p]! / 255;
        out[base + plane + p] = rgb[3 * p + 1]! / 255;
        out[base + 2 * plane + p] = rgb[3 * p + 2]! / 255;
      }
    });
    return out;
  }
}
