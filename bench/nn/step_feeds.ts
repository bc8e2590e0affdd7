import * as ort from 'onnxruntime-node';
import type { Rng } from '../../src/core/rng.ts';
import type { ParamSet, ParamSpec, TrainStepGraph } from '../../src/nn/index.ts';
import { trainStepIO } from '../../src/nn/train_step_io.ts';

export interface StepFeedOptions {
  /** Token ids are drawn from [0, vocabSize). */
  readonly vocabSize: number;
  /** Adam step number fed in (1-based). */
  readonly step: number;
  readonly lr: number;
  /** Adam moments: zeros (a first step) or small values derived from the weights (a later step). */
  readonly moments: 'zero' | 'from-weights';
}

/** Random batch inputs (uniform floats, random token ids) plus weights and moments: everything a step graph takes, for profilers. */
export function randomStepFeeds(graph: TrainStepGraph, specs: readonly ParamSpec[], params: ParamSet, rng: Rng, options: StepFeedOptions): Record<string, ort.Tensor> {
  const B = graph.signature.batchSize;
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, spec] of Object.entries(graph.signature.batchInputs)) {
    const n = B * spec.shape.reduce((a, b) => a * b, 1);
    feeds[name] =
      spec.dtype === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(rng.int(options.vocabSize))), [B, ...spec.shape])
        : new ort.Tensor('float32', Float32Array.from({ length: n }, () => rng.uniform()), [B, ...spec.shape]);
  }
  for (const s of specs) {
    const p = params.get(s.name) as Float32Array;
    const zero = options.moments === 'zero';
    feeds[trainStepIO.param(s.name)] = new ort.Tensor('float32', p, [...s.shape]);
    feeds[trainStepIO.adamM(s.name)] = new ort.Tensor('float32', zero ? new Float32Array(p.length) : Float32Array.from(p, (x) => 0.01 * x), [...s.shape]);
    feeds[trainStepIO.adamV(s.name)] = new ort.Tensor('float32', zero ? new Float32Array(p.length) : Float32Array.from(p, (x) => 1e-4 * x * x), [...s.shape]);
  }
  feeds[trainStepIO.step] = new ort.Tensor('float32', new Float32Array([options.step]), []);
  feeds[trainStepIO.lr] = new ort.Tensor('float32', new Float32Array([options.lr]), []);
  return feeds;
}
