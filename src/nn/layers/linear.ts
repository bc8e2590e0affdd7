import { init } from '../init.ts';
import { linear } from '../ops/linear.ts';
import type { ParamRegistry } from '../param_registry.ts';
import type { ParamHandle, Tape, Value } from '../tape.ts';

export interface LinearOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** @default true */
  readonly bias?: boolean;
}

/** torch.nn.Linear: weight (out, in), bias (out), PyTorch default init. */
export class Linear {
  readonly weight: ParamHandle;
  readonly bias: ParamHandle | undefined;

  constructor(params: ParamRegistry, name: string, options: LinearOptions) {
    const p = params.scope(name);
    const bound = init.torchDefault(options.inFeatures);
    this.weight = p.declare('weight', [options.outFeatures, options.inFeatures], bound);
    this.bias = options.bias === false ? undefined : p.declare('bias', [options.outFeatures], bound);
  }

  apply(t: Tape, x: Value): Value {
    return linear(t, x, t.param(this.weight), this.bias ? t.param(this.bias) : undefined);
  }
}
