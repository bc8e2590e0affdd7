/**
 * Re-exports a policy bundle with the current graph export (src/train/export.ts), keeping its
 * weights and manifest: for bundles shipped without a training checkpoint (policies/default),
 * whose weights live only in the graphs' initializers.
 *
 *   node --import tsx scripts/reexport_bundle.ts --bundle policies/default [--out DIR] [--config FILE]
 *
 * Weights: the `params/<name>` initializers of the bundle's graphs (src/train/init_from_bundle.ts;
 * every exported parameter: encoder and head; the training-only subgoal head is never exported). Architecture:
 * `config.policy` of the bundle's train_state.json, or `policy` of --config (a train config).
 * Manifest: name, task, fps, names, normalisation, vocabulary, description, execution and
 * `created` carried over; the rest is rebuilt from the architecture as `flowsteer train` does.
 * Without --out the bundle is rewritten in place (each file atomically).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UserError } from '../src/core/errors.ts';
import type { PolicyManifest } from '../src/policy/manifest.ts';
import { PolicyConfigSchema, loadTrainConfigFile, type PolicyConfig } from '../src/train/config.ts';
import { writePolicyBundle } from '../src/train/export.ts';
import { bundleNormalization, readBundleWeights } from '../src/train/init_from_bundle.ts';
import type { PolicyDims } from '../src/train/model.ts';
import { STATE_FILE } from '../src/train/train.ts';

/** The architecture a bundle was trained with: its train_state.json, or the given train config file. */
export function bundlePolicyConfig(dir: string, configFile?: string): PolicyConfig {
  if (configFile) return loadTrainConfigFile(configFile).policy;
  const statePath = join(dir, STATE_FILE);
  if (!existsSync(statePath)) throw new UserError(`${dir}: no ${STATE_FILE} to read the architecture from; pass --config with the train config it was trained with`);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { config?: { policy?: unknown } };
  return PolicyConfigSchema.parse(state.config?.policy);
}

/** Rewrites the bundle in `dir` into `out` (default: in place) with the current exporter. */
export function reexportBundle(dir: string, options: { readonly out?: string; readonly config?: PolicyConfig } = {}): PolicyManifest {
  const { manifest, params: weights } = readBundleWeights(dir);
  const cfg = options.config ?? bundlePolicyConfig(dir);
  const params = new Map([...weights].map(([name, w]) => [name, w.data]));
  const dims: PolicyDims = { stateDim: manifest.state_dim, actionDim: manifest.action_dim, cameras: manifest.cameras, vocabSize: manifest.tokenizer.vocab.length };
  return writePolicyBundle(options.out ?? dir, cfg, dims, params, {
    name: manifest.name,
    ...(manifest.task ? { task: manifest.task } : {}),
    fps: manifest.fps,
    stateNames: manifest.state_names,
    actionNames: manifest.action_names,
    normalization: bundleNormalization(manifest),
    vocab: manifest.tokenizer.vocab,
    ...(manifest.description ? { description: manifest.description } : {}),
    ...(manifest.execution ? { execution: manifest.execution } : {}),
    created: new Date(manifest.created),
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { bundle: { type: 'string' }, out: { type: 'string' }, config: { type: 'string' } } });
  if (!values.bundle) throw new UserError('usage: scripts/reexport_bundle.ts --bundle DIR [--out DIR] [--config FILE]');
  const cfg = bundlePolicyConfig(values.bundle, values.config);
  const m = reexportBundle(values.bundle, { ...(values.out ? { out: values.out } : {}), config: cfg });
  console.log(`re-exported ${values.bundle} -> ${values.out ?? values.bundle}: ${m.name} (${m.graphs.sample.file}, ${m.graphs.features.file}, policy.json)`);
}
