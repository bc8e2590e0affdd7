import type { Simulator } from './simulator.ts';
import type { Arm } from './arm.ts';
import type { MjData } from './mujoco_loader.ts';
import { rotationError, sub3, norm3, solveLinear, type Mat3, type Vec3 } from './math3d.ts';

export interface IkOptions {
  /** Damping lambda of damped least squares. @default 0.05 */
  damping?: number;
  /** Iteration cap. @default 60 */
  maxIterations?: number;
  /** Position tolerance in metres. @default 2e-4 */
  positionTolerance?: number;
  /** Orientation tolerance in radians. @default 2e-3 */
  rotationTolerance?: number;
  /** Weight of orientation error relative to position (metres per radian). @default 0.2 */
  rotationWeight?: number;
  /** Largest joint change per iteration (rad), keeps steps inside the linear regime. @default 0.3 */
  maxStep?: number;
}

export interface IkResult {
  q: number[];
  positionError: number;
  rotationError: number;
  converged: boolean;
  iterations: number;
}

/**
 * Damped least-squares inverse kinematics on `mj_jacSite` (MuJoCo has no IK of its own):
 * dq = J^T (J J^T + lambda^2 I)^-1 e, with e = [w_p * dp, w_r * dtheta], joint limits clamped.
 * Runs on a scratch MjData so the simulated state is never touched. ~16 iterations typical.
 */
export class IkSolver {
  readonly #sim: Simulator;
  readonly #scratch: MjData;
  readonly #jacp;
  readonly #jacr;
  readonly #opts: Required<IkOptions>;
  #disposed = false;

  constructor(sim: Simulator, options: IkOptions = {}) {
    this.#sim = sim;
    this.#scratch = new sim.mj.MjData(sim.model);
    const nv = sim.model.nv as number;
    this.#jacp = new sim.mj.DoubleBuffer(3 * nv);
    this.#jacr = new sim.mj.DoubleBuffer(3 * nv);
    this.#opts = { damping: 0.05, maxIterations: 60, positionTolerance: 2e-4, rotationTolerance: 2e-3, rotationWeight: 0.2, maxStep: 0.3, ...options };
  }

  /** Joint positions placing `arm`'s TCP at `pos` with rotation `rot`, starting from `q0`. */
  solve(arm: Arm, pos: Vec3, rot: Mat3, q0: ArrayLike<number>): IkResult {
    const { mj, model } = this.#sim;
    const d = this.#scratch;
    const { damping, maxIterations, positionTolerance, rotationTolerance, rotationWeight, maxStep } = this.#opts;
    const nv = model.nv as number;
    const q = Array.from(q0).slice(0, 6);
    const J = new Float64Array(6 * 6);
    let posErr = Infinity;
    let rotErr = Infinity;
    let it = 0;
    for (; it < maxIterations; it++) {
      const qpos = d.qpos as Float64Array;
      for (let i = 0; i < 6; i++) qpos[arm.qposAdr[i]!] = q[i]!;
      mj.mj_kinematics(model, d);
      mj.mj_comPos(model, d);
      const sitePos = (d.site_xpos as Float64Array).subarray(arm.tcpSite * 3, arm.tcpSite * 3 + 3);
      const siteMat = (d.site_xmat as Float64Array).subarray(arm.tcpSite * 9, arm.tcpSite * 9 + 9);
      const ep = sub3(pos, sitePos);
      const er = rotationError(rot, siteMat);
      posErr = norm3(ep);
      rotErr = norm3(er);
      if (posErr < positionTolerance && rotErr < rotationTolerance) break;
      mj.mj_jacSite(model, d, this.#jacp, this.#jacr, arm.tcpSite);
      const jp = this.#jacp.GetView() as Float64Array;
      const jr = this.#jacr.GetView() as Float64Array;
      // J (6x6): rows = [pos xyz; w_r * rot xyz], columns = this arm's dofs
      for (let c = 0; c < 6; c++) {
        const dof = arm.dofAdr[c]!;
        for (let r = 0; r < 3; r++) {
          J[r * 6 + c] = jp[r * nv + dof]!;
          J[(r + 3) * 6 + c] = rotationWeight * jr[r * nv + dof]!;
        }
      }
      const e = new Float64Array([ep[0], ep[1], ep[2], rotationWeight * er[0], rotationWeight * er[1], rotationWeight * er[2]]);
      // A = J J^T + lambda^2 I ; y = A^-1 e ; dq = J^T y
      const A = new Float64Array(36);
      for (let r = 0; r < 6; r++)
        for (let c = 0; c < 6; c++) {
          let s = 0;
          for (let k = 0; k < 6; k++) s += J[r * 6 + k]! * J[c * 6 + k]!;
          A[r * 6 + c] = s + (r === c ? damping * damping : 0);
        }
      const y = solveLinear(A, e, 6);
      let largest = 0;
      const dq = new Array<number>(6);
      for (let c = 0; c < 6; c++) {
        let s = 0;
        for (let r = 0; r < 6; r++) s += J[r * 6 + c]! * y[r]!;
        dq[c] = s;
        largest = Math.max(largest, Math.abs(s));
      }
      const scale = largest > maxStep ? maxStep / largest : 1;
      for (let c = 0; c < 6; c++) {
        const [lo, hi] = arm.jointRange[c]!;
        q[c] = Math.min(hi, Math.max(lo, q[c]! + scale * dq[c]!));
      }
    }
    return { q, positionError: posErr, rotationError: rotErr, converged: posErr < positionTolerance * 5 && rotErr < rotationTolerance * 5, iterations: it };
  }

  /** Forward kinematics on the scratch data: TCP position and rotation for joints `q`. */
  forward(arm: Arm, q: ArrayLike<number>): { pos: Vec3; rot: Mat3 } {
    const { mj, model } = this.#sim;
    const d = this.#scratch;
    const qpos = d.qpos as Float64Array;
    for (let i = 0; i < 6; i++) qpos[arm.qposAdr[i]!] = q[i]!;
    mj.mj_kinematics(model, d);
    const p = d.site_xpos as Float64Array;
    const r = d.site_xmat as Float64Array;
    return { pos: [p[arm.tcpSite * 3]!, p[arm.tcpSite * 3 + 1]!, p[arm.tcpSite * 3 + 2]!], rot: Array.from(r.subarray(arm.tcpSite * 9, arm.tcpSite * 9 + 9)) as Mat3 };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#jacp.delete();
    this.#jacr.delete();
    this.#scratch.delete();
  }
}
