import { defineTask, type TaskContext, type TaskState } from '../task.ts';
import { FreeObject } from '../scene_objects.ts';
import { norm3, sub3, type Vec3 } from '../math3d.ts';
import type { Simulator } from '../simulator.ts';

/**
 * bimanual-lift: two fs6 arms (left/ at y = +0.3, right/ at y = -0.3, both facing +x) lift a
 * 46 cm bar by the upright handle block at each of its ends and hold it level.
 *
 * - Reset: the bar lies on the table at x in [-0.06, 0.08], |y| <= 0.04, yaw +-15 deg; its colour
 *   is drawn from four and named in the instruction.
 * - Success: the bar's centre is >= 8 cm above where it started, its tilt is < 10 deg, and each
 *   arm holds its own handle (both fingers touching it). A one-arm lift tilts the bar (the far
 *   end stays on the table: the centre only rises 8 cm at ~22 deg), so both arms are needed.
 * - Symmetric about y = 0 (scene, bar, randomisation ranges, cameras on the plane): a mirrored
 *   demonstration (`sim/mirror.ts`) is again a valid one.
 */
export interface BimanualLiftState extends TaskState {
  colour: BarColour;
  /** Bar centre at reset (after settling is negligible: it rests on the table). */
  initialCentre: Vec3;
  /** Initial TCP-to-handle distances (left, right), for progress. */
  initialReach: [number, number];
}

export const BAR_COLOURS = {
  red: [0.85, 0.15, 0.15],
  green: [0.2, 0.7, 0.25],
  blue: [0.2, 0.35, 0.9],
  yellow: [0.9, 0.8, 0.15],
} as const;
export type BarColour = keyof typeof BAR_COLOURS;

/** Half-distance between the two handle centres along the bar (metres), as in the MJCF. */
export const HANDLE_OFFSET_M = 0.205;
const LIFT_SUCCESS_M = 0.08;
const TILT_SUCCESS_RAD = (10 * Math.PI) / 180;
const BAR_X: [number, number] = [-0.06, 0.08];
const BAR_Y_ABS = 0.04;
const BAR_YAW_ABS = (15 * Math.PI) / 180;
/** Bar body height when resting on the table (half its thickness). */
const BAR_REST_Z = 0.01;

const TEMPLATES = [
  'lift the {c} bar with both hands',
  'use both arms to lift the {c} bar and keep it level',
  'pick up the {c} bar by its two handles',
  'raise the {c} bar with both grippers, holding it level',
  'grab both ends of the {c} bar and lift it up',
];
const COLOUR_NAMES = Object.keys(BAR_COLOURS) as BarColour[];

/** Geoms and handles of the scene, looked up by name. */
export function barParts(sim: Simulator): { bar: FreeObject; barGeom: number; handles: [number, number] } {
  return {
    bar: new FreeObject(sim, 'bar'),
    barGeom: sim.id('geom', 'bar_geom'),
    handles: [sim.id('geom', 'handle_left'), sim.id('geom', 'handle_right')],
  };
}

/** World position of handle `i` (0 left, 1 right). */
export function handlePosition(sim: Simulator, i: number): Vec3 {
  const g = sim.id('geom', i === 0 ? 'handle_left' : 'handle_right');
  const x = sim.data.geom_xpos as Float64Array;
  return [x[3 * g]!, x[3 * g + 1]!, x[3 * g + 2]!];
}

/** Tilt of the bar (angle between its z axis and the world's), radians. */
export function barTilt(sim: Simulator): number {
  const r = new FreeObject(sim, 'bar').rotation(sim);
  return Math.acos(Math.max(-1, Math.min(1, r[8]!)));
}

/** Per arm: both of its fingers touch its own handle (one pass over the contact list). */
export function handlesHeld(ctx: TaskContext): [boolean, boolean] {
  const { sim, arms } = ctx;
  const handles = [sim.id('geom', 'handle_left'), sim.id('geom', 'handle_right')];
  const touch = [
    [false, false],
    [false, false],
  ];
  const n = sim.data.ncon as number;
  if (n > 0) {
    // `data.contact` is a fresh copy each access: read once, delete after.
    const contacts = sim.data.contact;
    try {
      for (let i = 0; i < n; i++) {
        const c = contacts.get(i);
        if (!c) continue;
        const g1 = c.geom1 as number;
        const g2 = c.geom2 as number;
        c.delete();
        arms.forEach((arm, a) => {
          const h = handles[a]!;
          arm.fingerGeoms.forEach((f, k) => {
            if ((g1 === f && g2 === h) || (g1 === h && g2 === f)) touch[a]![k] = true;
          });
        });
      }
    } finally {
      contacts.delete?.();
    }
  }
  return [touch[0]![0]! && touch[0]![1]!, touch[1]![0]! && touch[1]![1]!];
}

