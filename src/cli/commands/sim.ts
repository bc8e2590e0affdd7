import type { Command } from 'commander';
import { SimEnv } from '../../../sim/env.ts';
import { evaluate } from '../../eval/evaluate.ts';
import { expertPolicy, type EpisodePolicy } from '../../eval/episode_policy.ts';
import { UserError } from '../../core/errors.ts';
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
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('evaluate a policy in a simulated task: progress, summary table, eval_info.json, PNG strip')
    .requiredOption('--task <name>', 'task name (see `flowsteer tasks`)')
    .option('--policy <expert|dir>', "'expert' (the task's scripted expert) or a policy bundle directory", 'expert')
    .option('--episodes <n>', 'number of episodes', parseIntFlag('--episodes', 1), 10)
    .option('--seed <n>', 'seed of episode 0 (episode i uses seed + i)', parseIntFlag('--seed'), 0)
    .option('--out <dir>', 'write eval_info.json and episode0_<camera>.png here')
    .option('--quality <q>', 'expert demo quality: clean|good|fair|poor or 0..1', parseQuality, 1)
    .option('--size <px>', 'camera image side (default: the task config)', parseIntFlag('--size', 8))
    .option('--json', 'print eval_info as JSON on stdout')
    .option('--quiet', 'no progress output')
    .action((opts: SimOptions) =>
      runCommand(async () => {
        const env = await SimEnv.create({ task: opts.task, render: opts.out !== undefined, config: opts.size ? { imageSize: opts.size } : {} });
        try {
          const policy = makePolicy(env, opts);
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
        }
      }),
    );
}

function makePolicy(env: SimEnv, opts: SimOptions): EpisodePolicy {
  if (opts.policy === 'expert') return expertPolicy(env, { quality: opts.quality });
  throw new UserError(`--policy '${opts.policy}': only 'expert' is available until policy bundles land (issue #3: flow-matching policy)`);
}
