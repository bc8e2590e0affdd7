import type { Command } from 'commander';
import { join } from 'node:path';
import { SimEnv } from '../../../sim/env.ts';
import { writeRgbPng } from '../../plot/png.ts';
import { depthToRgb, segmentationToRgb } from '../../plot/colormap.ts';
import { writeJsonAtomic } from '../../core/atomic_write.ts';
import { parseIntFlag, runCommand } from '../output.ts';

interface RenderOptions {
  task: string;
  out: string;
  seed: number;
  size: number;
  json?: boolean;
}

export function registerRender(program: Command): void {
  program
    .command('render')
    .description('write every camera of a freshly reset scene as PNG files (RGB, depth, segmentation)')
    .requiredOption('--task <name>', 'task name (see `flowsteer tasks`)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--seed <n>', 'reset seed', parseIntFlag('--seed'), 0)
    .option('--size <px>', 'square image side', parseIntFlag('--size', 8), 128)
    .option('--json', 'print the written files as JSON')
    .action((opts: RenderOptions) =>
      runCommand(async () => {
        const env = await SimEnv.create({ task: opts.task, render: false });
        try {
          const obs = env.reset(opts.seed);
          const written: Array<{ camera: string; rgb: string; depth: string; segmentation: string }> = [];
          for (const camera of env.sim.names('camera')) {
            const frame = env.renderCamera(camera, opts.size, { depth: true });
            const base = join(opts.out, camera.replaceAll('/', '_'));
            const paths = { camera, rgb: `${base}_rgb.png`, depth: `${base}_depth.png`, segmentation: `${base}_segmentation.png` };
            writeRgbPng(paths.rgb, frame);
            writeRgbPng(paths.depth, depthToRgb(frame.depth!, frame.width, frame.height, { near: 0.1, far: 2.0 }));
            writeRgbPng(paths.segmentation, segmentationToRgb(frame.segmentation!, frame.width, frame.height));
            written.push(paths);
          }
          writeJsonAtomic(join(opts.out, 'render_info.json'), { task: opts.task, seed: opts.seed, instruction: obs.task, size: opts.size, files: written });
          if (opts.json) console.log(JSON.stringify({ instruction: obs.task, files: written }, null, 2));
          else {
            console.log(`task: ${opts.task}  seed: ${opts.seed}  instruction: "${obs.task}"`);
            for (const w of written) console.log(`  ${w.camera}: ${w.rgb} (+ depth, segmentation)`);
          }
        } finally {
          env.dispose();
        }
      }),
    );
}
