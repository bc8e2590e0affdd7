/**
 * Data keys shared by the simulator, datasets (LeRobot v3 column names), policies and ROS.
 * One place so a typo is a compile error, not a silently empty column.
 */
export const KEYS = {
  state: 'observation.state',
  imagePrefix: 'observation.images.',
  action: 'action',
  reward: 'next.reward',
  done: 'next.done',
  success: 'next.success',
  timestamp: 'timestamp',
  frameIndex: 'frame_index',
  episodeIndex: 'episode_index',
  index: 'index',
  taskIndex: 'task_index',
  task: 'task',
} as const;

/** `observation.images.<camera>` */
export function imageKey(camera: string): `observation.images.${string}` {
  return `${KEYS.imagePrefix}${camera}`;
}
