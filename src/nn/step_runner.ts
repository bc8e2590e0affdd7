import type { SessionConfig, ExecutionProviderName } from './execution_provider.ts';
import type { BatchData } from './inputs.ts';
import type { TrainState } from './train_state.ts';
import type { TrainStepSignature } from './train_step.ts';

/** What one optimisation step reports. */
export interface StepResult {
  readonly loss: number;
  /** Global L2 norm of the raw gradients (before clipping). */
  readonly gradNorm: number;
}

/** What a runner is started from: plain data, so it can cross into a worker thread. */
export interface StepRunnerInit {
  readonly bytes: Uint8Array;
  readonly signature: TrainStepSignature;
  readonly state: TrainState;
  readonly session: Omit<SessionConfig, 'log'>;
}

/**
 * Executes a training-step graph and owns the weights and optimizer state between steps.
 * Two implementations: in this thread (`LocalStepRunner`) and in a worker thread
 * (`WorkerStepRunner`), so a caller's event loop can stay responsive while ORT computes.
 */
export interface StepRunner {
  readonly provider: ExecutionProviderName;
  /** Runs one update with learning rate `lr`; the state advances only when it succeeds. */
  step(batch: BatchData, lr: number): Promise<StepResult>;
  /** A copy of the current state. */
  getState(): Promise<TrainState>;
  /** Replaces the state (copied in). */
  setState(state: TrainState): Promise<void>;
  dispose(): Promise<void>;
}
