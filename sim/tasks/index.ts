import type { TaskDefinition, TaskState } from '../task.ts';
import { UserError } from '../../src/core/errors.ts';
import { reachTask } from './reach.ts';
import { bimanualLiftTask } from './bimanual_lift.ts';
import { pegInsertTask } from './peg_insert.ts';
import { pickPlaceTask } from './pick_place.ts';

/** Every task, by registry name. Adding a task = one import and one line here. */
export const TASKS = {
  reach: reachTask,
  'pick-place': pickPlaceTask,
  'peg-insert': pegInsertTask,
  'bimanual-lift': bimanualLiftTask,
} as const satisfies Record<string, TaskDefinition<any>>;

export type TaskName = keyof typeof TASKS;

export function getTask(name: string): TaskDefinition<TaskState> {
  const task = (TASKS as Record<string, TaskDefinition<any>>)[name];
  if (!task) throw new UserError(`unknown task '${name}'; available tasks: ${Object.keys(TASKS).join(', ')}`);
  return task;
}
