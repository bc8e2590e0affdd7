import type { Env, StepResult } from '../src/core/env.ts';
import type { Observation, CameraFrame } from '../src/core/observation.ts';
import { TaskConfigSchema, type TaskConfig, type TaskContext, type TaskDefinition, type TaskState } from './task.ts';
import { getMujoco, loadModel, ASSETS_DIR } from './mujoco_loader.ts';
import { Simulator } from './simulator.ts';
import { Arm, ARM_JOINTS, ARM_DIM } from './arm.ts';
import { IkSolver } from './ik.ts';
import { RayCamera } from './camera.ts';
import { Rng } from '../src/core/rng.ts';
import { UserError, describeZodIssues } from '../src/core/errors.ts';
import { getTask } from './tasks/index.ts';
import { rotateMat, add3, type Mat3, type Vec3 } from './math3d.ts';
import { join } from 'node:path';

/**
 * Action spaces, per arm `[.., gripper]` with gripper in [0 open, 1 closed]:
 * - `joint`: absolute joint-position targets (6, radians);
 * - `ee_delta`: TCP delta `[dx, dy, dz, rx, ry, rz]` in the world frame (metres, rotation
 *   vector in radians), turned into joint targets by damped least-squares IK.
 */
export type ActionSpace = 'joint' | 'ee_delta';

export interface SimEnvOptions {
  /** Task registry name or definition. */
  task: string | TaskDefinition<TaskState>;
  /** Overrides of the task's default config. */
  config?: Partial<TaskConfig>;
  /** @default 'joint' */
  actionSpace?: ActionSpace;
  /** Render camera images into observations. @default true */
  render?: boolean;
  /** Also produce depth and segmentation per camera. @default false */
  depth?: boolean;
  /** Std of the joint noise added to the home pose at reset (rad). @default 0.02 */
  homeNoise?: number;
}

/** Largest per-step TCP translation / rotation in `ee_delta` (clipped, metres / radians). */
const EE_MAX_TRANSLATION = 0.05;
const EE_MAX_ROTATION = 0.25;

export interface SimEnvSnapshot {
  physics: Float64Array;
  step: number;
  successStreak: number;
  taskState: TaskState;
  eeTargets: Array<{ pos: Vec3; rot: Mat3 }>;
  jointTargets: number[][];
}

/** A MuJoCo task as an `Env`. Same seed and actions give the identical trajectory. */
export class SimEnv implements Env {
  readonly task: TaskDefinition<TaskState>;
  readonly config: TaskConfig;
  readonly actionSpace: ActionSpace;
  readonly sim: Simulator;
  readonly ctx: TaskContext;
  readonly stateNames: string[];
  readonly actionNames: string[];
  readonly cameras: string[];
  readonly #renderers: RayCamera[];
  readonly #homeNoise: number;
  #taskState: TaskState | undefined;
  #step = 0;
  #successStreak = 0;
  #eeTargets: Array<{ pos: Vec3; rot: Mat3 }> = [];
  #jointTargets: number[][] = [];

  private constructor(sim: Simulator, task: TaskDefinition<TaskState>, config: TaskConfig, options: SimEnvOptions) {
    this.task = task;
    this.config = config;
    this.sim = sim;
    this.actionSpace = options.actionSpace ?? 'joint';
    this.#homeNoise = options.homeNoise ?? 0.02;
    const arms = task.armPrefixes.map((p) => new Arm(sim, p));
    this.ctx = { sim, arms, ik: new IkSolver(sim) };
    this.cameras = [...config.cameras];
    for (const cam of this.cameras) sim.id('camera', cam); // validates names with a clear error
    const render = options.render ?? true;
    this.#renderers = render
      ? this.cameras.map((camera) => new RayCamera(sim.mj, sim.model, { camera, width: config.imageSize, height: config.imageSize, depth: options.depth ?? false, segmentation: options.depth ?? false }))
      : [];
    const armName = (p: string) => (p === '' ? '' : p.replace(/\/$/, '') + '.');
    this.stateNames = task.armPrefixes.flatMap((p) => [...ARM_JOINTS.map((j) => `${armName(p)}${j}.pos`), `${armName(p)}gripper.pos`]);
    const actionJoint = this.actionSpace === 'joint' ? ARM_JOINTS.map((j) => `${j}.target`) : ['dx', 'dy', 'dz', 'rx', 'ry', 'rz'];
    this.actionNames = task.armPrefixes.flatMap((p) => [...actionJoint.map((j) => `${armName(p)}${j}`), `${armName(p)}gripper.target`]);
  }

  static async create(options: SimEnvOptions): Promise<SimEnv> {
    const task = typeof options.task === 'string' ? getTask(options.task) : options.task;
    const parsed = TaskConfigSchema.safeParse({ ...task.defaultConfig, ...options.config });
    if (!parsed.success) throw new UserError(describeZodIssues(`config of task '${task.name}'`, parsed.error.issues));
    const config = Object.freeze(parsed.data);
    const mj = await getMujoco();
    const model = loadModel(mj, join(ASSETS_DIR, task.scene));
    const sim = new Simulator(mj, model, { controlDt: 1 / config.controlHz });
    return new SimEnv(sim, task, config, options);
  }

