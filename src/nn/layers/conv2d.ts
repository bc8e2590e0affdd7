import { init } from '../init.ts';
import { conv2d, type ConvWeightGrad } from '../ops/conv2d.ts';
import type { ParamRegistry } from '../param_registry.ts';
import type { ParamHandle, Tape, Value } from '../tape.ts';

export interface Conv2dLayerOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  /** @default 1 */
  readonly stride?: number;
  /** @default 0 */
  readonly padding?: number;
  /** @default true */
  readonly bias?: boolean;
  /** @default 'auto' */
  readonly weightGrad?: ConvWeightGrad;
}

/** torch.nn.Conv2d (square kernel, symmetric padding): weight (Cout, Cin, k, k), PyTorch default init. */
export class Conv2d {
  readonly weight: ParamHandle;
  readonly bias: ParamHandle | undefined;
  readonly #options: Conv2dLayerOptions;

  constructor(params: ParamRegistry, name: string, options: Conv2dLayerOptions) {
    const p = params.scope(name);
    const k = options.kernel;
    const bound = init.torchDefault(options.inChannels * k * k);
    this.weight = p.declare('weight', [options.outChannels, options.inChannels, k, k], bound);
    this.bias = options.bias === false ? undefined : p.declare('bias', [options.outChannels], bound);
    this.#options = options;
  }

  apply(t: Tape, x: Value): Value {
    return conv2d(t, x, t.param(this.weight), this.bias ? t.param(this.bias) : undefined, {
      stride: this.#options.stride ?? 1,
      padding: this.#options.padding ?? 0,
      weightGrad: this.#options.weightGrad ?? 'auto',
    });
  }
}
