/**
 * Conv2d weight-gradient forms side by side, per layer shape of the default policy's encoder
 * (B = 64, one thread): each form is its own ONNX graph (x, g -> dW), all timed interleaved
 * call by call, and checked equal to the first.
 *
 *   node --import tsx bench/nn/conv_grad_variants.ts [--calls N]
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/core/rng.ts';
import { GraphBuilder } from '../../src/nn/onnx_builder.ts';
import { convOutputSize, conv2dWeightGradForms, type ConvWeightGrad } from '../../src/nn/ops/conv2d.ts';
import { Tape } from '../../src/nn/tape.ts';

const { values: flags } = parseArgs({ options: { calls: { type: 'string', default: '20' }, forms: { type: 'string' } } });
const CALLS = Number(flags.calls);
const B = 64;
const LAYERS = [
  { name: 'conv0 3->16 s2 64x64', cin: 3, cout: 16, hw: 64, s: 2 },
  { name: 'conv1 16->32 s2 32x32', cin: 16, cout: 32, hw: 32, s: 2 },
  { name: 'conv2 32->32 s2 16x16', cin: 32, cout: 32, hw: 16, s: 2 },
  { name: 'conv3 32->32 s1 8x8', cin: 32, cout: 32, hw: 8, s: 1 },
];
const forms = (flags.forms?.split(',') ?? Object.keys(conv2dWeightGradForms)) as Exclude<ConvWeightGrad, 'auto'>[];

for (const L of LAYERS) {
  const k = 3;
  const p = 1;
  const ho = convOutputSize(L.hw, k, L.s, p);
  const rng = new Rng(1);
  const x = new ort.Tensor('float32', Float32Array.from({ length: B * L.cin * L.hw * L.hw }, () => rng.normal()), [B, L.cin, L.hw, L.hw]);
  const g = new ort.Tensor('float32', Float32Array.from({ length: B * L.cout * ho * ho }, () => rng.normal()), [B, L.cout, ho, ho]);
  const sessions: { form: string; session: ort.InferenceSession; out: string }[] = [];
  for (const form of forms) {
    const graph = new GraphBuilder();
    const t = new Tape(graph, { params: new Map(), training: true, declareShapes: true });
    const xv = t.wrap(graph.input('x', 'float32', x.dims as number[]), x.dims as number[]);
    const gv = t.wrap(graph.input('g', 'float32', g.dims as number[]), g.dims as number[]);
    const dw = conv2dWeightGradForms[form](t, xv, gv, k, L.s, p);
    graph.output(dw.name, 'float32', dw.shape);
    const session = await ort.InferenceSession.create(graph.toBytes(), { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 });
    sessions.push({ form, session, out: dw.name });
  }
  const times = sessions.map(() => [] as number[]);
  let reference: Float32Array | undefined;
  const diffs = sessions.map(() => 0);
  for (let c = -2; c < CALLS; c++) {
    for (const [i, s] of sessions.entries()) {
      const t0 = performance.now();
      const r = await s.session.run({ x, g });
      const ms = performance.now() - t0;
      if (c >= 0) times[i]!.push(ms);
      const d = r[s.out]!.data as Float32Array;
      if (c === -2) {
        reference ??= d;
        let m = 0;
        let scale = 0;
        for (let j = 0; j < d.length; j++) {
          m = Math.max(m, Math.abs(d[j]! - reference[j]!));
          scale = Math.max(scale, Math.abs(reference[j]!));
        }
        diffs[i] = m / scale;
      }
    }
  }
  console.log(`${L.name}: dW (${L.cout}, ${L.cin}, 3, 3), ${CALLS} calls each, ms p50 (min)`);
  for (const [i, s] of sessions.entries()) {
    const ts = times[i]!.sort((a, b) => a - b);
    console.log(`  ${s.form.padEnd(18)} ${ts[ts.length >> 1]!.toFixed(2).padStart(6)} (${ts[0]!.toFixed(2)})   max rel diff ${diffs[i]!.toExponential(1)}`);
    await s.session.release();
  }
}
