import type { FlawLabel, FlawKind } from '../../src/core/episode.ts';
import { Rng } from '../../src/core/rng.ts';
import type { SimEnv } from '../env.ts';
import { ARM_DIM } from '../arm.ts';
import { minJerk, rotateMat, rotationError, topDownRotation, toolYaw, lerp3, add3, sub3, norm3, scale3, type Mat3, type Vec3 } from '../math3d.ts';
import type { ArmTarget, Segment, ScriptTools, TaskScript } from './script.ts';

/** Named demo quality levels (1 = clean). Any number in [0, 1] is also accepted. */
export const QUALITY_LEVELS = { clean: 1, good: 0.75, fair: 0.5, poor: 0.25 } as const;

export interface ScriptedExpertOptions {
  /** 1 = clean demonstrations; lower injects more teleoperation flaws. @default 1 */
  quality?: number;
  /** Seed of the flaw stream (independent of the scene's randomisation). @default 0 */
  seed?: number;
}

/** Per-segment probabilities of generic flaws at flawRate 1 (scaled linearly by 1 - quality). */
const FLAW_PROBABILITY = { hesitation: 0.35, jitter: 0.35, wrong_way: 0.25 } as const;
/** Jitter amplitude: std of a low-passed random walk on the TCP target (metres). */
const JITTER_STD_M = 0.006;
/** Wrong-way detour length (metres) and duration (steps). */
const WRONG_WAY_M: [number, number] = [0.03, 0.06];
const WRONG_WAY_STEPS = 6;
const HESITATION_STEPS: [number, number] = [6, 16];

interface Pose {
  pos: Vec3;
  rot: Mat3;
  grip: number;
}

/**
 * Turns a task script (segments of Cartesian targets) into joint-position actions, and injects
 * the flaws of human teleoperation according to `quality`: jitter, hesitations, short wrong-way
 * motions (generic, here) plus failed grasps / missed insertions with retries (task scripts).
 * Every flaw and retry is labelled with its frame range.
 */
export class ScriptedExpert {
  readonly #env: SimEnv;
  readonly #makeScript: (env: SimEnv, tools: ScriptTools) => TaskScript;
  readonly #flawRate: number;
  readonly #rng: Rng;
  #script: TaskScript | undefined;
  #queue: Pose[][] = [];
  #commanded: Pose[] = [];
  #q: number[][] = [];
  #t = 0;
  #flaws: FlawLabel[] = [];
  #finished = false;

  constructor(env: SimEnv, makeScript: (env: SimEnv, tools: ScriptTools) => TaskScript, options: ScriptedExpertOptions = {}) {
    const quality = options.quality ?? 1;
    if (!(quality >= 0 && quality <= 1)) throw new RangeError(`quality must be in [0, 1], got ${quality}`);
    this.#env = env;
    this.#makeScript = makeScript;
    this.#flawRate = 1 - quality;
    this.#rng = new Rng(options.seed ?? 0);
  }

  /** Flaw labels so far (frame ranges refer to action indices since reset). */
  get flaws(): FlawLabel[] {
    return this.#flaws;
  }
  /** The script has ended (the expert now holds its last pose). */
  get finished(): boolean {
    return this.#finished;
  }

  /** Starts a new episode; call right after `env.reset()`. */
  reset(): void {
    const { sim, arms } = this.#env.ctx;
    this.#commanded = arms.map((arm) => ({ pos: arm.tcpPosition(sim), rot: arm.tcpRotation(sim) as Mat3, grip: 0 }));
    this.#q = arms.map((arm) => arm.jointPositions(sim));
    this.#queue = [];
    this.#t = 0;
    this.#flaws = [];
    this.#finished = false;
    const tools: ScriptTools = {
      flawRate: this.#flawRate,
      random: () => this.#rng.uniform(),
      tcp: (i) => {
        const arm = arms[i]!;
        return { pos: arm.tcpPosition(sim), yaw: toolYaw(arm.tcpRotation(sim)) };
      },
    };
    this.#script = this.#makeScript(this.#env, tools);
  }

