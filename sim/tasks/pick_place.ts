import { defineTask, type TaskContext, type TaskState } from '../task.ts';
import type { Simulator } from '../simulator.ts';
import { FreeObject } from '../scene_objects.ts';
import { norm3, sub3, type Vec3 } from '../math3d.ts';
import type { Rng } from '../../src/core/rng.ts';

/**
 * pick-place: put the named cube (red, green or blue) into the named bin (left or right).
 *
 * Scene (`assets/tasks/pick_place.xml`): the fs6 arm at (-0.4, 0, 0) facing +x, three 4 cm cubes
 * placed at random, non-overlapping positions in front of it with random yaw, and two open bins
 * (12 x 12 cm inside, walls 4 cm above the floor). "left" and "right" are from the robot's point
 * of view: the robot faces +x, so its left bin is at +y and its right bin at -y. (The shared
 * `front` camera looks back at the robot, so the left bin appears on the image's right.)
 * The scene is mirror-symmetric about y = 0 in distribution, so mirroring an episode in y and
 * swapping "left"/"right" in its instruction gives a valid episode (GR-RL mirror augmentation).
 *
 * Each episode samples the target colour and bin, so a policy must read the instruction (one
 * ignoring it succeeds about 1 time in 6).
 *
 * Success: the target cube's centre is inside the target bin's inner footprint and below its wall
 * top, the cube is nearly at rest, and neither finger touches it (the gripper has let go).
 * Reward terms: `grasp` (shaped approach, 1 while held), `lift`, `place` (shaped carry towards
 * the bin while held, 1 once inside), `wrong_place` (a cube in a bin it should not be in),
 * `success`. Progress is staged: reach 0-0.25, grasp 0.3, lift 0.3-0.4, move 0.4-0.75,
 * in the bin 0.85, released 0.95, success 1.
 */

export const CUBE_COLOURS = ['red', 'green', 'blue'] as const;
export type CubeColour = (typeof CUBE_COLOURS)[number];
export const BIN_SIDES = ['left', 'right'] as const;
export type BinSide = (typeof BIN_SIDES)[number];

/** Scene geometry shared with the expert (metres; must match the MJCF). */
export const PICK_PLACE_GEOMETRY = {
  cubeHalf: 0.02,
  /** Half side of a bin's inside (inner faces of the walls). */
  binInnerHalf: 0.06,
  /** Height of a bin's floor top and of its wall tops above the bin origin (on the table). */
  binFloorTop: 0.004,
  binWallTop: 0.044,
  /** Cube centres are sampled in this region, at least `cubeMinSeparation` apart. */
  cubeX: [-0.12, 0.12] as const,
  cubeY: [-0.065, 0.065] as const,
  /** Clears the open fingers (they reach 5.9 cm from the grasp axis) of a neighbour cube's corner (2.8 cm). */
  cubeMinSeparation: 0.09,
  /** Bin centres: x in this range, |y| in `binAbsY` (left at +y, right at -y). */
  binX: [-0.03, 0.03] as const,
  binAbsY: [0.19, 0.21] as const,
} as const;

/** Cube at rest when slower than this (m/s). */
const REST_SPEED = 0.05;
/** Lift counted in full at this height above the table (m). */
const LIFT_HEIGHT = 0.05;

const INSTRUCTION_TEMPLATES: ReadonlyArray<(c: CubeColour, s: BinSide) => string> = [
  (c, s) => `put the ${c} cube in the ${s} bin`,
  (c, s) => `place the ${c} block into the ${s} bin`,
  (c, s) => `move the ${c} cube to the ${s} bin`,
  (c, s) => `pick up the ${c} cube and drop it in the ${s} bin`,
  (c, s) => `put the ${c} block in the bin on the ${s}`,
];

export interface PickPlaceState extends TaskState {
  colour: CubeColour;
  side: BinSide;
  /** Bin centres on the table top (floor underside), by side. */
  bins: Record<BinSide, Vec3>;
  /** TCP-to-cube distance and cube-to-bin horizontal distance at reset (progress normalisers). */
  initialReach: number;
  initialCarry: number;
}

/** Handles on the scene's objects, looked up once per simulator. */
export interface PickPlaceScene {
  cubes: Record<CubeColour, FreeObject>;
  cubeGeoms: Record<CubeColour, number>;
  /** Mocap index of each bin body. */
  binMocap: Record<BinSide, number>;
}

