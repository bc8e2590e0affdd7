/**
 * Success rate of every task's scripted expert per demo quality level, over seeded episodes.
 * Usage: npm run expert-success -- [--episodes 50] [--tasks pick-place,peg-insert]
 * Prints a markdown table (pasted into RESULTS.md) and writes runs/expert_success.json.
 */
import { parseArgs } from 'node:util';
import { SimEnv } from '../sim/env.ts';
import { TASKS } from '../sim/tasks/index.ts';
import { EXPERT_SCRIPTS } from '../sim/experts/index.ts';
import { QUALITY_LEVELS } from '../sim/experts/scripted_expert.ts';
import { expertPolicy } from '../src/eval/episode_policy.ts';
import { rollout } from '../src/eval/rollout.ts';
import { writeJsonAtomic } from '../src/core/atomic_write.ts';
import { Progress } from '../src/core/progress.ts';

const { values } = parseArgs({ options: { episodes: { type: 'string', default: '50' }, tasks: { type: 'string' }, seed: { type: 'string', default: '1000' } } });
const episodes = Number(values.episodes);
const seed0 = Number(values.seed);
const taskNames = values.tasks ? values.tasks.split(',') : Object.keys(TASKS).filter((t) => t in EXPERT_SCRIPTS);

interface Row {
  task: string;
  quality: string;
  episodes: number;
  successRate: number;
  meanSteps: number;
  flawsPerEpisode: Record<string, number>;
}
const rows: Row[] = [];
for (const task of taskNames) {
  const env = await SimEnv.create({ task, render: false });
  for (const [level, quality] of Object.entries(QUALITY_LEVELS)) {
    const policy = expertPolicy(env, { quality });
    const progress = new Progress({ label: `${task} ${level}`, total: episodes, unit: 'ep' });
    let successes = 0;
    let steps = 0;
    const flaws: Record<string, number> = {};
    for (let i = 0; i < episodes; i++) {
      const r = rollout(env, policy, seed0 + i);
      successes += r.success ? 1 : 0;
      steps += r.steps;
      for (const f of r.episode.flaws) flaws[f.kind] = (flaws[f.kind] ?? 0) + 1 / episodes;
      progress.tick(1, `success ${successes}/${i + 1}`);
    }
    rows.push({ task, quality: `${level} (${quality})`, episodes, successRate: successes / episodes, meanSteps: steps / episodes, flawsPerEpisode: flaws });
  }
  env.dispose();
}
writeJsonAtomic('runs/expert_success.json', rows);
console.log(`\n| task | quality | episodes | success | mean steps | flaws per episode |\n|---|---|---|---|---|---|`);
for (const r of rows) {
  const f = Object.entries(r.flawsPerEpisode).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || '-';
  console.log(`| ${r.task} | ${r.quality} | ${r.episodes} | ${(100 * r.successRate).toFixed(0)}% | ${r.meanSteps.toFixed(0)} | ${f} |`);
}
