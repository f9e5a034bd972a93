// One engine on a shipped model folder per test file: opened before the file's tests, disposed
// after them (CPU, one thread).
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Engine } from '../../src/engine/engine';

/** Registers the file's before/after hooks; call the result inside tests for the engine. */
export function useEngine(model: 'moe-lens-code' | 'tiny-test'): () => Engine {
  let engine: Engine | undefined;
  before(async () => {
    engine = await Engine.open(join(__dirname, '..', '..', 'models', model), {
      executionProvider: 'cpu',
      threads: 1,
    });
  });
  after(() => engine?.dispose());
  return () => {
    if (!engine) throw new Error(`the ${model} engine is not open (use it inside a test)`);
    return engine;
  };
}
