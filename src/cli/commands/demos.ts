import type { Command } from 'commander';
import { SimEnv } from '../../../sim/env.ts';
import { expertPolicy } from '../../eval/episode_policy.ts';
import { rollout } from '../../eval/rollout.ts';
import { DatasetRecorder } from '../../data/dataset_recorder.ts';
import { Progress } from '../../core/progress.ts';
import { FLAW_KINDS } from '../../core/episode.ts';
import { formatTable, parseIntFlag, runCommand } from '../output.ts';
import { parseQuality } from '../quality.ts';

interface DemosOptions {
  task: string;
  episodes: number;
  quality: number;
  out: string;
  seed: number;
  size?: number;
  keepFailures?: boolean;
  overwrite?: boolean;
  json?: boolean;
}

export function registerDemos(program: Command): void {
  program
    .command('demos')
    .description("record scripted-expert demonstrations into a LeRobot v3 dataset (flaw and retry labels in the episode metadata)")
    .requiredOption('--task <name>', 'task name (see `flowsteer tasks`)')
    .requiredOption('--out <dir>', 'dataset directory (must not exist or be empty, unless --overwrite)')
    .option('--episodes <n>', 'number of episodes to record', parseIntFlag('--episodes', 1), 50)
    .option('--quality <q>', 'clean|good|fair|poor or 0..1 (1 = clean; lower injects teleoperation flaws)', parseQuality, 1)
    .option('--seed <n>', 'seed of episode 0 (episode i uses seed + i)', parseIntFlag('--seed'), 0)
    .option('--size <px>', 'camera image side (default: the task config)', parseIntFlag('--size', 8))
    .option('--keep-failures', 'also record episodes the expert failed (flagged success=false)')
    .option('--overwrite', 'replace an existing dataset at --out')
    .option('--json', 'print the summary as JSON')
    .action((opts: DemosOptions) =>
      runCommand(async () => {
        const env = await SimEnv.create({ task: opts.task, render: true, config: opts.size ? { imageSize: opts.size } : {} });
        try {
          const size = env.config.imageSize;
          const recorder = new DatasetRecorder(
            opts.out,
            { fps: env.fps, robotType: `flowsteer-fs6${env.ctx.arms.length > 1 ? '-bimanual' : ''}`, stateNames: env.stateNames, actionNames: env.actionNames, cameras: env.cameras.map((name) => ({ name, height: size, width: size })) },
            { overwrite: opts.overwrite ?? false },
          );
          const policy = expertPolicy(env, { quality: opts.quality });
          const progress = new Progress({ label: `demos ${opts.task}`, total: opts.episodes, unit: 'ep', silent: opts.json });
          const flawCounts = Object.fromEntries(FLAW_KINDS.map((k) => [k, 0])) as Record<string, number>;
          let successes = 0;
          let frames = 0;
          let skipped = 0;
          for (let i = 0; i < opts.episodes; i++) {
            const r = rollout(env, policy, opts.seed + i, { record: true });
            if (r.success) successes++;
            if (r.success || opts.keepFailures) {
              recorder.addEpisode(r.episode);
              frames += r.steps;
              for (const f of r.episode.flaws) flawCounts[f.kind] = (flawCounts[f.kind] ?? 0) + 1;
            } else skipped++;
            progress.tick(1, `success ${successes}/${i + 1}`);
          }
          const summary = await recorder.close();
          const result = {
            dir: opts.out,
            task: opts.task,
            quality: opts.quality,
            episodesRun: opts.episodes,
            episodesRecorded: recorder.numEpisodes,
            expertSuccessRate: successes / opts.episodes,
            skippedFailures: skipped,
            frames,
            flaws: flawCounts,
            files: summary.files.length,
          };
          if (opts.json) return void console.log(JSON.stringify(result, null, 2));
          console.log('');
          console.log(formatTable(['flaw', 'count'], Object.entries(flawCounts).map(([k, v]) => [k, v])));
          console.log('');
          console.log(`recorded ${result.episodesRecorded}/${opts.episodes} episodes (${frames} frames) of '${opts.task}' at quality ${opts.quality} into ${opts.out}`);
          console.log(`expert success ${(100 * result.expertSuccessRate).toFixed(1)}%${skipped ? `; ${skipped} failed episodes not recorded (use --keep-failures)` : ''}`);
        } finally {
          env.dispose();
        }
      }),
    );
}
