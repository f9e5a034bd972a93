// Routing agreement of a quantized model with its fp32 conversion (the model card's figure):
// both score the same files teacher-forced; the share of token × layer top-k expert SETS that
// are identical, and the mean |Δ log p|.
//
//   node --import tsx scripts/routingAgreement.ts --ref DIR_FP32 --model DIR_INT4 FILE...
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/engine';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { ref: { type: 'string' }, model: { type: 'string' } },
    allowPositionals: true,
  });
  if (!values.ref || !values.model || positionals.length === 0) {
    throw new Error('usage: --ref DIR --model DIR FILE...');
  }
  const ref = await Engine.open(values.ref, { executionProvider: 'cpu' });
  const q = await Engine.open(values.model, { executionProvider: 'cpu' });
  let sets = 0;
  let same = 0;
  let dSum = 0;
  let dN = 0;
  for (const file of positionals) {
    const ids = ref.requireTokenizer().encodeOrdinary(readFileSync(file, 'utf8'));
    const a = await ref.score(ids);
    const b = await q.score(ids);
    a.forEach((ta, i) => {
      const tb = b[i];
      if (!tb) return;
      if (ta.logprob !== null && tb.logprob !== null) {
        dSum += Math.abs(ta.logprob - tb.logprob);
        dN++;
      }
      ta.routing.forEach((ra, l) => {
        const rb = tb.routing[l];
        sets++;
        const x = [...ra.experts].sort().join(',');
        const y = [...(rb?.experts ?? [])].sort().join(',');
        if (x === y) same++;
      });
    });
  }
  await ref.dispose();
  await q.dispose();
  const out = { tokenLayerSets: sets, agreement: same / sets, meanAbsDeltaLogprob: dSum / dN };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`routingAgreement: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
