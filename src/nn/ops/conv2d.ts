import type { Tape, Value } from '../tape.ts';

/**
 * How the weight gradient of a Conv2d is computed. All give dW[o,i,kh,kw] =
 * sum_{b,y,x} g[b,o,y,x] * xpad[b,i,y*s+kh,x*s+kw]; they differ in speed and memory.
 *  - 'taps': per kernel tap (kh, kw), the shifted strided window of x (B, Cin, Ho, Wo) by a
 *    depthwise Conv with a one-hot kernel (ORT runs it as a direct NCHWc depthwise kernel when
 *    Cin is a multiple of its block size), then a batched MatMul with g summed over the batch.
 *  - 'unfold': all k*k windows at once, (B, Cin*k*k, Ho*Wo), by one grouped Conv with a
 *    one-hot (Cin*k*k, 1, k, k) kernel (ORT's own im2col, then a (k*k x k*k) product per
 *    channel, which is what makes it lose to 'taps' on many channels), then one batched MatMul.
 *  - 'patches': im2col by Transpose, Pad, k*k strided Slices and Concat, then one Gemm.
 *  - 'transposedConv': a Conv of the transposed input (Cin, B, H, W) with the transposed
 *    output gradient (Cout, B, Ho, Wo) as kernel, dilated by the stride.
 *  - 'auto': 'taps' when Cin >= 16, else 'unfold'.
 * Measured on the default policy's encoder (B = 64, one thread, ORT 1.30, AVX-512; ms per dW,
 * p50 of 15 interleaved calls, bench/nn/conv_grad_variants.ts, 2026-11-30, load average ~2):
 *
 *   layer                   patches  transposedConv  unfold  taps
 *   3->16 s2, 64x64           4.8        5.0          2.7    11.2
 *   16->32 s2, 32x32          7.3        7.7          4.9     4.8
 *   32->32 s2, 16x16          4.4        4.0          2.7     2.1
 *   32->32 s1, 8x8            2.8        3.5          2.4     2.0
 *
 * Also measured and dropped: unfold by one Gather over the flattened padded input (3-5x
 * slower than patches: ORT gathers 4-byte blocks one by one), Einsum (no faster than
 * patches), taps computed on the (Cin, B, H, W) transpose with one Gemm per tap (as fast as
 * 'taps' for 32 channels, 2.6x slower for 3), and the k*k windows concatenated into one batched
 * MatMul (the Concat costs more than the larger product saves: 1.2-1.4x slower than 'taps').
 */
export type ConvWeightGrad = 'taps' | 'unfold' | 'patches' | 'transposedConv' | 'auto';

export interface Conv2dOptions {
  readonly stride: number;
  readonly padding: number;
  /** @default 'auto' */
  readonly weightGrad?: ConvWeightGrad;
}

/** Output size of a convolution along one spatial axis. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/**
 * 2-D convolution, x (B, Cin, H, W), W (Cout, Cin, k, k), b (Cout) -> y (B, Cout, Ho, Wo);
 * square kernel, symmetric padding, no dilation or groups (what the encoders use).
 * Backward with g (B, Cout, Ho, Wo):
 *   dx = ConvTranspose(g, W) with the same stride/pads and output_padding = H + 2p - k - s(Ho - 1)
 *        (1 for stride 2 on even sizes: the last input row is not covered by a kernel start)
 *   dW = see ConvWeightGrad
 *   db = sum over (B, Ho, Wo) of g
 */
export function conv2d(t: Tape, x: Value, w: Value, b: Value | undefined, options: Conv2dOptions): Value {
  const [batch, cin, h, wd] = x.shape as [number, number, number, number];
  const [cout, wcin, k, k2] = w.shape as [number, number, number, number];
  if (x.shape.length !== 4 || wcin !== cin || k !== k2) {
    throw new Error(`conv2d: input [${x.shape}] and weight '${w.name}' [${w.shape}] do not match (B, Cin, H, W) x (Cout, Cin, k, k)`);
  }
  const { stride: s, padding: p } = options;
  const ho = convOutputSize(h, k, s, p);
  const wo = convOutputSize(wd, k, s, p);
  const geometry = {
    kernel_shape: { kind: 'ints', value: [k, k] },
    strides: { kind: 'ints', value: [s, s] },
    pads: { kind: 'ints', value: [p, p, p, p] },
  } as const;
  const y = t.emit('Conv', b ? [x, w, b] : [x, w], { shape: [batch, cout, ho, wo], attrs: geometry });

  return t.record(y, b ? [x, w, b] : [x, w], (g) => {
    if (x.requiresGrad) {
      const outputPadding = [h + 2 * p - k - s * (ho - 1), wd + 2 * p - k - s * (wo - 1)];
      t.addGrad(x, t.emit('ConvTranspose', [g, w], {
        shape: x.shape,
        attrs: { ...geometry, output_padding: { kind: 'ints', value: outputPadding } },
      }));
    }
    if (w.requiresGrad) {
      const method = options.weightGrad === undefined || options.weightGrad === 'auto' ? (cin >= 16 ? 'taps' : 'unfold') : options.weightGrad;
      t.addGrad(w, conv2dWeightGradForms[method](t, x, g, k, s, p));
    }
    if (b?.requiresGrad) {
      t.addGrad(b, t.emit('ReduceSum', [g, t.constInt64([0, 2, 3])], { shape: [cout], attrs: { keepdims: { kind: 'int', value: 0 } } }));
    }
  });
}

