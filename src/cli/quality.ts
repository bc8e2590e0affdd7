import { UserError } from '../core/errors.ts';
import { QUALITY_LEVELS } from '../../sim/experts/scripted_expert.ts';

/** `--quality clean|good|fair|poor` or a number in [0, 1] (1 = clean). */
export function parseQuality(value: string): number {
  if (value in QUALITY_LEVELS) return QUALITY_LEVELS[value as keyof typeof QUALITY_LEVELS];
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new UserError(`--quality expects one of ${Object.keys(QUALITY_LEVELS).join(', ')} or a number in [0, 1], got '${value}'`);
  return n;
}