interface Measures {
  reach: [number, number];
  held: [boolean, boolean];
  lift: number;
  tilt: number;
}

function measure(ctx: TaskContext, state: BimanualLiftState): Measures {
  const { sim, arms } = ctx;
  const reach = arms.map((arm, i) => norm3(sub3(arm.tcpPosition(sim), handlePosition(sim, i)))) as [number, number];
  const centre = new FreeObject(sim, 'bar').position(sim);
  return { reach, held: handlesHeld(ctx), lift: centre[2] - state.initialCentre[2], tilt: barTilt(sim) };
}

export const bimanualLiftTask = defineTask<BimanualLiftState>({
  name: 'bimanual-lift',
  description: 'Two arms lift a 46 cm bar by its end handles at least 8 cm and hold it level (tilt < 10 deg).',
  scene: 'tasks/bimanual_lift.xml',
  armPrefixes: ['left/', 'right/'],
  defaultConfig: { maxSteps: 240, controlHz: 20, cameras: ['front'], imageSize: 64, successHoldSteps: 5 },
  instructionExamples: COLOUR_NAMES.map((c, i) => TEMPLATES[i % TEMPLATES.length]!.replace('{c}', c)),
  // Mirror images of each other (pan, wrist_yaw, wrist_roll negate; here they are 0).
  home: [
    [0, 0.2, 1.6, 1.34, 0, 0],
    [0, 0.2, 1.6, 1.34, 0, 0],
  ],

  reset(ctx, rng) {
    const { sim, arms } = ctx;
    const colour = rng.pick(COLOUR_NAMES);
    const { bar, barGeom } = barParts(sim);
    (sim.model.geom_rgba as Float32Array).set([...BAR_COLOURS[colour], 1], 4 * barGeom);
    const centre: Vec3 = [rng.range(BAR_X[0], BAR_X[1]), rng.range(-BAR_Y_ABS, BAR_Y_ABS), BAR_REST_Z];
    bar.place(sim, centre, rng.range(-BAR_YAW_ABS, BAR_YAW_ABS));
    sim.mj.mj_forward(sim.model, sim.data);
    const initialReach = arms.map((arm, i) => norm3(sub3(arm.tcpPosition(sim), handlePosition(sim, i)))) as [number, number];
    const instruction = rng.pick(TEMPLATES).replace('{c}', colour);
    return { instruction, colour, initialCentre: centre, initialReach };
  },

  rewardTerms(ctx, state) {
    const m = measure(ctx, state);
    const bothHeld = m.held[0] && m.held[1];
    const lifted = Math.max(0, Math.min(1, m.lift / LIFT_SUCCESS_M));
    return {
      reach: 0.5 * (2 - Math.tanh(10 * m.reach[0]) - Math.tanh(10 * m.reach[1])),
      grasp: 0.5 * (Number(m.held[0]) + Number(m.held[1])),
      lift: bothHeld ? lifted : 0,
      level: m.lift > 0.01 ? -Math.min(1, m.tilt / TILT_SUCCESS_RAD) : 0,
      success: isLiftSuccess(m) ? 1 : 0,
    };
  },

  isSuccess(ctx, state) {
    return isLiftSuccess(measure(ctx, state));
  },

  progress(ctx, state) {
    const m = measure(ctx, state);
    // 0..0.3 approach, 0.3..0.5 grasps, 0.5..1 level lift.
    const approach = [0, 1].map((i) => Math.max(0, Math.min(1, 1 - m.reach[i]! / Math.max(state.initialReach[i]!, 1e-6))));
    const grasp = 0.5 * (Number(m.held[0]) + Number(m.held[1]));
    const level = Math.max(0, 1 - m.tilt / TILT_SUCCESS_RAD);
    const lift = m.held[0] && m.held[1] ? Math.max(0, Math.min(1, m.lift / LIFT_SUCCESS_M)) * level : 0;
    return 0.15 * (approach[0]! + approach[1]!) + 0.2 * grasp + 0.5 * lift;
  },
});

function isLiftSuccess(m: Measures): boolean {
  return m.held[0] && m.held[1] && m.lift >= LIFT_SUCCESS_M && m.tilt < TILT_SUCCESS_RAD;
}
