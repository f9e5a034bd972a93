// node --import tsx scripts/listModelFiles.ts <model-dir>...
// Adds to each folder's genai_config.json the files it does not list yet (src/convert/listFiles.ts,
// docs/MODEL_FORMAT.md "The contract"); used once for models/tiny-test and models/moe-lens-code.
import { listModelFiles } from '../src/convert/listFiles';

async function main(): Promise<void> {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) throw new Error('usage: listModelFiles.ts <model-dir>...');
  for (const dir of dirs) {
    const added = await listModelFiles(dir);
    console.log(`${dir}: ${added.length ? `listed ${added.join(', ')}` : 'nothing to add'}`);
  }
}

main().catch((e: unknown) => {
  console.error(`listModelFiles: ${(e as Error).message}`);
  process.exit(1);
});
