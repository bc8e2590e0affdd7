import type { Mujoco, MjModel, MjData } from './mujoco_loader.ts';
import { UserError } from '../src/core/errors.ts';

/** MuJoCo object types used for name lookups. */
export type ObjType = 'body' | 'joint' | 'geom' | 'site' | 'camera' | 'actuator';

export interface SimulatorOptions {
  /** Control period in seconds; physics runs `round(controlDt / timestep)` substeps per control step. @default 0.05 (20 Hz) */
  controlDt?: number;
}

/**
 * Owns one MjModel/MjData pair: stepping at the control rate, state save/restore and cleanup.
 * Field views (`data.qpos`...) are re-read on every access because they go stale when the
 * wasm heap grows (NOTES: never cache them).
 */
export class Simulator {
  readonly mj: Mujoco;
  readonly model: MjModel;
  readonly data: MjData;
  readonly substeps: number;
  readonly controlDt: number;
  readonly #stateSpec: number;
  readonly #stateBuffer;
  #disposed = false;

  constructor(mj: Mujoco, model: MjModel, options: SimulatorOptions = {}) {
    this.mj = mj;
    this.model = model;
    this.data = new mj.MjData(model);
    const dt = model.opt.timestep as number;
    this.substeps = Math.max(1, Math.round((options.controlDt ?? 0.05) / dt));
    this.controlDt = this.substeps * dt;
    this.#stateSpec = mj.mjtState.mjSTATE_INTEGRATION.value;
    this.#stateBuffer = new mj.DoubleBuffer(mj.mj_stateSize(model, this.#stateSpec));
    mj.mj_forward(model, this.data);
  }

  /** Id of a named object; throws a UserError listing what exists when missing. */
  id(type: ObjType, name: string): number {
    const objType = (this.mj.mjtObj as Record<string, { value: number }>)[`mjOBJ_${type.toUpperCase()}`]!.value;
    const id = this.mj.mj_name2id(this.model, objType, name);
    if (id < 0) throw new UserError(`no ${type} named '${name}' in the model; available: ${this.names(type).join(', ') || '(none)'}`);
    return id;
  }

  /** All names of one object type, in id order. */
  names(type: ObjType): string[] {
    const objType = (this.mj.mjtObj as Record<string, { value: number }>)[`mjOBJ_${type.toUpperCase()}`]!.value;
    const count = { body: this.model.nbody, joint: this.model.njnt, geom: this.model.ngeom, site: this.model.nsite, camera: this.model.ncam, actuator: this.model.nu }[type] as number;
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(this.mj.mj_id2name(this.model, objType, i) ?? '');
    return out;
  }

  /** Resets to the model's default state (qpos0, zero velocity) and recomputes derived quantities. */
  reset(): void {
    this.mj.mj_resetData(this.model, this.data);
    this.mj.mj_forward(this.model, this.data);
  }

  /** Advances one control period with the current `data.ctrl`. */
  step(): void {
    for (let i = 0; i < this.substeps; i++) this.mj.mj_step(this.model, this.data);
  }

  /** Full integration state (time, qpos, qvel, act, warm-start, ctrl, mocap...): a copy. */
  getState(): Float64Array {
    this.mj.mj_getState(this.model, this.data, this.#stateBuffer, this.#stateSpec);
    return Float64Array.from(this.#stateBuffer.GetView() as Float64Array);
  }

  /** Restores a state from getState() and recomputes derived quantities. */
  setState(state: Float64Array): void {
    const size = this.#stateBuffer.GetElementCount();
    if (state.length !== size) throw new UserError(`setState: expected ${size} values for this model, got ${state.length}`);
    // mj_setState takes a JS array / typed array (a DoubleBuffer throws "Cannot convert undefined").
    this.mj.mj_setState(this.model, this.data, state as unknown as number[], this.#stateSpec);
    this.mj.mj_forward(this.model, this.data);
  }

  /** True when any position or velocity is NaN/Inf (a diverged simulation). */
  isUnstable(): boolean {
    const qpos = this.data.qpos as Float64Array;
    const qvel = this.data.qvel as Float64Array;
    for (let i = 0; i < qpos.length; i++) if (!Number.isFinite(qpos[i]!)) return true;
    for (let i = 0; i < qvel.length; i++) if (!Number.isFinite(qvel[i]!)) return true;
    return false;
  }

  /** Frees the MjData and buffers (the model too unless `keepModel`). Safe to call twice. */
  dispose(options: { keepModel?: boolean } = {}): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stateBuffer.delete();
    this.data.delete();
    if (!options.keepModel) this.model.delete();
  }
}
