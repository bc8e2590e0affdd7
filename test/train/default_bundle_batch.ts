import type { Observation } from '../../src/core/observation.ts';
import { Rng } from '../../src/core/rng.ts';
import type { PolicyManifest } from '../../src/policy/manifest.ts';

/**
 * A fixed batch for pinning a bundle's sampled actions (test/train/fixtures/default_policy_actions.json):
 * 4 observations with random states, images and instructions from the bundle's vocabulary, and
 * standard-normal noise, all from seed 2026.
 */
export function defaultBundleBatch(manifest: PolicyManifest, batch = 4): { observations: Observation[]; noise: Float32Array } {
  const rng = new Rng(2026);
  const words = manifest.tokenizer.vocab.slice(2);
  const observations: Observation[] = Array.from({ length: batch }, () => ({
    state: Float32Array.from({ length: manifest.state_dim }, () => 0.3 * rng.normal()),
    task: Array.from({ length: 4 + rng.int(6) }, () => words[rng.int(words.length)]).join(' '),
    images: Object.fromEntries(manifest.cameras.map((c) => [c.name, { height: c.height, width: c.width, rgb: Uint8Array.from({ length: 3 * c.height * c.width }, () => rng.int(256)) }])),
  }));
  const noise = Float32Array.from({ length: batch * manifest.chunk_size * manifest.action_dim }, () => rng.normal());
  return { observations, noise };
}
