// Cross-check the trained tokenizer in the engine's tokenizer library (@huggingface/tokenizers,
// the pure-JS port the extension uses) against Python `tokenizers`:
//   node training/tokenizer/check_js.mjs [tokenizer.json] [valid.jsonl] [python_ids.sha256]
// For every validation file: decode(encode(text)) === text in JS, and the ids of all files,
// hashed in order, must equal the hash Python wrote (train_tokenizer.py --ids-hash-out).
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const training = path.dirname(here);
const repo = path.dirname(training);
const require = createRequire(path.join(repo, 'package.json'));
const hfModule = require('@huggingface/tokenizers');
const { Tokenizer } = hfModule;

const tokPath = process.argv[2] ?? path.join(here, 'tokenizer.json');
const validPath = process.argv[3] ?? path.join(training, 'data', 'valid.jsonl');
const hashPath = process.argv[4] ?? path.join(training, 'data', 'valid_ids.sha256');
const tokenizerJson = JSON.parse(readFileSync(tokPath, 'utf8'));
const configPath = path.join(path.dirname(tokPath), 'tokenizer_config.json');
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const tok = new Tokenizer(tokenizerJson, config);

const hash = createHash('sha256');
let files = 0;
let bytes = 0;
let tokens = 0;
const failures = [];
const t0 = Date.now();
const rl = createInterface({ input: createReadStream(validPath, 'utf8'), crlfDelay: Infinity });
for await (const line of rl) {
  if (!line) continue;
  const d = JSON.parse(line);
  const ids = tok.encode(d.text, { add_special_tokens: false }).ids;
  const back = tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  if (back !== d.text) failures.push(`${d.package}/${d.path}`);
  hash.update(JSON.stringify(ids) + '\n');
  files += 1;
  bytes += Buffer.byteLength(d.text, 'utf8');
  tokens += ids.length;
}
const digest = hash.digest('hex');
let pyDigest = null;
try {
  pyDigest = readFileSync(hashPath, 'utf8').trim();
} catch {
  /* no Python hash to compare with */
}
const sameIds = pyDigest === null ? null : pyDigest === digest;
console.log(
  JSON.stringify({
    files,
    bytes,
    tokens,
    bytesPerToken: +(bytes / tokens).toFixed(4),
    roundtripFailures: failures.length,
    failures: failures.slice(0, 20),
    idsSha256: digest,
    sameIdsAsPython: sameIds,
    seconds: (Date.now() - t0) / 1000,
  }),
);
process.exit(failures.length === 0 && sameIds !== false ? 0 : 1);
