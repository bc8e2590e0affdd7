/**
 * Training-step throughput of the ONNX training engine (src/nn), to compare with NOTES.md
 * ("Training small networks in Node"):
 *   - MLP 64-256-256-16 (ReLU), batch 256, AdamW        NOTES: 236-332 steps/s (ORT), torch 245-343
 *   - policy-shaped model (NOTES_POLICY_SHAPE), B=64    NOTES: 8.9 (1 thread) / 12.3 (2 threads)
 *
 *   node --import tsx bench/nn/train_speed.ts [--threads 1,2] [--worker]
 *
 * Each figure is the median of 5 timed runs after warm-up. The machine is shared, so the
 * line also gives steps per CPU-second of this process (with 1 thread, close to the rate an
 * idle core would reach; with several threads it counts all of them). bench/nn/train_speed_torch.py measures PyTorch on the same shapes.
 */
import { Rng } from '../../src/core/rng.ts';
import { NOTES_POLICY_SHAPE, policyShapedModel } from '../../src/nn/examples/policy_shaped.ts';
import { f32, type BatchData, type InputSpecs } from '../../src/nn/inputs.ts';
import { Linear } from '../../src/nn/layers/linear.ts';
import { defineModel, type Model } from '../../src/nn/model.ts';
import { relu } from '../../src/nn/ops/activations.ts';
import { msePerSample, weightedMean } from '../../src/nn/ops/losses.ts';
import type { TrainStepOptions } from '../../src/nn/train_step.ts';
import { Trainer } from '../../src/nn/trainer.ts';

const args = process.argv.slice(2);
const threadsFlag = args.indexOf('--threads');
const threadList = (threadsFlag >= 0 ? (args[threadsFlag + 1] ?? '1,2') : '1,2').split(',').map(Number);
const useWorker = args.includes('--worker');

const mlp = defineModel({
  name: 'mlp_64_256_256_16',
  inputs: { x: f32(64) },
  setup: (p) => {
    const l1 = new Linear(p, 'l1', { inFeatures: 64, outFeatures: 256 });
    const l2 = new Linear(p, 'l2', { inFeatures: 256, outFeatures: 256 });
    const l3 = new Linear(p, 'l3', { inFeatures: 256, outFeatures: 16 });
    return (t, { x }) => ({ y: l3.apply(t, relu(t, l2.apply(t, relu(t, l1.apply(t, x))))) });
  },
});

/** Random host data for every batch input of a step graph. */
function randomBatch(specs: InputSpecs, batchSize: number, rng: Rng): BatchData {
  const out: Record<string, Float32Array | BigInt64Array> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const n = batchSize * spec.shape.reduce((a, b) => a * b, 1);
    out[name] = spec.dtype === 'int64' ? BigInt64Array.from({ length: n }, () => BigInt(rng.int(16))) : Float32Array.from({ length: n }, () => rng.uniform());
  }
  return out;
}

async function measure<I extends InputSpecs, O extends string>(
  label: string,
  model: Model<I, O>,
  output: O,
  targetShape: number[],
  batchSize: number,
  threads: number,
  stepsPerRun: number,
): Promise<void> {
  const targets = { target: f32(...targetShape), weight: f32() };
  const trainStep: TrainStepOptions<I, O, typeof targets> = {
    batchSize,
    targets,
    loss: (t, out, b) => weightedMean(t, msePerSample(t, out[output], b.target), b.weight),
    optimizer: { lr: 1e-4, weightDecay: 0 },
  };
  const trainer = await Trainer.create(model, {
    trainStep,
    params: model.initParams(new Rng(0)),
    intraOpNumThreads: threads,
    useWorker,
  });
  const batch = randomBatch(trainer.signature.batchInputs, batchSize, new Rng(1));
  for (let i = 0; i < Math.max(3, stepsPerRun / 5); i++) await trainer.step(batch); // warm-up
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < stepsPerRun; i++) await trainer.step(batch);
    const cpu = process.cpuUsage(c0);
    rates.push((stepsPerRun * 1000) / (performance.now() - t0));
    cpuRates.push((stepsPerRun * 1e6) / (cpu.user + cpu.system));
  }
  rates.sort((a, b) => a - b);
  cpuRates.sort((a, b) => a - b);
  const params = (model.paramCount / 1000).toFixed(0);
  console.log(
    `${label.padEnd(34)} B=${String(batchSize).padEnd(4)} threads=${threads}${useWorker ? ' worker' : ''}  ${rates[2]!.toFixed(1).padStart(6)} steps/s  (min ${rates[0]!.toFixed(1)}, max ${rates[4]!.toFixed(1)}; ${cpuRates[2]!.toFixed(1)} steps per CPU-second; ${params}k params)`,
  );
  await trainer.dispose();
}

const policy = policyShapedModel(NOTES_POLICY_SHAPE);
const cfg = NOTES_POLICY_SHAPE;
for (const threads of threadList) {
  await measure('MLP 64-256-256-16', mlp, 'y', [16], 256, threads, 100);
  await measure(`policy-shaped (${cfg.image}x${cfg.image} image)`, policy, 'v', [cfg.chunk, cfg.actionDim], 64, threads, 6);
}
