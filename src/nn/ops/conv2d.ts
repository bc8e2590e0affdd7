import type { Tape, Value } from '../tape.ts';

/**
 * How the weight gradient of a Conv2d is computed. Both give dW[o,i,kh,kw] =
 * sum_{b,y,x} g[b,o,y,x] * xpad[b,i,y*s+kh,x*s+kw]; they differ in speed and memory
 * (NOTES: patches are 1.2-2.5x faster for >= 16 input channels, at k*k/s^2 times the input's memory).
 *  - 'patches': im2col (k*k shifted windows of the padded input) + one Gemm with K = B*Ho*Wo.
 *  - 'transposedConv': a Conv of the transposed input (Cin, B, H, W) with the transposed
 *    output gradient (Cout, B, Ho, Wo) as kernel, dilated by the stride.
 *  - 'auto': 'patches' when Cin >= 16, else 'transposedConv'.
 */
export type ConvWeightGrad = 'patches' | 'transposedConv' | 'auto';

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
      const method = options.weightGrad === undefined || options.weightGrad === 'auto' ? (cin >= 16 ? 'patches' : 'transposedConv') : options.weightGrad;
      const dw = method === 'patches' ? weightGradByPatches(t, x, g, k, s, p) : weightGradByTransposedConv(t, x, g, k, s, p);
      t.addGrad(w, dw);
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
