/**
 * Names of the training-step graph's inputs and outputs. Parameter names are dotted paths,
 * so `/` separates the role from the name without ambiguity.
 */
export const trainStepIO = {
  param: (name: string): string => `params/${name}`,
  adamM: (name: string): string => `adam_m/${name}`,
  adamV: (name: string): string => `adam_v/${name}`,
  paramNext: (name: string): string => `params/${name}/next`,
  adamMNext: (name: string): string => `adam_m/${name}/next`,
  adamVNext: (name: string): string => `adam_v/${name}/next`,
  grad: (name: string): string => `grads/${name}`,
  /** float32 scalar: the 1-based number of the update this run performs. */
  step: 'optim/step',
  /** float32 scalar: the learning rate for this update (schedules need no rebuild). */
  lr: 'optim/lr',
  gradNorm: 'grad_norm',
  /** Prefix reserved for the names above; batch input names may not start with one. */
  reservedPrefixes: ['params/', 'adam_m/', 'adam_v/', 'grads/', 'optim/'],
} as const;
