import type { Command } from 'commander';
import { UserError } from '../../core/errors.ts';
import { loadTrainConfigFile, parseTrainConfig, type TrainConfig } from '../../train/config.ts';
import { train } from '../../train/train.ts';
import { parseIntFlag, runCommand } from '../output.ts';

interface TrainCliOptions {
  data: string;
  out: string;
  config?: string;
  steps?: number;
  batchSize?: number;
  seed?: number;
  threads?: number;
  device: string;
  resume?: boolean;
  initFrom?: string;
  name?: string;
  json?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a flow-matching policy on a LeRobot v3 dataset and export a policy bundle (policy.json + sample.onnx + features.onnx)')
    .requiredOption('--data <dir>', 'LeRobot v3 dataset directory (e.g. from `flowsteer demos`)')
    .requiredOption('--out <dir>', 'output directory: the bundle, train_state.json, loss.png, checkpoints/')
    .option('--config <file>', 'JSON config (src/train/config.ts: TrainConfigSchema); flags below override it')
    .option('--steps <n>', 'optimisation steps', parseIntFlag('--steps', 1))
    .option('--batch-size <n>', 'batch size', parseIntFlag('--batch-size', 1))
    .option('--seed <n>', 'seed (weights, validation split, batches)', parseIntFlag('--seed'))
    .option('--threads <n>', 'ONNX Runtime intra-op threads', parseIntFlag('--threads', 1))
    .option('--device <cpu|cuda>', "execution provider; 'cuda' falls back to CPU with a notice when unavailable", 'cpu')
    .option('--resume', 'continue the run in --out from its last checkpoint (with --steps at or below it: just export the bundle)')
    .option('--init-from <bundle>', 'fine-tune: start from the weights, normalisation and vocabulary of a bundle written by flowsteer train (same policy config)')
    .option('--name <name>', 'bundle name in policy.json (default: the --out directory name)')
    .option('--json', 'print the final train state as JSON on stdout')
    .action((opts: TrainCliOptions) =>
      runCommand(async () => {
        if (opts.device !== 'cpu' && opts.device !== 'cuda') throw new UserError(`--device must be 'cpu' or 'cuda', got '${opts.device}'`);
        const base: TrainConfig = opts.config ? loadTrainConfigFile(opts.config) : parseTrainConfig({});
        const overrides = {
          ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
          ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        };
        const config = parseTrainConfig({ ...base, ...overrides }, opts.config ?? 'train config');
        const result = await train({ dataDir: opts.data, outDir: opts.out, config, resume: opts.resume ?? false, ...(opts.initFrom ? { initFrom: opts.initFrom } : {}), device: opts.device, quiet: opts.json ?? false, ...(opts.name ? { name: opts.name } : {}) });
        const s = result.state;
        if (opts.json) return void console.log(JSON.stringify({ ...s, history: s.history.length, steps_per_s: result.stepsPerSecond }, null, 2));
        const lastVal = s.val.at(-1);
        console.log(
          `trained ${s.step} steps in ${(s.elapsed_s / 60).toFixed(1)} min (${result.stepsPerSecond > 0 ? `${result.stepsPerSecond.toFixed(2)} steps/s this run` : 'no steps left: exported only'}); ` +
            `final loss ${s.history.at(-1)?.loss.toFixed(4) ?? '-'}${lastVal ? `, val loss ${lastVal.loss.toFixed(4)}, val sampled-action mse ${lastVal.action_mse.toFixed(4)}` : ''}`,
        );
        console.log(`policy bundle: ${opts.out} (evaluate: flowsteer sim --task ${s.data.task ?? '<task>'} --policy ${opts.out})`);
      }),
    );
}
