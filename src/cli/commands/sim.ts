import type { Command } from 'commander';
import { SimEnv } from '../../../sim/env.ts';
import { evaluate } from '../../eval/evaluate.ts';
import { expertPolicy, type EpisodePolicy } from '../../eval/episode_policy.ts';
import { UserError } from '../../core/errors.ts';
import { OnnxPolicy } from '../../policy/onnx_policy.ts';
import { assertPolicyFitsEnv, onnxEpisodePolicy } from '../../policy/policy_adapter.ts';
import type { PolicyManifest } from '../../policy/manifest.ts';
import { formatTable, parseIntFlag, runCommand } from '../output.ts';
import { parseQuality } from '../quality.ts';

interface SimOptions {
  task: string;
  policy: string;
  episodes: number;
  seed: number;
  out?: string;
  quality: number;
  size?: number;
  json?: boolean;
  quiet?: boolean;
  nActionSteps?: number;
  temporalEnsemble?: number | true;
  device: string;
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('evaluate a policy in a simulated task: progress, summary table, eval_info.json, PNG strip')
    .requiredOption('--task <name>', 'task name (see `flowsteer tasks`)')
    .option('--policy <expert|dir>', "'expert' (the task's scripted expert) or a policy bundle directory", 'expert')
    .option('--episodes <n>', 'number of episodes', parseIntFlag('--episodes', 1), 10)
    .option('--seed <n>', 'seed of episode 0 (episode i uses seed + i)', parseIntFlag('--seed'), 0)
    .option('--out <dir>', 'write eval_info.json and episode0_<cameras>.png (frames of episode 0, a row per camera) here')
    .option('--quality <q>', 'expert demo quality: clean|good|fair|poor or 0..1', parseQuality, 1)
    .option('--size <px>', 'camera image side (default: the task config)', parseIntFlag('--size', 8))
    .option('--json', 'print eval_info as JSON on stdout')
    .option('--quiet', 'no progress output')
    .option('--n-action-steps <n>', "bundle policies: actions executed per predicted chunk (default: the bundle's execution.n_action_steps, else chunk_size/2)", parseIntFlag('--n-action-steps', 1))
    .option('--temporal-ensemble [m]', 'bundle policies: ACT temporal ensembling, query every step (weights exp(-m*i), m default 0.01)', parseCoeff)
    .option('--device <cpu|cuda>', 'bundle policies: ONNX Runtime execution provider (cuda falls back to cpu with a warning)', 'cpu')
    .action((opts: SimOptions) =>
      runCommand(async () => {
        const bundle = opts.policy === 'expert' ? undefined : await OnnxPolicy.load(opts.policy, { provider: opts.device });
        const config = bundle ? envConfigForBundle(bundle.manifest, opts.size) : opts.size ? { imageSize: opts.size } : {};
        const env = await SimEnv.create({ task: opts.task, render: opts.out !== undefined || bundle !== undefined, config }).catch((err) => {
          bundle?.dispose();
          throw err;
        });
        try {
          const policy = bundle ? bundlePolicy(env, bundle, opts) : makePolicy(env, opts);
          const info = evaluate(env, policy, { episodes: opts.episodes, seed: opts.seed, outDir: opts.out, quiet: opts.quiet || opts.json });
          if (opts.json) return void console.log(JSON.stringify(info, null, 2));
          console.log('');
          console.log(
            formatTable(
              ['episode', 'seed', 'success', 'steps', 'sum reward', 'progress', 'instruction'],
              info.per_episode.map((e) => [e.episode_ix, e.seed, e.success ? 'yes' : 'NO', e.steps, e.sum_reward.toFixed(2), e.final_progress.toFixed(2), e.instruction]),
            ),
          );
          const a = info.aggregated;
          console.log('');
          console.log(`task ${info.task}  policy ${info.policy}`);
          console.log(`success ${a.pc_success.toFixed(1)}% (${info.per_episode.filter((e) => e.success).length}/${info.per_episode.length})  avg sum reward ${a.avg_sum_reward.toFixed(2)}  avg max reward ${a.avg_max_reward.toFixed(2)}  ${a.eval_s.toFixed(1)} s`);
          if (opts.out) console.log(`wrote ${opts.out}/eval_info.json${info.strip_path ? ` and ${info.strip_path}` : ''}`);
        } finally {
          env.dispose();
          bundle?.dispose();
        }
      }),
    );
}

function makePolicy(env: SimEnv, opts: SimOptions): EpisodePolicy {
  if (opts.policy === 'expert') return expertPolicy(env, { quality: opts.quality });
  throw new UserError(`--policy '${opts.policy}': expected 'expert' or a policy bundle directory`);
}

/** A bundle's cameras become the env's; the simulator renders square images of one size. */
function envConfigForBundle(manifest: PolicyManifest, size: number | undefined): { cameras?: string[]; imageSize?: number } {
  if (manifest.cameras.length === 0) return size ? { imageSize: size } : {};
  const sizes = new Set(manifest.cameras.flatMap((c) => [c.height, c.width]));
  const [side] = sizes;
  if (sizes.size !== 1 || side === undefined)
    throw new UserError(`policy '${manifest.name}': cameras ${manifest.cameras.map((c) => `${c.name} ${c.width}x${c.height}`).join(', ')}; the simulator renders square images of one size`);
  if (size !== undefined && size !== side) throw new UserError(`--size ${size} conflicts with policy '${manifest.name}', whose cameras are ${side}x${side}`);
  return { cameras: manifest.cameras.map((c) => c.name), imageSize: side };
}

function bundlePolicy(env: SimEnv, policy: OnnxPolicy, opts: SimOptions): EpisodePolicy {
  assertPolicyFitsEnv(policy.manifest, env);
  if (policy.manifest.fps !== env.fps) console.warn(`warning: policy '${policy.manifest.name}' was trained at ${policy.manifest.fps} Hz; task '${env.taskName}' runs at ${env.fps} Hz`);
  const m = opts.temporalEnsemble === true ? 0.01 : opts.temporalEnsemble;
  return onnxEpisodePolicy(policy, { executor: { nActionSteps: opts.nActionSteps, temporalEnsembleCoeff: m } });
}

function parseCoeff(value: string): number {
  const m = Number(value);
  if (!Number.isFinite(m) || m < 0) throw new UserError(`--temporal-ensemble expects a coefficient >= 0, got '${value}'`);
  return m;
}
