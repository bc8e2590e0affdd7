import { PAD_ID, UNK_ID, type PolicyManifest } from './manifest.ts';

export type TokenizerSpec = PolicyManifest['tokenizer'];

/** Token ids and mask of a batch of instructions: (B, L) each, row-major. */
export interface EncodedBatch {
  tokens: BigInt64Array;
  mask: Float32Array;
}

/** Runs of characters that are not Unicode letters or digits separate words. */
const SEPARATOR = /[^\p{L}\p{N}]+/u;

/**
 * The bundle's word tokenizer (docs/policy-format.md, "Tokenizer"): lowercase, split on
 * non-alphanumerics, unknown words -> 1, pad with 0 / truncate to L, mask 1 for real tokens.
 */
export class WordTokenizer {
  readonly maxLength: number;
  readonly #lowercase: boolean;
  readonly #ids: ReadonlyMap<string, number>;

  constructor(spec: TokenizerSpec) {
    this.maxLength = spec.max_length;
    this.#lowercase = spec.lowercase;
    this.#ids = new Map(spec.vocab.map((w, i) => [w, i]));
  }

  /** The words of `text` before id lookup. */
  words(text: string): string[] {
    return (this.#lowercase ? text.toLowerCase() : text).split(SEPARATOR).filter((w) => w.length > 0);
  }

  /** Ids of the words of `text` (unknown -> 1), not padded or truncated. */
  ids(text: string): number[] {
    return this.words(text).map((w) => this.#ids.get(w) ?? UNK_ID);
  }

  /** (B, L) token ids (int64) and mask (float32) for a batch of instructions. */
  encode(texts: readonly string[]): EncodedBatch {
    const L = this.maxLength;
    const tokens = new BigInt64Array(texts.length * L).fill(BigInt(PAD_ID));
    const mask = new Float32Array(texts.length * L);
    texts.forEach((text, b) => {
      const ids = this.ids(text).slice(0, L);
      ids.forEach((id, i) => {
        tokens[b * L + i] = BigInt(id);
        mask[b * L + i] = 1;
      });
    });
    return { tokens, mask };
  }
}
