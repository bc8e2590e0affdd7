import * as ort from 'onnxruntime-node';
import type { Observation } from '../core/observation.ts';
import { KEYS, imageKey } from '../core/keys.ts';
import { UserError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { GRAPH_NAMES, loadPolicyBundle, type PolicyBundle, type PolicyManifest } from './manifest.ts';
import type { OrtSessionOptions, ProviderName } from './ort_session.ts';
import { WordTokenizer } from './tokenizer.ts';
import { Normalizer } from './normalize.ts';

/** uint8 -> float32 in [0, 1]: `BYTE_TO_UNIT[v]` is exactly the float32 rounding of v / 255 (bit-identical to dividing). */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * One HWC uint8 RGB frame -> three planes of `out` from `r0` (R, G, B, `plane` values each), / 255.
 *
 * Hand-written because this runs on every policy call; one 64x64 camera at B = 64, Node 20
 * (medians of 50): dividing into a fresh array 2.4 ms (a fresh 3 MB Float32Array alone costs ~1.2 ms
 * of zero-filling), table lookups into a reused buffer 1.35 ms, the same reading the frame as
 * little-endian 32-bit words (4 pixels = 3 words, a quarter of the loads) 0.6 ms. Frames whose
 * bytes are not 4-aligned take the byte loop.
 */
function hwcToPlanar(rgb: Uint8Array, out: Float32Array, r0: number, plane: number): void {
  const g0 = r0 + plane;
  const b0 = g0 + plane;
  const lut = BYTE_TO_UNIT;
  if (rgb.byteOffset % 4 === 0 && plane % 4 === 0 && LITTLE_ENDIAN) {
    const w = new Uint32Array(rgb.buffer, rgb.byteOffset, (3 * plane) / 4);
    for (let p = 0, q = 0; p < plane; p += 4, q += 3) {
      const x = w[q]!;
      const y = w[q + 1]!;
      const z = w[q + 2]!; // bytes r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3
      out[r0 + p] = lut[x & 255]!;
      out[g0 + p] = lut[(x >>> 8) & 255]!;
      out[b0 + p] = lut[(x >>> 16) & 255]!;
      out[r0 + p + 1] = lut[x >>> 24]!;
      out[g0 + p + 1] = lut[y & 255]!;
      out[b0 + p + 1] = lut[(y >>> 8) & 255]!;
      out[r0 + p + 2] = lut[(y >>> 16) & 255]!;
      out[g0 + p + 2] = lut[y >>> 24]!;
      out[b0 + p + 2] = lut[z & 255]!;
      out[r0 + p + 3] = lut[(z >>> 8) & 255]!;
      out[g0 + p + 3] = lut[(z >>> 16) & 255]!;
      out[b0 + p + 3] = lut[z >>> 24]!;
    }
    return;
  }
  for (let p = 0, q = 0; p < plane; p++, q += 3) {
    out[r0 + p] = lut[rgb[q]!]!;
    out[g0 + p] = lut[rgb[q + 1]!]!;
    out[b0 + p] = lut[rgb[q + 2]!]!;
  }
}

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
  /**
   * Per camera, the NCHW float buffer of the last batch, reused while the batch size stays the
   * same. Safe because inference is synchronous: ONNX Runtime has read the feed before `sample`
   * or `features` returns, and the buffer never leaves this object.
   */
  readonly #imageBuffers = new Map<string, Float32Array>();

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

  /** HWC uint8 RGB frames -> (B, 3, H, W) float32 in [0, 1], into the camera's reused buffer. */
  #images(observations: readonly Observation[], cam: PolicyManifest['cameras'][number]): Float32Array {
    const { name, height: H, width: W } = cam;
    const plane = H * W;
    const size = observations.length * 3 * plane;
    let out = this.#imageBuffers.get(name);
    if (out?.length !== size) {
      out = new Float32Array(size);
      this.#imageBuffers.set(name, out);
    }
    for (let b = 0; b < observations.length; b++) {
      const frame = observations[b]!.images[name];
      if (!frame) throw new UserError(`observation ${b}: no image from camera '${name}' (policy '${this.manifest.name}' needs ${this.manifest.cameras.map((c) => c.name).join(', ')}; got ${Object.keys(observations[b]!.images).join(', ') || 'none'})`);
      if (frame.height !== H || frame.width !== W || frame.rgb.length !== plane * 3)
        throw new UserError(`observation ${b}: camera '${name}' image is ${frame.width}x${frame.height} (${frame.rgb.length} bytes); policy '${this.manifest.name}' expects ${W}x${H} RGB (width x height)`);
      hwcToPlanar(frame.rgb, out, b * 3 * plane, plane);
    }
    return out;
  }
}
