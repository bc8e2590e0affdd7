import { describe, expect, it } from 'vitest';
import { executionMode } from '../../src/policy/policy_adapter.ts';
import { ChunkExecutor } from '../../src/policy/chunk_executor.ts';

/** The bundle's recommended execution (policy.json `execution`) versus the caller's flags. */
describe('executionMode', () => {
  const recommendsWholeChunks = { execution: { n_action_steps: 16 } };

  it("uses the bundle's recommendation when the caller chose nothing", () => {
    expect(executionMode(recommendsWholeChunks)).toEqual({ nActionSteps: 16, temporalEnsembleCoeff: null });
    expect(executionMode({ execution: { temporal_ensemble_coeff: 0.01 } })).toEqual({ nActionSteps: undefined, temporalEnsembleCoeff: 0.01 });
  });

  it("the caller's choice replaces the recommendation as a whole (no mix of the two)", () => {
    expect(executionMode(recommendsWholeChunks, { nActionSteps: 4 })).toEqual({ nActionSteps: 4, temporalEnsembleCoeff: null });
    // Ensembling asked for: the bundle's n = 16 must not leak in (the executor would reject n != 1).
    const chosen = executionMode(recommendsWholeChunks, { temporalEnsembleCoeff: 0.05 });
    expect(chosen).toEqual({ nActionSteps: undefined, temporalEnsembleCoeff: 0.05 });
    expect(new ChunkExecutor({ ...chosen, chunkSize: 16, actionDim: 2 }).config.nActionSteps).toBe(1);
  });

  it("without a recommendation the executor's default (n = H/2) applies", () => {
    const mode = executionMode({});
    expect(new ChunkExecutor({ ...mode, chunkSize: 16, actionDim: 2 }).config.nActionSteps).toBe(8);
  });
});
