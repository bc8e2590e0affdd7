import { init } from '../init.ts';
import { layerNorm } from '../ops/layer_norm.ts';
import type { ParamRegistry } from '../param_registry.ts';
import type { ParamHandle, Tape, Value } from '../tape.ts';

/** torch.nn.LayerNorm(dim) over the last axis: weight ones, bias zeros, eps 1e-5. */
export class LayerNorm {
  readonly weight: ParamHandle;
  readonly bias: ParamHandle;
  readonly #eps: number;

  constructor(params: ParamRegistry, name: string, options: { readonly dim: number; /** @default 1e-5 */ readonly eps?: number }) {
    const p = params.scope(name);
    this.weight = p.declare('weight', [options.dim], init.ones());
    this.bias = p.declare('bias', [options.dim], init.zeros());
    this.#eps = options.eps ?? 1e-5;
  }

  apply(t: Tape, x: Value): Value {
    return layerNorm(t, x, t.param(this.weight), t.param(this.bias), this.#eps);
  }
}
