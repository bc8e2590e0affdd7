import type { Init } from './init.ts';
import type { ParamHandle } from './tape.ts';

export interface ParamSpec {
  /** Dotted path, unique in the model (`encoder.conv0.weight`). */
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
  /**
   * Whether AdamW's decoupled weight decay applies. Default: matrices and kernels (rank >= 2)
   * decay, biases and norm gains/offsets (rank 1) do not. This differs from
   * `torch.optim.AdamW(model.parameters())`, which decays everything; the rank rule is the
   * common practice (GPT-2/minGPT, timm) and matches torch given two param groups.
   */
  readonly weightDecay: boolean;
}

/** Parameter values by name, in declaration order. */
export type ParamSet = Map<string, Float32Array>;

export interface DeclareOptions {
  /** @default shape.length >= 2 */
  readonly weightDecay?: boolean;
}

/**
 * Collects parameter declarations while a model is set up. Scopes share one list, so
 * `registry.scope('encoder').declare('w', ...)` declares `encoder.w`.
 */
export class ParamRegistry {
  readonly #prefix: string;
  readonly #specs: ParamSpec[];

  constructor(prefix = '', specs: ParamSpec[] = []) {
    this.#prefix = prefix;
    this.#specs = specs;
  }

  declare(name: string, shape: readonly number[], initSpec: Init, options: DeclareOptions = {}): ParamHandle {
    const full = this.#prefix ? `${this.#prefix}.${name}` : name;
    if (this.#specs.some((s) => s.name === full)) throw new Error(`ParamRegistry: parameter '${full}' declared twice`);
    if (shape.some((d) => !Number.isInteger(d) || d <= 0)) throw new Error(`ParamRegistry: parameter '${full}' has invalid shape [${shape}]`);
    this.#specs.push({ name: full, shape: [...shape], init: initSpec, weightDecay: options.weightDecay ?? shape.length >= 2 });
    return { name: full, shape: [...shape] };
  }

  scope(prefix: string): ParamRegistry {
    return new ParamRegistry(this.#prefix ? `${this.#prefix}.${prefix}` : prefix, this.#specs);
  }

  get specs(): readonly ParamSpec[] {
    return this.#specs;
  }
}

/** Throws unless `params` has exactly the declared names with the right sizes; `where` names the source (file, call). */
export function checkParamSet(
  specs: readonly { readonly name: string; readonly shape: readonly number[] }[],
  params: ReadonlyMap<string, Float32Array>,
  where: string,
): void {
  for (const s of specs) {
    const v = params.get(s.name);
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (!v) throw new Error(`${where}: parameter '${s.name}' is missing`);
    if (v.length !== size) throw new Error(`${where}: parameter '${s.name}' has ${v.length} values, shape [${s.shape}] needs ${size}`);
  }
  for (const name of params.keys()) {
    if (!specs.some((s) => s.name === name)) throw new Error(`${where}: unknown parameter '${name}'`);
  }
}
