import type { SimEnv } from '../env.ts';
import type { ReachState } from '../tasks/reach.ts';
import type { ScriptTools, TaskScript } from './script.ts';

/** reach expert: straight to the ball (top-down, current yaw), then hold. */
export function* reachScript(env: SimEnv, tools: ScriptTools): TaskScript {
  const state = env.taskState as ReachState;
  const { yaw } = tools.tcp(0);
  yield { name: 'reach', targets: [{ pos: state.target, yaw, grip: 0 }], steps: 30 };
  yield { name: 'hold', targets: [null], steps: 10, precise: true };
}
