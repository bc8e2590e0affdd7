import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxPolicy } from '../../src/policy/onnx_policy.ts';
import { CHECKPOINT_FILE, LOSS_PLOT_FILE, STATE_FILE, train, type TrainState } from '../../src/train/train.ts';
import { recordReachDataset, tempDir, tinyConfig } from './helpers.ts';

const tmp = tempDir();
let data: string;
beforeAll(async () => {
  data = await recordReachDataset(join(tmp.dir, 'reach'), 3);
}, 30_000);
afterAll(() => tmp.cleanup());

const readState = (dir: string): TrainState => JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as TrainState;

describe('flowsteer train (src/train/train.ts)', () => {
  it('the loss falls on 3 reach episodes, and the run ends with a loadable bundle and a loss curve', async () => {
    const out = join(tmp.dir, 'fall');
    const result = await train({ dataDir: data, outDir: out, config: tinyConfig({ steps: 250, valEvery: 50, randomShift: 1 }), quiet: true });
    expect(result.finished).toBe(true);
    const h = result.state.history;
    const first = h[0]!.loss;
    const last = (h.at(-1)!.loss + h.at(-2)!.loss) / 2;
    console.log(`tiny reach run: loss ${first.toFixed(3)} -> ${last.toFixed(3)} over ${result.state.step} steps; val ${JSON.stringify(result.state.val.map((v) => +v.loss.toFixed(3)))}`);
    expect(last).toBeLessThan(0.6 * first);
    expect(result.state.val.length).toBeGreaterThan(0);
    expect(result.state.data.val_episodes).toHaveLength(1);
    for (const f of ['policy.json', 'sample.onnx', 'features.onnx', LOSS_PLOT_FILE, CHECKPOINT_FILE]) expect(existsSync(join(out, f)), f).toBe(true);
    const policy = await OnnxPolicy.load(out);
    expect(policy.manifest.task).toBe('reach');
    expect(policy.manifest.cameras).toEqual([{ name: 'front', height: 16, width: 16 }]);
    policy.dispose();
  }, 30_000);

  it('a killed run resumes from its last checkpoint and ends exactly where an uninterrupted run does', async () => {
    const config = tinyConfig({ steps: 30 });
    const straight = join(tmp.dir, 'straight');
    await train({ dataDir: data, outDir: straight, config, quiet: true });

    const killed = join(tmp.dir, 'killed');
    const stopped = await train({ dataDir: data, outDir: killed, config, quiet: true, stopAfterSteps: 17 });
    expect(stopped.finished).toBe(false);
    // The kill lost steps 11..17: the directory holds the step-10 checkpoint.
    expect(readState(killed).step).toBe(10);
    expect(existsSync(join(killed, 'policy.json'))).toBe(false);
    await expect(train({ dataDir: data, outDir: killed, config, quiet: true })).rejects.toThrow(/already holds a training run.*--resume/);

    const resumed = await train({ dataDir: data, outDir: killed, config, quiet: true, resume: true });
    expect(resumed.finished).toBe(true);
    expect(resumed.state.step).toBe(30);
    const a = readState(straight);
    expect(resumed.state.history.map((p) => p.step)).toEqual(a.history.map((p) => p.step));
    expect(resumed.state.history.map((p) => p.loss)).toEqual(a.history.map((p) => p.loss));
    // Same weights (and EMA) bit for bit: the exported graphs are identical.
    expect(readFileSync(join(killed, 'sample.onnx')).equals(readFileSync(join(straight, 'sample.onnx')))).toBe(true);
    expect(readFileSync(join(killed, CHECKPOINT_FILE)).equals(readFileSync(join(straight, CHECKPOINT_FILE)))).toBe(true);
  }, 40_000);

  it('--resume refuses a different policy config and a directory without a run', async () => {
    const out = join(tmp.dir, 'straight');
    await expect(train({ dataDir: data, outDir: out, config: tinyConfig({ steps: 30, policy: { chunkSize: 8 } }), quiet: true, resume: true })).rejects.toThrow(/policy config differs/);
    await expect(train({ dataDir: data, outDir: join(tmp.dir, 'empty'), config: tinyConfig(), quiet: true, resume: true })).rejects.toThrow(/holds no training run to resume/);
  });

  it('the CLI survives SIGKILL mid-run: --resume continues the step counter from the last checkpoint', async () => {
    const out = join(tmp.dir, 'cli');
    const cfgFile = join(tmp.dir, 'cli.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(cfgFile, JSON.stringify({ ...tinyConfig(), steps: 100000 }));
    const cli = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', '--data', data, '--out', out, '--config', cfgFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const child = cli([]);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const deadline = Date.now() + 25_000;
    while (!(existsSync(join(out, STATE_FILE)) && readState(out).step >= 20) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    const at = readState(out).step;
    expect(at, stderr).toBeGreaterThanOrEqual(20);
    expect(at % 10).toBe(0); // checkpointEvery 10

    const resume = cli(['--resume', '--steps', String(at + 10), '--json']);
    let stdout = '';
    resume.stdout.on('data', (d) => (stdout += String(d)));
    resume.stderr.on('data', (d) => (stderr += String(d)));
    const code = await new Promise((r) => resume.on('exit', r));
    expect(code, stderr).toBe(0);
    const final = JSON.parse(stdout) as TrainState;
    expect(final.step).toBe(at + 10);
    expect(final.finished).toBe(true);
    expect(readState(out).history.at(-1)!.step).toBe(at + 10);
    expect(existsSync(join(out, 'policy.json'))).toBe(true);
  }, 60_000);
});
