import type { ParamSet } from './param_registry.ts';

/** Everything a training run carries from step to step. */
export interface TrainState {
  /** Number of optimizer updates performed so far. */
  readonly step: number;
  readonly params: ParamSet;
  /** AdamW first moments, by parameter name. */
  readonly m: ParamSet;
  /** AdamW second moments, by parameter name. */
  readonly v: ParamSet;
}

/** Fresh optimizer state (zero moments, step 0) around copies of `params`. */
export function initialTrainState(params: ReadonlyMap<string, Float32Array>): TrainState {
  const copy = (f: (a: Float32Array) => Float32Array): ParamSet => new Map([...params].map(([k, a]) => [k, f(a)]));
  return { step: 0, params: copy((a) => a.slice()), m: copy((a) => new Float32Array(a.length)), v: copy((a) => new Float32Array(a.length)) };
}

/** A deep copy (callers never share buffers with a running trainer). */
export function cloneTrainState(s: TrainState): TrainState {
  const copy = (set: ParamSet): ParamSet => new Map([...set].map(([k, a]) => [k, a.slice()]));
  return { step: s.step, params: copy(s.params), m: copy(s.m), v: copy(s.v) };
}
