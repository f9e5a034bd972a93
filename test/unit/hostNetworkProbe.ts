// Run by networkIsolation.test.ts under strace: the extension's way of running the engine —
// EngineClient forking dist/engineHost.js — loads a model, completes, then stays up for
// `holdMs` (onnxruntime's telemetry posts about ten seconds after its first session), and
// prints the completion as one JSON line.
//   node --import tsx test/unit/hostNetworkProbe.ts <hostPath> <modelDir> <holdMs>
import { EngineClient } from '../../src/host/engineClient';

async function main(): Promise<void> {
  const [hostPath, modelDir, holdMs] = process.argv.slice(2);
  if (!hostPath || !modelDir || !holdMs) throw new Error('usage: <hostPath> <modelDir> <holdMs>');
  const client = new EngineClient({ hostPath });
  try {
    await client.call('load', { modelDir, executionProvider: 'cpu', threads: 1 });
    const result = await client.call('complete', {
      input: { kind: 'fim', prefix: 'def add(a, b):\n    ', suffix: '\n' },
      options: { maxTokens: 4, temperature: 0, topP: 1 },
      slot: 'completion',
    });
    await new Promise((r) => setTimeout(r, Number(holdMs)));
    process.stdout.write(`${JSON.stringify({ decodeTokens: result.stats.decodeTokens })}\n`);
  } finally {
    client.dispose();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
