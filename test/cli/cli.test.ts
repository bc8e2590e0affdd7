import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalInfoSchema } from '../../src/eval/evaluate.ts';
import { readLeRobotDataset } from '../../src/data/lerobot_reader.ts';
import { decodePngToRgb } from '../../src/plot/png.ts';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const run = (args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8' });

describe('flowsteer CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowsteer-cli-'));
  });

  it('sim --json writes a valid eval_info.json and a frame strip', () => {
    const out = join(dir, 'eval');
    const stdout = execFileSync(process.execPath, [...CLI, 'sim', '--task', 'reach', '--episodes', '3', '--seed', '5', '--out', out, '--json'], { encoding: 'utf8' });
    const printed = EvalInfoSchema.parse(JSON.parse(stdout));
    const written = EvalInfoSchema.parse(JSON.parse(readFileSync(join(out, 'eval_info.json'), 'utf8')));
    expect(written.per_episode.map((e) => e.seed)).toEqual([5, 6, 7]);
    expect(printed.aggregated.pc_success).toBe(written.aggregated.pc_success);
    expect(written.aggregated.pc_success).toBe(100);
    const strip = decodePngToRgb(readFileSync(written.strip_path!));
    expect(strip.width).toBeGreaterThan(strip.height * 5); // a strip of several frames side by side
  });

  it('the strip has one row of frames per camera (pick-place: front and wrist)', () => {
    const out = join(dir, 'eval-pp');
    const stdout = execFileSync(process.execPath, [...CLI, 'sim', '--task', 'pick-place', '--episodes', '1', '--size', '16', '--out', out, '--json'], { encoding: 'utf8' });
    const info = EvalInfoSchema.parse(JSON.parse(stdout));
    expect(info.strip_path).toBe(join(out, 'episode0_front_wrist.png'));
    const strip = decodePngToRgb(readFileSync(info.strip_path!));
    // 10 frames of 16 px scaled x2 with 2 px separators: 10 * 32 + 9 * 2 wide, 2 * 32 + 2 high.
    expect([strip.width, strip.height]).toEqual([338, 66]);
  });

  it('demos records a LeRobot dataset whose episodes carry the flaw labels', async () => {
    const out = join(dir, 'demos');
    const r = run(['demos', '--task', 'reach', '--episodes', '3', '--quality', '0.2', '--seed', '1', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.episodesRecorded).toBe(3);
    const ds = await readLeRobotDataset(out);
    expect(ds.episodes).toHaveLength(3);
    expect(ds.info.fps).toBe(20);
    const labelled = ds.episodes.flatMap((e) => e.flaws);
    const total = Object.values(summary.flaws as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(labelled.length).toBe(total);
    for (const e of ds.episodes) for (const f of e.flaws) expect(f.end).toBeLessThanOrEqual(e.frames.length);
  });

  it('demos refuses to overwrite an existing dataset', () => {
    const out = join(dir, 'demos');
    const r = run(['demos', '--task', 'reach', '--episodes', '1', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/exists|not empty|overwrite/i);
  });

  it('render writes RGB, depth and segmentation PNGs for every camera', () => {
    const out = join(dir, 'render');
    const r = run(['render', '--task', 'reach', '--out', out, '--size', '32', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { files: Array<{ rgb: string; depth: string; segmentation: string }> };
    expect(info.files.length).toBeGreaterThanOrEqual(2);
    for (const f of info.files) for (const p of [f.rgb, f.depth, f.segmentation]) expect(existsSync(p)).toBe(true);
    expect(decodePngToRgb(readFileSync(info.files[0]!.rgb)).width).toBe(32);
  });

  it.each([
    [['sim', '--task', 'no-such-task'], /unknown task 'no-such-task'; available tasks: .*reach/],
    [['sim', '--task', 'reach', '--episodes', 'x'], /--episodes expects an integer/],
    [['demos', '--task', 'reach', '--out', '/tmp/x', '--quality', 'great'], /--quality expects one of clean, good, fair, poor/],
  ])('bad input %j gives a clear error', (args, message) => {
    const r = run(args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});
