export * from './manifest.ts';
export * from './ort_session.ts';
export * from './tokenizer.ts';
export * from './normalize.ts';
export * from './onnx_policy.ts';
export * from './policy_worker.ts';
export * from './chunk_executor.ts';
export * from './policy_adapter.ts';
