import type { BatchData } from './inputs.ts';
import type { StepResult, StepRunnerInit } from './step_runner.ts';
import type { TrainState } from './train_state.ts';

/** Messages from the main thread to the training worker; `id` pairs a request with its reply. */
export type WorkerRequest =
  | { readonly id: number; readonly op: 'init'; readonly init: StepRunnerInit }
  | { readonly id: number; readonly op: 'step'; readonly batch: BatchData; readonly lr: number }
  | { readonly id: number; readonly op: 'getState' }
  | { readonly id: number; readonly op: 'setState'; readonly state: TrainState }
  | { readonly id: number; readonly op: 'dispose' };

export type WorkerResult = { readonly provider: 'cpu' | 'cuda' } | StepResult | TrainState | null;

/** Replies, plus log lines (the CUDA fallback notice) forwarded to the main thread's logger. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: WorkerResult }
  | { readonly id: number; readonly ok: false; readonly error: string }
  | { readonly log: string };