const SWAP_BATCH_CHANNEL = { perm: { kind: 'ints', value: [1, 0, 2, 3] } } as const;

function weightGradByPatches(t: Tape, x: Value, g: Value, k: number, s: number, p: number): Value {
  const [batch, cin, h, wd] = x.shape as [number, number, number, number];
  const [, cout, ho, wo] = g.shape as [number, number, number, number];
  const hp = h + 2 * p;
  const wp = wd + 2 * p;
  // (Cin, B, H, W): each strided slice is then already in the row order Gemm needs.
  // (A polyphase variant, one 6-D Transpose + step-1 Slices, measured 1.7x slower in ORT 1.30.)
  let xT = t.emit('Transpose', [x], { shape: [cin, batch, h, wd], attrs: SWAP_BATCH_CHANNEL });
  if (p > 0) xT = t.emit('Pad', [xT, t.constInt64([0, 0, p, p, 0, 0, p, p])], { shape: [cin, batch, hp, wp] });
  const taps: Value[] = [];
  for (let kh = 0; kh < k; kh++) {
    for (let kw = 0; kw < k; kw++) {
      taps.push(t.emit('Slice', [
        xT,
        t.constInt64([kh, kw]),
        t.constInt64([kh + s * (ho - 1) + 1, kw + s * (wo - 1) + 1]),
        t.constInt64([2, 3]),
        t.constInt64([s, s]),
      ], { shape: [cin, batch, ho, wo] }));
    }
  }
  // Concat on axis 1 gives (Cin, k*k*B, Ho, Wo) = (Cin, k*k, B, Ho, Wo) in memory, so row
  // i*k*k + kh*k + kw of the reshaped patches lines up with W's (Cin, kh, kw) flattening.
  const n = batch * ho * wo;
  const patches4 = t.emit('Concat', taps, { shape: [cin, k * k * batch, ho, wo], attrs: { axis: { kind: 'int', value: 1 } } });
  const patches = t.emit('Reshape', [patches4, t.constInt64([cin * k * k, n])], { shape: [cin * k * k, n] });
  const gT = t.emit('Transpose', [g], { shape: [cout, batch, ho, wo], attrs: SWAP_BATCH_CHANNEL });
  const g2 = t.emit('Reshape', [gT, t.constInt64([cout, n])], { shape: [cout, n] });
  const dw2 = t.emit('Gemm', [g2, patches], { shape: [cout, cin * k * k], attrs: { transB: { kind: 'int', value: 1 } } });
  return t.emit('Reshape', [dw2, t.constInt64([cout, cin, k, k])], { shape: [cout, cin, k, k] });
}

function weightGradByTransposedConv(t: Tape, x: Value, g: Value, k: number, s: number, p: number): Value {
  const [batch, cin, h, wd] = x.shape as [number, number, number, number];
  const [, cout, ho, wo] = g.shape as [number, number, number, number];
  const xT = t.emit('Transpose', [x], { shape: [cin, batch, h, wd], attrs: SWAP_BATCH_CHANNEL });
  const gT = t.emit('Transpose', [g], { shape: [cout, batch, ho, wo], attrs: SWAP_BATCH_CHANNEL });
  // Kernel extent of g dilated by s is s(Ho-1)+1, so the result is (k + output_padding) wide.
  const kh = h + 2 * p - s * (ho - 1);
  const kw = wd + 2 * p - s * (wo - 1);
  let r = t.emit('Conv', [xT, gT], {
    shape: [cin, cout, kh, kw],
    attrs: {
      kernel_shape: { kind: 'ints', value: [ho, wo] },
      dilations: { kind: 'ints', value: [s, s] },
      pads: { kind: 'ints', value: [p, p, p, p] },
    },
  });
  if (kh !== k || kw !== k) {
    r = t.emit('Slice', [r, t.constInt64([0, 0]), t.constInt64([k, k]), t.constInt64([2, 3])], { shape: [cin, cout, k, k] });
  }
  return t.emit('Transpose', [r], { shape: [cout, cin, k, k], attrs: SWAP_BATCH_CHANNEL });
}

