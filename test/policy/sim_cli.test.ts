import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalInfoSchema } from '../../src/eval/evaluate.ts';

/**
 * `flowsteer sim --policy <bundle>` end to end with the PyTorch-exported reach-shaped fixture
 * (state 7, action 7, camera front 64x64). Its weights are random, so success is not expected:
 * only that it runs, writes eval_info.json, and refuses a bundle that does not fit the task.
 */
const FIXTURE = 'test/policy/fixtures/torch_policy';
const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sim', ...args], { encoding: 'utf8' });

describe('flowsteer sim --policy <bundle>', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowsteer-policy-cli-'));

  it('runs a bundle on reach and writes eval_info.json and a strip', () => {
    const out = join(dir, 'eval');
    const r = run(['--task', 'reach', '--policy', FIXTURE, '--episodes', '2', '--seed', '3', '--out', out, '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const info = EvalInfoSchema.parse(JSON.parse(readFileSync(join(out, 'eval_info.json'), 'utf8')));
    expect(info.policy).toBe('onnx(torch_fixture_reach, n=8/16)');
    expect(info.per_episode.map((e) => e.seed)).toEqual([3, 4]);
    expect(info.per_episode.every((e) => e.steps > 0)).toBe(true);
    expect(existsSync(join(out, 'episode0_front.png'))).toBe(true);
    expect(r.stdout).toMatch(/task reach {2}policy onnx\(torch_fixture_reach/);
  });

  it('is reproducible per seed, and takes --temporal-ensemble, --n-action-steps and --device cuda (falling back)', () => {
    const a = run(['--task', 'reach', '--policy', FIXTURE, '--episodes', '1', '--json', '--n-action-steps', '4']);
    const b = run(['--task', 'reach', '--policy', FIXTURE, '--episodes', '1', '--json', '--n-action-steps', '4', '--device', 'cuda']);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    const ia = EvalInfoSchema.parse(JSON.parse(a.stdout));
    const ib = EvalInfoSchema.parse(JSON.parse(b.stdout));
    expect(ia.policy).toBe('onnx(torch_fixture_reach, n=4/16)');
    expect(ib.per_episode[0]!.sum_reward).toBe(ia.per_episode[0]!.sum_reward);
    if (!/running on CPU/.test(b.stderr)) console.log('note: the CUDA provider is installed here; no fallback message expected');
    else expect(b.stderr).toMatch(/\[flowsteer policy\] CUDA execution provider unavailable .*; running on CPU/);
    const te = run(['--task', 'reach', '--policy', FIXTURE, '--episodes', '1', '--json', '--temporal-ensemble']);
    expect(te.status, te.stderr).toBe(0);
    expect(EvalInfoSchema.parse(JSON.parse(te.stdout)).policy).toBe('onnx(torch_fixture_reach, temporal-ensemble m=0.01)');
  });

  it('gives clear errors: dimension mismatch, bad executor flags, size conflict, not a bundle directory', () => {
    const lift = run(['--task', 'bimanual-lift', '--policy', FIXTURE, '--episodes', '1']);
    expect(lift.status).toBe(2);
    expect(lift.stderr).toMatch(/error: policy 'torch_fixture_reach' on task 'bimanual-lift': the policy's state has 7 values .* the task's has 14/);

    const flags = run(['--task', 'reach', '--policy', FIXTURE, '--episodes', '1', '--temporal-ensemble', '--n-action-steps', '4']);
    expect(flags.status).toBe(2);
    expect(flags.stderr).toMatch(/nActionSteps: temporal ensembling queries every step/);

    const size = run(['--task', 'reach', '--policy', FIXTURE, '--episodes', '1', '--size', '32']);
    expect(size.status).toBe(2);
    expect(size.stderr).toMatch(/--size 32 conflicts with policy 'torch_fixture_reach', whose cameras are 64x64/);

    const none = run(['--task', 'reach', '--policy', join(dir, 'missing'), '--episodes', '1']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/not a directory/);
  });
});
