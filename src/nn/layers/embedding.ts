import { init } from '../init.ts';
import { embedding } from '../ops/embedding.ts';
import type { ParamRegistry } from '../param_registry.ts';
import type { ParamHandle, Tape, Value } from '../tape.ts';

/** torch.nn.Embedding: table (V, D) initialised N(0, 1). */
export class Embedding {
  readonly table: ParamHandle;

  constructor(params: ParamRegistry, name: string, options: { readonly vocabSize: number; readonly dim: number }) {
    this.table = params.scope(name).declare('weight', [options.vocabSize, options.dim], init.normal(1));
  }

  apply(t: Tape, indices: Value): Value {
    return embedding(t, t.param(this.table), indices);
  }
}
