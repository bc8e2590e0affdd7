/** Small 3D helpers on plain arrays (row-major 3x3 matrices as MuJoCo stores `xmat`). */
export type Vec3 = [number, number, number];
export type Mat3 = [number, number, number, number, number, number, number, number, number];

export const sub3 = (a: ArrayLike<number>, b: ArrayLike<number>): Vec3 => [a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!];
export const add3 = (a: ArrayLike<number>, b: ArrayLike<number>): Vec3 => [a[0]! + b[0]!, a[1]! + b[1]!, a[2]! + b[2]!];
export const scale3 = (a: ArrayLike<number>, s: number): Vec3 => [a[0]! * s, a[1]! * s, a[2]! * s];
export const norm3 = (a: ArrayLike<number>): number => Math.hypot(a[0]!, a[1]!, a[2]!);
export const lerp3 = (a: ArrayLike<number>, b: ArrayLike<number>, s: number): Vec3 => [
  a[0]! + (b[0]! - a[0]!) * s,
  a[1]! + (b[1]! - a[1]!) * s,
  a[2]! + (b[2]! - a[2]!) * s,
];

/** Rotation about world z by `yaw` applied to a top-down tool frame: tool z = world -z, tool y (finger axis) = (-sin, cos, 0). */
export function topDownRotation(yaw: number): Mat3 {
  const c = Math.cos(yaw);
  const s = Math.sin(yaw);
  // columns: x = (-c, -s, 0), y = (-s, c, 0), z = (0, 0, -1)
  return [-c, -s, 0, -s, c, 0, 0, 0, -1];
}

/** Yaw of a top-down tool frame (inverse of topDownRotation), from its finger (y) axis. */
export function toolYaw(xmat: ArrayLike<number>): number {
  // y column = (xmat[1], xmat[4], xmat[7])
  return Math.atan2(-xmat[1]!, xmat[4]!);
}

/**
 * Orientation error as a rotation vector w (world frame) such that rotating `current` by w
 * gives `target`: w = axis * angle of target * current^T.
 */
export function rotationError(target: ArrayLike<number>, current: ArrayLike<number>): Vec3 {
  // E = T * C^T
  const e = new Array<number>(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += target[i * 3 + k]! * current[j * 3 + k]!;
      e[i * 3 + j] = s;
    }
  const cosA = Math.min(1, Math.max(-1, (e[0]! + e[4]! + e[8]! - 1) / 2));
  const angle = Math.acos(cosA);
  const v: Vec3 = [e[7]! - e[5]!, e[2]! - e[6]!, e[3]! - e[1]!];
  const sinA = Math.sin(angle);
  if (sinA < 1e-6) {
    if (angle < 1e-6) return [v[0] / 2, v[1] / 2, v[2] / 2];
    // angle ~ pi: axis from the diagonal
    const ax = Math.sqrt(Math.max(0, (e[0]! + 1) / 2));
    const ay = Math.sqrt(Math.max(0, (e[4]! + 1) / 2)) * (e[1]! >= 0 ? 1 : -1);
    const az = Math.sqrt(Math.max(0, (e[8]! + 1) / 2)) * (e[2]! >= 0 ? 1 : -1);
    return [ax * angle, ay * angle, az * angle];
  }
  const k = angle / (2 * sinA);
  return [v[0] * k, v[1] * k, v[2] * k];
}

/** R(w) * M for a rotation vector w (Rodrigues). */
export function rotateMat(w: ArrayLike<number>, m: ArrayLike<number>): Mat3 {
  const angle = norm3(w);
  if (angle < 1e-12) return Array.from(m) as Mat3;
  const x = w[0]! / angle, y = w[1]! / angle, z = w[2]! / angle;
  const c = Math.cos(angle), s = Math.sin(angle), t = 1 - c;
  const r = [t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c, t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c];
  const out = new Array<number>(9) as Mat3;
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) out[i * 3 + j] = r[i * 3]! * m[j]! + r[i * 3 + 1]! * m[3 + j]! + r[i * 3 + 2]! * m[6 + j]!;
  return out;
}

/** Quaternion (w, x, y, z) for a rotation about z. */
export function yawQuat(yaw: number): [number, number, number, number] {
  return [Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)];
}

/** Smooth 0..1 profile with zero velocity and acceleration at both ends (minimum jerk). */
export function minJerk(s: number): number {
  const u = Math.min(1, Math.max(0, s));
  return u * u * u * (10 - 15 * u + 6 * u * u);
}

/** Solves the n x n system A x = b in place by Gaussian elimination with partial pivoting. */
export function solveLinear(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]!) > Math.abs(a[piv * n + col]!)) piv = r;
    if (piv !== col) {
      for (let c = 0; c < n; c++) {
        const t = a[col * n + c]!;
        a[col * n + c] = a[piv * n + c]!;
        a[piv * n + c] = t;
      }
      const t = b[col]!;
      b[col] = b[piv]!;
      b[piv] = t;
    }
    const d = a[col * n + col]!;
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col]! / d;
      if (f === 0) continue;
      for (let c = col; c < n; c++) a[r * n + c] = a[r * n + c]! - f * a[col * n + c]!;
      b[r] = b[r]! - f * b[col]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let c = r + 1; c < n; c++) s -= a[r * n + c]! * b[c]!;
    b[r] = s / a[r * n + r]!;
  }
  return b;
}
