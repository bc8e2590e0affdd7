import type { SimEnv } from '../env.ts';
import { HOLE_DEPTH, HOLE_HALF_WIDTH, PEG_HALF, INSERTED_DEPTH, inHoleFrame, pegBottom, pegObject, yawMisalignment, type PegInsertState } from '../tasks/peg_insert.ts';
import type { Vec3 } from '../math3d.ts';
import type { ScriptTools, TaskScript } from './script.ts';

/** TCP below the peg's top face when grasping (m): the fingertips reach 1 cm further down. */
const GRASP_BELOW_TOP = 0.015;
/** Peg bottom above the block's top while carrying (m). */
const CARRY_CLEARANCE = 0.035;
/** Peg bottom above the block's top before the slow descent (m). */
const HOVER_CLEARANCE = 0.012;
/** Target depth of the peg's bottom below the block's top at the end of the insertion (m). */
const INSERT_DEPTH = 0.032;
/** Pressing depth of a deliberately missed insertion (peg on the rim) (m). */
const MISS_PRESS = 0.006;
/** Off-centre distance of a deliberately missed insertion (m), lands the peg on the rim. */
const MISS_OFFSET: [number, number] = [0.003, 0.006];
/** Probability of a deliberate miss per episode at flawRate 1. */
const MISS_PROBABILITY = 0.6;
/** Insertion attempts after the first one. */
const MAX_RETRIES = 3;
/** Alignment passes (measure the peg, correct the TCP target) above the hole. */
const ALIGN_PASSES = 3;

const QUARTER = Math.PI / 2;
/** `a` shifted by a multiple of pi/2 to lie within pi/4 of `ref` (the square's symmetry). */
function nearestQuarter(a: number, ref: number): number {
  return a - QUARTER * Math.round((a - ref) / QUARTER);
}

/**
 * peg-insert expert: grasp the peg near its top with the fingers square to its faces, lift, carry
 * it above the hole turned to the hole's yaw (modulo pi/2), then close the loop on the PEG, not
 * the TCP: measure where the peg's bottom really is (it may sit off-centre or tilted in the
 * grasp) and shift the TCP target until the peg is centred, descend slowly, check the depth,
 * open and retreat. A failed insertion (deliberate or real) lifts, re-aligns and tries again, up
 * to MAX_RETRIES times. At low quality, with probability 0.6 * flawRate, the first descent is
 * 3-6 mm off-centre so the peg lands on the rim (`missed_insertion`, then `retry` segments).
 */