const scenes = new WeakMap<Simulator, PickPlaceScene>();

/** The scene's object handles (cached per simulator). */
export function pickPlaceScene(sim: Simulator): PickPlaceScene {
  let scene = scenes.get(sim);
  if (!scene) {
    const mocapIds = sim.model.body_mocapid as Int32Array;
    const byColour = <T>(f: (c: CubeColour) => T) => Object.fromEntries(CUBE_COLOURS.map((c) => [c, f(c)])) as Record<CubeColour, T>;
    scene = {
      cubes: byColour((c) => new FreeObject(sim, `cube_${c}`)),
      cubeGeoms: byColour((c) => sim.id('geom', `cube_${c}_geom`)),
      binMocap: { left: mocapIds[sim.id('body', 'bin_left')]!, right: mocapIds[sim.id('body', 'bin_right')]! },
    };
    scenes.set(sim, scene);
  }
  return scene;
}

/** True when a point is inside a bin: within its inner footprint and below its wall top. */
export function insideBin(p: Vec3, bin: Vec3): boolean {
  const g = PICK_PLACE_GEOMETRY;
  return Math.abs(p[0] - bin[0]) < g.binInnerHalf && Math.abs(p[1] - bin[1]) < g.binInnerHalf && p[2] - bin[2] < g.binWallTop && p[2] > bin[2];
}

/** Which fingers of arm 0 touch a geom, from one read of the contact list. */
export function fingerTouches(ctx: TaskContext, geom: number): { left: boolean; right: boolean } {
  const { sim } = ctx;
  const [fl, fr] = ctx.arms[0]!.fingerGeoms;
  const out = { left: false, right: false };
  const n = sim.data.ncon as number;
  if (n === 0) return out;
  // `data.contact` is a fresh copy each access: read once, delete each element and the vector.
  const contacts = sim.data.contact;
  try {
    for (let i = 0; i < n; i++) {
      const c = contacts.get(i);
      if (!c) continue;
      const g1 = c.geom1 as number, g2 = c.geom2 as number;
      c.delete();
      if (g1 !== geom && g2 !== geom) continue;
      const other = g1 === geom ? g2 : g1;
      if (other === fl) out.left = true;
      else if (other === fr) out.right = true;
    }
  } finally {
    contacts.delete?.();
  }
  return out;
}

/** Everything the reward, success and progress read, measured once. */
function measure(ctx: TaskContext, state: PickPlaceState) {
  const { sim } = ctx;
  const scene = pickPlaceScene(sim);
  const cube = scene.cubes[state.colour];
  const pos = cube.position(sim);
  const tcp = ctx.arms[0]!.tcpPosition(sim);
  const touch = fingerTouches(ctx, scene.cubeGeoms[state.colour]);
  const bin = state.bins[state.side];
  return {
    pos,
    reach: norm3(sub3(tcp, pos)),
    carry: Math.hypot(pos[0] - bin[0], pos[1] - bin[1]),
    held: touch.left && touch.right,
    released: !touch.left && !touch.right,
    lifted: Math.min(1, Math.max(0, (pos[2] - PICK_PLACE_GEOMETRY.cubeHalf) / LIFT_HEIGHT)),
    inBin: insideBin(pos, bin),
    atRest: cube.speed(sim) < REST_SPEED,
  };
}

function sampleCubes(rng: Rng): Vec3[] {
  const g = PICK_PLACE_GEOMETRY;
  // Rejection sampling; the region fits three cubes easily (a few tries on average).
  for (let attempt = 0; attempt < 1000; attempt++) {
    const ps: Vec3[] = CUBE_COLOURS.map((): Vec3 => [rng.range(g.cubeX[0], g.cubeX[1]), rng.range(g.cubeY[0], g.cubeY[1]), g.cubeHalf]);
    const ok = ps.every((p, i) => ps.every((q, j) => j <= i || Math.hypot(p[0] - q[0], p[1] - q[1]) >= g.cubeMinSeparation));
    if (ok) return ps;
  }
  // Unreachable in practice; a fixed valid layout keeps reset total.
  return [
    [-0.1, 0, g.cubeHalf],
    [0, 0, g.cubeHalf],
    [0.1, 0, g.cubeHalf],
  ];
}

