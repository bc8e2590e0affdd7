import { describe, it, expect } from 'vitest';
import { WordTokenizer } from '../../src/policy/tokenizer.ts';
import { Normalizer } from '../../src/policy/normalize.ts';
import { Rng } from '../../src/core/rng.ts';

const spec = { type: 'word' as const, lowercase: true, vocab: ['<pad>', '<unk>', 'put', 'the', 'red', 'cube', 'in', 'left', 'bin', '2'], max_length: 6 };

describe('WordTokenizer', () => {
  const tok = new WordTokenizer(spec);

  it('lowercases and splits on anything that is not a letter or digit', () => {
    expect(tok.words('Put the RED cube,in the left-bin!')).toEqual(['put', 'the', 'red', 'cube', 'in', 'the', 'left', 'bin']);
    expect(tok.words("  bin_2 ... l'œuf ÉTÉ ")).toEqual(['bin', '2', 'l', 'œuf', 'été']);
    expect(tok.words('')).toEqual([]);
  });

  it('maps unknown words to 1, pads with 0 and masks real tokens', () => {
    const { tokens, mask } = tok.encode(['put the blue cube']);
    expect(Array.from(tokens, Number)).toEqual([2, 3, 1, 5, 0, 0]);
    expect(Array.from(mask)).toEqual([1, 1, 1, 1, 0, 0]);
  });

  it('truncates to max_length and batches row by row', () => {
    const { tokens, mask } = tok.encode(['put the red cube in the left bin', '', 'xyz']);
    expect(Array.from(tokens, Number)).toEqual([2, 3, 4, 5, 6, 3, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(mask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(tokens).toBeInstanceOf(BigInt64Array);
  });

  it('keeps case when lowercase is false', () => {
    expect(new WordTokenizer({ ...spec, lowercase: false }).ids('Put put')).toEqual([1, 2]);
  });
});

describe('Normalizer', () => {
  const rng = new Rng(3);
  const x = Float32Array.from({ length: 3 * 40 }, () => rng.range(-2, 3));

  it.each([
    ['mean_std', { mode: 'mean_std' as const, mean: [0.5, -1, 2], std: [0.3, 2, 0] }],
    ['min_max', { mode: 'min_max' as const, min: [-2, -1, 0], max: [3, 1, 0] }],
    ['identity', { mode: 'identity' as const }],
  ])('%s round trip is within fp32 rounding (zero std / zero range included)', (_, s) => {
    const n = new Normalizer(s, 3, 'observation.state');
    const back = n.unnormalize(n.normalize(x));
    for (let i = 0; i < x.length; i++) {
      // dims with std = 0 / max = min divide by eps: normalised values are huge but finite and invertible
      expect(Math.abs(back[i]! - x[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x[i]!)));
    }
  });

  it('follows the LeRobot formulas on hand-computed values', () => {
    const ms = new Normalizer({ mode: 'mean_std', mean: [1], std: [2] }, 1, 'action');
    expect(ms.normalize([5])[0]).toBeCloseTo(2, 6);
    const mm = new Normalizer({ mode: 'min_max', min: [0], max: [4] }, 1, 'action');
    const y = mm.normalize([0, 1, 4]);
    [-1, -0.5, 1].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 6));
    expect(mm.unnormalize([-1, 0, 1])[1]).toBeCloseTo(2, 6);
  });

  it('rejects arrays that are not whole rows, and stats of the wrong length', () => {
    const n = new Normalizer({ mode: 'identity' }, 3, 'observation.state');
    expect(() => n.normalize([1, 2])).toThrow(/observation\.state: 2 values is not a multiple of its dimension 3/);
    expect(() => new Normalizer({ mode: 'mean_std', mean: [0, 0], std: [1, 1] }, 3, 'action')).toThrow(/normalization\.action\.mean: expected 3 values, got 2/);
  });
});
