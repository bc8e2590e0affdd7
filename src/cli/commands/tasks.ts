import type { Command } from 'commander';
import { TASKS } from '../../../sim/tasks/index.ts';
import { EXPERT_SCRIPTS } from '../../../sim/experts/index.ts';
import { formatTable, runCommand } from '../output.ts';

export function registerTasks(program: Command): void {
  program
    .command('tasks')
    .description('list the simulated tasks')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) =>
      runCommand(() => {
        const rows = Object.values(TASKS).map((t) => ({
          name: t.name,
          arms: t.armPrefixes.length,
          cameras: t.defaultConfig.cameras,
          maxSteps: t.defaultConfig.maxSteps,
          fps: t.defaultConfig.controlHz,
          expert: t.name in EXPERT_SCRIPTS,
          description: t.description,
          example: t.instructionExamples[0] ?? '',
        }));
        if (opts.json) return void console.log(JSON.stringify(rows, null, 2));
        console.log(formatTable(['task', 'arms', 'max steps', 'expert', 'description'], rows.map((r) => [r.name, r.arms, r.maxSteps, r.expert ? 'yes' : 'no', r.description])));
      }),
    );
}