export const pickPlaceTask = defineTask<PickPlaceState>({
  name: 'pick-place',
  description: 'Put the named cube (red, green or blue) into the left or right bin (robot point of view).',
  scene: 'tasks/pick_place.xml',
  armPrefixes: [''],
  // Cameras: `front` frames both bins, the cubes (4-5 px each at 64x64, colours clear) and the
  // gripper; `wrist` looks along the fingers and shows the cube being approached at ~15 px, which
  // the default policy (policies/default) uses for the final approach and grasp.
  defaultConfig: { maxSteps: 240, controlHz: 20, cameras: ['front', 'wrist'], imageSize: 64, successHoldSteps: 5 },
  instructionExamples: INSTRUCTION_TEMPLATES.map((t, i) => t(CUBE_COLOURS[i % 3]!, BIN_SIDES[i % 2]!)),
  home: [[0, 0.2, 1.6, 1.34, 0, 0]],

  reset(ctx, rng) {
    const { sim, arms } = ctx;
    const g = PICK_PLACE_GEOMETRY;
    const scene = pickPlaceScene(sim);
    const bins: Record<BinSide, Vec3> = {
      left: [rng.range(g.binX[0], g.binX[1]), rng.range(g.binAbsY[0], g.binAbsY[1]), 0],
      right: [rng.range(g.binX[0], g.binX[1]), -rng.range(g.binAbsY[0], g.binAbsY[1]), 0],
    };
    const mocapPos = sim.data.mocap_pos as Float64Array;
    for (const side of BIN_SIDES) mocapPos.set(bins[side], scene.binMocap[side] * 3);
    const positions = sampleCubes(rng);
    CUBE_COLOURS.forEach((c, i) => scene.cubes[c].place(sim, positions[i]!, rng.range(-Math.PI / 4, Math.PI / 4)));
    const colour = rng.pick(CUBE_COLOURS);
    const side = rng.pick(BIN_SIDES);
    const instruction = rng.pick(INSTRUCTION_TEMPLATES)(colour, side);
    sim.mj.mj_forward(sim.model, sim.data);
    const cube = positions[CUBE_COLOURS.indexOf(colour)]!;
    const bin = bins[side];
    return {
      instruction,
      colour,
      side,
      bins,
      initialReach: norm3(sub3(arms[0]!.tcpPosition(sim), cube)),
      initialCarry: Math.hypot(cube[0] - bin[0], cube[1] - bin[1]),
    };
  },

  rewardTerms(ctx, state) {
    const m = measure(ctx, state);
    const { sim } = ctx;
    const scene = pickPlaceScene(sim);
    // A cube in a bin it was not asked into: the target in the other bin, or any other cube in a bin.
    let wrong = 0;
    for (const c of CUBE_COLOURS)
      for (const s of BIN_SIDES) if ((c !== state.colour || s !== state.side) && insideBin(scene.cubes[c].position(sim), state.bins[s])) wrong += 1;
    return {
      grasp: m.inBin || m.held ? 1 : 0.5 * (1 - Math.tanh(10 * m.reach)),
      // Over the bin the cube is lowered again: lift stays full there.
      lift: m.inBin || (m.held && m.carry < PICK_PLACE_GEOMETRY.binInnerHalf) ? 1 : m.held ? m.lifted : 0,
      place: m.inBin ? 1 : m.held ? 1 - Math.tanh(5 * m.carry) : 0,
      wrong_place: -wrong,
      success: m.inBin && m.atRest && m.released ? 1 : 0,
    };
  },

  isSuccess(ctx, state) {
    const m = measure(ctx, state);
    return m.inBin && m.atRest && m.released;
  },

  progress(ctx, state) {
    const m = measure(ctx, state);
    const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
    if (m.inBin) return m.released ? (m.atRest ? 1 : 0.95) : 0.85;
    if (!m.held) return 0.25 * clamp01(1 - m.reach / Math.max(state.initialReach, 1e-6));
    if (m.lifted < 0.2) return 0.3 + 0.1 * (m.lifted / 0.2);
    return 0.4 + 0.35 * clamp01(1 - m.carry / Math.max(state.initialCarry, 1e-6));
  },
});
