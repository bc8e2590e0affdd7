/**
 * `npm run bench`: every benchmark in turn, each printing its figures next to a reference
 * measured in the same run (native MuJoCo, PyTorch; see each script). The combined output is
 * saved to bench/results/latest.md; BENCHMARKS.md quotes it with ranges over several runs.
 *   npm run bench -- [--only sim,nn]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src/core/atomic_write.ts';

interface Bench {
  name: string;
  what: string;
  /** TypeScript script + args (run with tsx), or a Python reference run in the .venv-ref venv. */
  command: string[];
  python?: boolean;
}

const BENCHES: Bench[] = [
  { name: 'sim', what: 'simulator steps/s (single, vectorised) and camera images/s vs native MuJoCo 3.14', command: ['bench/sim_speed.ts'] },
  { name: 'nn', what: 'training steps/s of the ONNX training engine', command: ['bench/nn/train_speed.ts', '--threads', '1'] },
  { name: 'nn-torch', what: 'the same shapes in PyTorch 2.13 CPU (reference)', command: ['bench/nn/train_speed_torch.py', '--threads', '1'], python: true },
  { name: 'policy', what: 'default policy: sampling latency (B=1, 64) and training steps/s vs the same architecture and weights in PyTorch 2.13 CPU (spawned by the script)', command: ['bench/policy_speed.ts'] },
];

const VENV_PYTHON = '.venv-ref/bin/python';

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only?.split(',');
const sections: string[] = [`# Benchmark run ${new Date().toISOString()}`];
let failed = 0;
for (const bench of BENCHES.filter((b) => !only || only.includes(b.name))) {
  console.log(`\n=== ${bench.name}: ${bench.what}`);
  if (bench.python && !existsSync(VENV_PYTHON)) spawnSync('bash', ['bench/setup_venv.sh'], { stdio: 'inherit' });
  const [exe, args] = bench.python ? [VENV_PYTHON, bench.command] : [process.execPath, ['--import', 'tsx', ...bench.command]];
  const r = spawnSync(exe, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) failed++;
  sections.push(`## ${bench.name}: ${bench.what}\n\n\`${bench.python ? VENV_PYTHON : 'node --import tsx'} ${bench.command.join(' ')}\` (exit ${r.status})\n\n${r.stdout ?? ''}`);
}
writeFileAtomic('bench/results/latest.md', sections.join('\n\n') + '\n');
console.log('\nwrote bench/results/latest.md');
process.exit(failed ? 1 : 0);