  get taskName(): string {
    return this.task.name;
  }
  get fps(): number {
    return this.config.controlHz;
  }
  get maxSteps(): number {
    return this.config.maxSteps;
  }
  get stepIndex(): number {
    return this.#step;
  }
  /** The current episode's task state (instruction, object choices...). */
  get taskState(): TaskState {
    if (!this.#taskState) throw new Error('SimEnv: call reset() first');
    return this.#taskState;
  }

  reset(seed: number): Observation {
    const rng = new Rng(seed);
    this.sim.reset();
    this.#jointTargets = [];
    this.ctx.arms.forEach((arm, i) => {
      const q = this.task.home[i]!.map((v) => v + this.#homeNoise * rng.normal());
      arm.setJoints(this.sim, q, 0);
      this.#jointTargets.push(q);
    });
    this.sim.mj.mj_forward(this.sim.model, this.sim.data);
    this.#taskState = this.task.reset(this.ctx, rng);
    this.sim.mj.mj_forward(this.sim.model, this.sim.data);
    // Let objects settle onto the table before the first observation.
    for (let i = 0; i < 3; i++) this.sim.step();
    this.#eeTargets = this.ctx.arms.map((arm) => ({ pos: arm.tcpPosition(this.sim), rot: arm.tcpRotation(this.sim) as Mat3 }));
    this.#step = 0;
    this.#successStreak = 0;
    return this.observe();
  }

  step(action: Float32Array): StepResult {
    const state = this.taskState;
    const nArms = this.ctx.arms.length;
    if (action.length !== nArms * ARM_DIM) throw new UserError(`action has ${action.length} values; task '${this.task.name}' expects ${nArms * ARM_DIM} (${this.actionNames.join(', ')})`);
    for (let i = 0; i < action.length; i++) if (!Number.isFinite(action[i]!)) throw new UserError(`action[${i}] (${this.actionNames[i]}) is not finite: ${action[i]}`);
    this.ctx.arms.forEach((arm, a) => {
      const o = a * ARM_DIM;
      const gripper = action[o + 6]!;
      if (this.actionSpace === 'joint') {
        const q = Array.from(action.subarray(o, o + 6));
        arm.command(this.sim, q, gripper);
        this.#jointTargets[a] = q;
      } else {
        const t = this.#eeTargets[a]!;
        const clip = (v: number, m: number) => Math.max(-m, Math.min(m, v));
        t.pos = add3(t.pos, [clip(action[o]!, EE_MAX_TRANSLATION), clip(action[o + 1]!, EE_MAX_TRANSLATION), clip(action[o + 2]!, EE_MAX_TRANSLATION)]);
        t.rot = rotateMat([clip(action[o + 3]!, EE_MAX_ROTATION), clip(action[o + 4]!, EE_MAX_ROTATION), clip(action[o + 5]!, EE_MAX_ROTATION)], t.rot);
        const ik = this.ctx.ik.solve(arm, t.pos, t.rot, this.#jointTargets[a]!);
        arm.command(this.sim, ik.q, gripper);
        this.#jointTargets[a] = ik.q;
      }
    });
    this.sim.step();
    this.#step++;
    const unstable = this.sim.isUnstable();
    const rewardTerms = unstable ? { unstable: -1 } : this.task.rewardTerms(this.ctx, state);
    const reward = Object.values(rewardTerms).reduce((s, v) => s + v, 0);
    const success = !unstable && this.task.isSuccess(this.ctx, state);
    this.#successStreak = success ? this.#successStreak + 1 : 0;
    const successDone = this.#successStreak >= this.config.successHoldSteps;
    const truncated = !successDone && !unstable && this.#step >= this.config.maxSteps;
    const done = unstable || truncated || successDone;
    const progress = unstable ? 0 : this.task.progress(this.ctx, state);
    const observation = unstable ? this.#nanSafeObservation() : this.observe();
    return { observation, reward, rewardTerms, done, truncated, success, info: { progress, unstable, step: this.#step } };
  }

  /** The current observation (state, rendered cameras, instruction). */
  observe(): Observation {
    const state = new Float32Array(this.ctx.arms.length * ARM_DIM);
    this.ctx.arms.forEach((arm, a) => arm.readState(this.sim, state, a * ARM_DIM));
    const images: Record<string, CameraFrame> = {};
    this.#renderers.forEach((r, i) => {
      images[this.cameras[i]!] = r.render(this.sim.data);
    });
    return { state, images, task: this.taskState.instruction };
  }

  /** Renders one camera now (any camera of the scene, any size), independent of the configured ones. */
  renderCamera(camera: string, size: number, options: { depth?: boolean } = {}): CameraFrame {
    const r = new RayCamera(this.sim.mj, this.sim.model, { camera, width: size, height: size, depth: options.depth ?? true, segmentation: options.depth ?? true });
    try {
      return r.render(this.sim.data);
    } finally {
      r.dispose();
    }
  }

  /** Everything needed to continue an episode later from this exact point (reset to a recorded state). */
  getState(): SimEnvSnapshot {
    return {
      physics: this.sim.getState(),
      step: this.#step,
      successStreak: this.#successStreak,
      taskState: structuredClone(this.taskState),
      eeTargets: structuredClone(this.#eeTargets),
      jointTargets: structuredClone(this.#jointTargets),
    };
  }

  /** Restores a snapshot from getState() of an env of the same task. */
  setState(snapshot: SimEnvSnapshot): void {
    this.sim.setState(snapshot.physics);
    this.#step = snapshot.step;
    this.#successStreak = snapshot.successStreak;
    this.#taskState = structuredClone(snapshot.taskState);
    this.#eeTargets = structuredClone(snapshot.eeTargets);
    this.#jointTargets = structuredClone(snapshot.jointTargets);
  }

  #nanSafeObservation(): Observation {
    const state = new Float32Array(this.ctx.arms.length * ARM_DIM);
    return { state, images: {}, task: this.taskState.instruction };
  }

  dispose(): void {
    for (const r of this.#renderers) r.dispose();
    this.ctx.ik.dispose();
    this.sim.dispose();
  }
}