  /** The joint-space action for the current step. */
  act(): Float32Array {
    if (!this.#script) throw new Error('ScriptedExpert: call reset() after env.reset()');
    while (this.#queue.length === 0 && !this.#finished) {
      const next = this.#script.next();
      if (next.done) this.#finished = true;
      else this.#expand(next.value);
    }
    const poses = this.#queue.shift() ?? this.#commanded;
    this.#commanded = poses;
    const { arms, ik } = this.#env.ctx;
    const action = new Float32Array(arms.length * ARM_DIM);
    arms.forEach((arm, a) => {
      const p = poses[a]!;
      const sol = ik.solve(arm, p.pos, p.rot, this.#q[a]!);
      this.#q[a] = sol.q;
      action.set(sol.q, a * ARM_DIM);
      action[a * ARM_DIM + 6] = p.grip;
    });
    this.#t++;
    return action;
  }

  #label(kind: FlawKind, start: number, length: number): void {
    if (length > 0) this.#flaws.push({ kind, start, end: start + length });
  }

  /** Expands a segment into per-step poses, with generic flaws unless it is a precision motion. */
  #expand(seg: Segment): void {
    const start = this.#queuedEnd();
    const targets: Pose[] = seg.targets.map((t, a) => (t ? toPose(t) : { ...start[a]! }));
    let from = start;
    let frame = this.#t + this.#queue.length;
    const generic = !seg.precise && this.#flawRate > 0;
    if (generic && this.#rng.uniform() < FLAW_PROBABILITY.hesitation * this.#flawRate) {
      const n = HESITATION_STEPS[0] + this.#rng.int(HESITATION_STEPS[1] - HESITATION_STEPS[0]);
      for (let i = 0; i < n; i++) this.#queue.push(from.map((p) => ({ ...p })));
      this.#label('hesitation', frame, n);
      frame += n;
    }
    const moving = seg.targets.some((t) => t !== null);
    if (generic && this.#rng.uniform() < FLAW_PROBABILITY.wrong_way * this.#flawRate && moving) {
      // Move briefly away from where the segment is going, as an operator misreading the view.
      const detour = from.map((p, a) => {
        if (seg.targets[a] === null) return { ...p }; // an arm told to hold keeps holding
        let dir = sub3(p.pos, targets[a]!.pos);
        if (norm3(dir) < 1e-3) dir = [this.#rng.normal(), this.#rng.normal(), 0];
        const length = WRONG_WAY_M[0] + (WRONG_WAY_M[1] - WRONG_WAY_M[0]) * this.#rng.uniform();
        return { ...p, pos: add3(p.pos, scale3(dir, length / Math.max(norm3(dir), 1e-9))) };
      });
      this.#pushInterpolation(from, detour, WRONG_WAY_STEPS, null);
      this.#label('wrong_way', frame, WRONG_WAY_STEPS);
      frame += WRONG_WAY_STEPS;
      from = detour;
    }
    const jitter = generic && this.#rng.uniform() < FLAW_PROBABILITY.jitter * this.#flawRate;
    this.#pushInterpolation(from, targets, seg.steps, jitter ? this.#rng : null);
    if (jitter) this.#label('jitter', frame, seg.steps);
    if (seg.flaw) this.#label(seg.flaw, frame, seg.steps);
    if (seg.retry) this.#label('retry', frame, seg.steps);
    // Contiguous labels of the same kind (a multi-segment retry) merge into one range.
    this.#mergeLabels();
  }

  #pushInterpolation(from: Pose[], to: Pose[], steps: number, jitterRng: Rng | null): void {
    const offsets = from.map((): Vec3 => [0, 0, 0]);
    for (let i = 1; i <= steps; i++) {
      const s = minJerk(i / steps);
      const poses = from.map((f, a) => {
        const t = to[a]!;
        let pos = lerp3(f.pos, t.pos, s);
        if (jitterRng) {
          // Low-passed random walk, fading out at the segment's end so the target is still reached.
          const o = offsets[a]!;
          for (let k = 0; k < 3; k++) o[k] = 0.7 * o[k]! + 0.3 * JITTER_STD_M * 2.5 * jitterRng.normal();
          pos = add3(pos, scale3(o, Math.sin(Math.PI * (i / steps))));
        }
        const rot = rotateMat(scale3(rotationError(t.rot, f.rot), s), f.rot);
        const grip = f.grip + (t.grip - f.grip) * Math.min(1, (2 * i) / steps);
        return { pos, rot, grip };
      });
      this.#queue.push(poses);
    }
  }

  #queuedEnd(): Pose[] {
    return this.#queue.length > 0 ? this.#queue[this.#queue.length - 1]! : this.#commanded;
  }

  #mergeLabels(): void {
    const merged: FlawLabel[] = [];
    for (const l of this.#flaws) {
      const prev = merged.find((m) => m.kind === l.kind && m.end === l.start);
      if (prev) prev.end = l.end;
      else merged.push({ ...l });
    }
    this.#flaws = merged;
  }
}

function toPose(t: ArmTarget): Pose {
  return { pos: [...t.pos] as Vec3, rot: t.rot ?? topDownRotation(t.yaw ?? 0), grip: t.grip };
}