/** g (B, Cout, Ho, Wo) -> (B, Ho*Wo, Cout), the right-hand side of the per-sample products below (ORT folds this Transpose into its MatMul). */
function gradRows(t: Tape, g: Value): Value {
  const [batch, cout, ho, wo] = g.shape as [number, number, number, number];
  const g3 = t.emit('Reshape', [g, t.constInt64([batch, cout, ho * wo])], { shape: [batch, cout, ho * wo] });
  return t.emit('Transpose', [g3], { shape: [batch, ho * wo, cout], attrs: { perm: { kind: 'ints', value: [0, 2, 1] } } });
}

function weightGradByTaps(t: Tape, x: Value, g: Value, k: number, s: number, p: number): Value {
  const [batch, cin] = x.shape as [number, number];
  const [, cout, ho, wo] = g.shape as [number, number, number, number];
  const gRows = gradRows(t, g); // (B, N, Cout)
  const perTap: Value[] = [];
  for (let j = 0; j < k * k; j++) {
    // Depthwise one-hot kernel: channel i copies its input at tap j = kh*k + kw.
    const kernel = new Float32Array(cin * k * k);
    for (let i = 0; i < cin; i++) kernel[i * k * k + j] = 1;
    const window = t.emit('Conv', [x, t.constFloat(kernel, [cin, 1, k, k])], {
      shape: [batch, cin, ho, wo],
      attrs: {
        kernel_shape: { kind: 'ints', value: [k, k] },
        strides: { kind: 'ints', value: [s, s] },
        pads: { kind: 'ints', value: [p, p, p, p] },
        group: { kind: 'int', value: cin },
      },
    });
    const rows = t.emit('Reshape', [window, t.constInt64([batch, cin, ho * wo])], { shape: [batch, cin, ho * wo] });
    const perSample = t.emit('MatMul', [rows, gRows], { shape: [batch, cin, cout] });
    perTap.push(t.emit('ReduceSum', [perSample, t.constInt64([0])], { shape: [cin, cout], attrs: { keepdims: { kind: 'int', value: 0 } } }));
  }
  // (Cin, Cout) per tap -> (Cin, k*k, Cout) -> (Cout, Cin, k*k).
  const stacked = t.emit('Concat', perTap.map((d) => t.emit('Reshape', [d, t.constInt64([cin, 1, cout])], { shape: [cin, 1, cout] })), {
    shape: [cin, k * k, cout],
    attrs: { axis: { kind: 'int', value: 1 } },
  });
  const dw = t.emit('Transpose', [stacked], { shape: [cout, cin, k * k], attrs: { perm: { kind: 'ints', value: [2, 0, 1] } } });
  return t.emit('Reshape', [dw, t.constInt64([cout, cin, k, k])], { shape: [cout, cin, k, k] });
}

function weightGradByUnfold(t: Tape, x: Value, g: Value, k: number, s: number, p: number): Value {
  const [batch, cin] = x.shape as [number, number];
  const [, cout, ho, wo] = g.shape as [number, number, number, number];
  const ckk = cin * k * k;
  // Grouped one-hot kernel: output channel i*k*k + kh*k + kw copies input channel i at tap
  // (kh, kw), the order of W's (Cin, kh, kw) flattening.
  const kernel = new Float32Array(ckk * k * k);
  for (let i = 0; i < cin; i++) for (let j = 0; j < k * k; j++) kernel[(i * k * k + j) * k * k + j] = 1;
  const windows = t.emit('Conv', [x, t.constFloat(kernel, [ckk, 1, k, k])], {
    shape: [batch, ckk, ho, wo],
    attrs: {
      kernel_shape: { kind: 'ints', value: [k, k] },
      strides: { kind: 'ints', value: [s, s] },
      pads: { kind: 'ints', value: [p, p, p, p] },
      group: { kind: 'int', value: cin },
    },
  });
  const rows = t.emit('Reshape', [windows, t.constInt64([batch, ckk, ho * wo])], { shape: [batch, ckk, ho * wo] });
  const perSample = t.emit('MatMul', [rows, gradRows(t, g)], { shape: [batch, ckk, cout] });
  const dwT = t.emit('ReduceSum', [perSample, t.constInt64([0])], { shape: [ckk, cout], attrs: { keepdims: { kind: 'int', value: 0 } } });
  const dw = t.emit('Transpose', [dwT], { shape: [cout, ckk], attrs: { perm: { kind: 'ints', value: [1, 0] } } });
  return t.emit('Reshape', [dw, t.constInt64([cout, cin, k, k])], { shape: [cout, cin, k, k] });
}

/** The weight-gradient forms by name (x, g -> dW), also for bench/nn/conv_grad_variants.ts. */
export const conv2dWeightGradForms: Readonly<Record<Exclude<ConvWeightGrad, 'auto'>, (t: Tape, x: Value, g: Value, k: number, s: number, p: number) => Value>> = {
  taps: weightGradByTaps,
  unfold: weightGradByUnfold,
  patches: weightGradByPatches,
  transposedConv: weightGradByTransposedConv,
};