export function* pegInsertScript(env: SimEnv, tools: ScriptTools): TaskScript {
  const state = env.taskState as PegInsertState;
  const sim = env.sim;
  const peg = pegObject(sim);

  // Grasp: finger axis square to the peg's faces, the quarter-turn nearest the current wrist yaw.
  const pegPos = peg.position(sim);
  const graspYaw = nearestQuarter(peg.yaw(sim), tools.tcp(0).yaw);
  const pegTop = pegPos[2] + PEG_HALF[2];
  const graspZ = pegTop - GRASP_BELOW_TOP;
  yield { name: 'approach_peg', targets: [{ pos: [pegPos[0], pegPos[1], pegTop + 0.05], yaw: graspYaw, grip: 0 }], steps: 26 };
  yield { name: 'descend_to_peg', targets: [{ pos: [pegPos[0], pegPos[1], graspZ], yaw: graspYaw, grip: 0 }], steps: 14, precise: true };
  yield { name: 'close', targets: [{ pos: [pegPos[0], pegPos[1], graspZ], yaw: graspYaw, grip: 1 }], steps: 8, precise: true };

  // Lift; then measure the peg in the hand (bottom offset from the TCP, yaw offset).
  const carryZ = (bottomBelowTcp: number) => HOLE_DEPTH + CARRY_CLEARANCE + bottomBelowTcp;
  let target: Vec3 = [pegPos[0], pegPos[1], carryZ(2 * PEG_HALF[2] - GRASP_BELOW_TOP)];
  let yaw = graspYaw;
  // A careful vertical lift (precise: a downward wrong-way detour here would push the peg up
  // through the 5 N grasp).
  yield { name: 'lift', targets: [{ pos: target, yaw, grip: 1 }], steps: 14, precise: true };
  yield { name: 'settle', targets: [null], steps: 3, precise: true };

  const deliberateMiss = tools.random() < MISS_PROBABILITY * tools.flawRate;
  for (let attempt = 0; attempt <= MAX_RETRIES; attempt++) {
    const retry = attempt > 0;
    const miss = deliberateMiss && attempt === 0;

    // Where the peg's bottom is relative to the TCP, in the TCP's yaw frame.
    const tcp = tools.tcp(0);
    const bottom = pegBottom(sim);
    const dx = bottom[0] - tcp.pos[0], dy = bottom[1] - tcp.pos[1];
    const c0 = Math.cos(tcp.yaw), s0 = Math.sin(tcp.yaw);
    const local = [c0 * dx + s0 * dy, -s0 * dx + c0 * dy];
    const bottomBelowTcp = tcp.pos[2] - bottom[2];
    // Turn the wrist so the peg's faces line up with the hole's (modulo pi/2).
    const pegYawInHand = peg.yaw(sim) - tcp.yaw;
    yaw = nearestQuarter(state.holeYaw - pegYawInHand, yaw);
    const c1 = Math.cos(yaw), s1 = Math.sin(yaw);
    const offset = [c1 * local[0]! - s1 * local[1]!, s1 * local[0]! + c1 * local[1]!];
    target = [state.holeTop[0] - offset[0]!, state.holeTop[1] - offset[1]!, carryZ(bottomBelowTcp)];
    // A retry's move is precise: a wrong-way detour from just above the rim would go down into it.
    yield { name: retry ? 'realign_above_hole' : 'carry_to_hole', targets: [{ pos: target, yaw, grip: 1 }], steps: retry ? 14 : 24, retry, precise: retry };

    // Hover just above the opening and close the loop on the peg's measured bottom and yaw.
    target = [target[0], target[1], HOLE_DEPTH + HOVER_CLEARANCE + bottomBelowTcp];
    yield { name: 'hover', targets: [{ pos: target, yaw, grip: 1 }], steps: 10, precise: true, retry };
    for (let pass = 0; pass < ALIGN_PASSES; pass++) {
      const err = inHoleFrame(state, pegBottom(sim));
      const ch = Math.cos(state.holeYaw), sh = Math.sin(state.holeYaw);
      target = [target[0] - (ch * err[0] - sh * err[1]), target[1] - (sh * err[0] + ch * err[1]), HOLE_DEPTH + HOVER_CLEARANCE + (tools.tcp(0).pos[2] - pegBottom(sim)[2])];
      yaw -= yawMisalignment(sim, state);
      yield { name: 'align', targets: [{ pos: target, yaw, grip: 1 }], steps: 6, precise: true, retry };
    }

    const bottomNow = tools.tcp(0).pos[2] - pegBottom(sim)[2];
    if (miss) {
      // Off-centre by 3-6 mm in a random direction: the peg lands on the rim and stops there.
      const r = MISS_OFFSET[0] + (MISS_OFFSET[1] - MISS_OFFSET[0]) * tools.random();
      const a = 2 * Math.PI * tools.random();
      const ch = Math.cos(state.holeYaw), sh = Math.sin(state.holeYaw);
      const mx = Math.cos(a) * r, my = Math.sin(a) * r; // hole frame; |mx| or |my| >= r / sqrt(2) > clearance
      const missTarget: Vec3 = [target[0] + ch * mx - sh * my, target[1] + sh * mx + ch * my, HOLE_DEPTH - MISS_PRESS + bottomNow];
      yield { name: 'shift_off_centre', targets: [{ pos: [missTarget[0], missTarget[1], target[2]], yaw, grip: 1 }], steps: 6, precise: true, flaw: 'missed_insertion' };
      yield { name: 'insert', targets: [{ pos: missTarget, yaw, grip: 1 }], steps: 16, precise: true, flaw: 'missed_insertion' };
    } else {
      yield { name: 'insert', targets: [{ pos: [target[0], target[1], HOLE_DEPTH - INSERT_DEPTH + bottomNow], yaw, grip: 1 }], steps: 30, precise: true, retry };
    }
    yield { name: 'check', targets: [null], steps: 2, precise: true, retry, ...(miss ? { flaw: 'missed_insertion' as const } : {}) };

    const [bx, by, bz] = inHoleFrame(state, pegBottom(sim));
    if (Math.max(Math.abs(bx), Math.abs(by)) <= HOLE_HALF_WIDTH && -bz >= INSERTED_DEPTH) break;
    if (attempt === MAX_RETRIES) break;
    // Back up: lift the peg clear of the rim (the next pass re-measures it in the hand).
    const back = tools.tcp(0).pos;
    yield { name: 'lift_off_rim', targets: [{ pos: [back[0], back[1], back[2] + 0.025], yaw, grip: 1 }], steps: 10, precise: true, retry: true };
  }

  // Let go (the peg drops to the hole's floor) and move away upwards.
  const here = tools.tcp(0).pos;
  yield { name: 'open', targets: [{ pos: here, yaw, grip: 0 }], steps: 8, precise: true };
  yield { name: 'retreat', targets: [{ pos: [here[0], here[1], here[2] + 0.08], yaw, grip: 0 }], steps: 14 };
}

