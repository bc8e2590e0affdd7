/**
 * Writes the deterministic synthetic dataset (src/data/synthetic_dataset.ts) as LeRobot v3 to the
 * directory given as the first argument, replacing it if it exists. Input of read_with_pyarrow.py;
 * see README.md beside this file.
 *
 *   node --import tsx bench/compat/make_golden_dataset.ts /tmp/flowsteer-golden
 */
import { writeLeRobotDataset } from '../../src/data/lerobot_writer.ts';
import { SYNTHETIC_SPEC, makeSyntheticEpisodes } from '../../src/data/synthetic_dataset.ts';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node --import tsx bench/compat/make_golden_dataset.ts <output-dir>');
  process.exit(2);
}
const summary = writeLeRobotDataset(dir, SYNTHETIC_SPEC, makeSyntheticEpisodes(), { overwrite: true });
console.log(`wrote ${summary.info.total_episodes} episodes, ${summary.info.total_frames} frames to ${dir}`);
for (const f of summary.files) console.log(`  ${f}`);
