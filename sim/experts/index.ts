import type { SimEnv } from '../env.ts';
import type { ScriptTools, TaskScript } from './script.ts';
import { UserError } from '../../src/core/errors.ts';
import { reachScript } from './reach.ts';
import { pegInsertScript } from './peg_insert.ts';
import { bimanualLiftScript } from './bimanual_lift.ts';
import { pickPlaceScript } from './pick_place.ts';

/** The scripted expert of each task, by task name (same keys as sim/tasks/index.ts). */
export const EXPERT_SCRIPTS: Record<string, (env: SimEnv, tools: ScriptTools) => TaskScript> = {
  reach: reachScript,
  'pick-place': pickPlaceScript,
  'peg-insert': pegInsertScript,
  'bimanual-lift': bimanualLiftScript,
};

export function getExpertScript(taskName: string): (env: SimEnv, tools: ScriptTools) => TaskScript {
  const script = EXPERT_SCRIPTS[taskName];
  if (!script) throw new UserError(`no scripted expert for task '${taskName}'; available: ${Object.keys(EXPERT_SCRIPTS).join(', ')}`);
  return script;
}
