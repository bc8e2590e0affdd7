import type { Simulator } from './simulator.ts';
import type { Vec3 } from './math3d.ts';
import { yawQuat } from './math3d.ts';

/** Handle on a free-floating object (a body with a free joint): pose get/set by name. */
export class FreeObject {
  readonly name: string;
  readonly body: number;
  readonly qposAdr: number;
  readonly dofAdr: number;

  constructor(sim: Simulator, bodyName: string) {
    this.name = bodyName;
    this.body = sim.id('body', bodyName);
    const jnt = (sim.model.body_jntadr as Int32Array)[this.body]!;
    if (jnt < 0) throw new Error(`body '${bodyName}' has no joint; expected a free joint`);
    this.qposAdr = (sim.model.jnt_qposadr as Int32Array)[jnt]!;
    this.dofAdr = (sim.model.jnt_dofadr as Int32Array)[jnt]!;
  }

  /** Places the object at `pos` rotated by `yaw` about z, at rest. Call mj_forward afterwards. */
  place(sim: Simulator, pos: Vec3, yaw = 0): void {
    const qpos = sim.data.qpos as Float64Array;
    const qvel = sim.data.qvel as Float64Array;
    qpos.set([...pos, ...yawQuat(yaw)], this.qposAdr);
    qvel.fill(0, this.dofAdr, this.dofAdr + 6);
  }

  /** World position (from the last forward pass). */
  position(sim: Simulator): Vec3 {
    const x = sim.data.xpos as Float64Array;
    return [x[this.body * 3]!, x[this.body * 3 + 1]!, x[this.body * 3 + 2]!];
  }

  /** World rotation matrix, row-major. */
  rotation(sim: Simulator): number[] {
    const r = sim.data.xmat as Float64Array;
    return Array.from(r.subarray(this.body * 9, this.body * 9 + 9));
  }

  /** Yaw about world z of the body's x axis. */
  yaw(sim: Simulator): number {
    const r = this.rotation(sim);
    return Math.atan2(r[3]!, r[0]!);
  }

  /** Linear speed (m/s). */
  speed(sim: Simulator): number {
    const qvel = sim.data.qvel as Float64Array;
    return Math.hypot(qvel[this.dofAdr]!, qvel[this.dofAdr + 1]!, qvel[this.dofAdr + 2]!);
  }
}

/** True when geom `a` touches geom `b` in the current contact list. */
export function geomsTouch(sim: Simulator, a: number, b: number): boolean {
  const n = sim.data.ncon as number;
  if (n === 0) return false;
  // `data.contact` returns a fresh copy of the contact vector each access: read once, delete after.
  const contacts = sim.data.contact;
  try {
    for (let i = 0; i < n; i++) {
      const c = contacts.get(i)!;
      const g1 = c.geom1 as number, g2 = c.geom2 as number;
      c.delete?.();
      if ((g1 === a && g2 === b) || (g1 === b && g2 === a)) return true;
    }
    return false;
  } finally {
    contacts.delete?.();
  }
}
