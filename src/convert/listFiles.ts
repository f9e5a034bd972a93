// Lists in genai_config.json the files a model folder's manifest does not list yet: the decoder,
// the external data its graph names, config.json and the tokenizer files. For folders converted
// before every such file had to be listed (docs/MODEL_FORMAT.md, "The contract"); the converter
// lists them itself. Entries already listed must still match their size and sha256 (the script
// adds, it never re-vouches for a changed file), and only run it on a folder you trust: it
// records the checksums of what is there now. Run: node --import tsx scripts/listModelFiles.ts <dir>
import { rename, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import {
  checkFile,
  folderRoot,
  MiB,
  present,
  readChecked,
  relativeNameProblem,
  sha256Checked,
} from '../format/confinedFile';
import { MoeLensError } from '../format/errors';
import {
  checkListedFile,
  CONVERTER_FILES,
  MANIFEST_FILE,
  MAX_DECODER_BYTES,
  readManifest,
} from '../format/manifest';
import { checkModelFolder } from '../format/modelFolder';
import { readDecoderGraph } from '../format/onnxGraph';

/** Adds the missing entries; returns their names (none: the manifest is left as it was). */
export async function listModelFiles(dir: string): Promise<string[]> {
  const manifest = await readManifest(dir);
  const root = await folderRoot(dir);
  const files = manifest.moe_lens.files;
  for (const [name, sum] of Object.entries(files)) await checkListedFile(dir, root, name, sum);

  const decoderName = manifest.model.decoder.filename;
  const decoder = await checkFile(dir, root, decoderName, { maxBytes: MAX_DECODER_BYTES });
  const folder = posix.dirname(decoderName);
  const wanted = new Set([decoderName]);
  for (const ref of readDecoderGraph(await readChecked(decoder)).external) {
    const problem = relativeNameProblem(ref.location);
    if (problem !== null) {
      throw new MoeLensError(`${decoder.path}: external data "${ref.location}" ${problem}`);
    }
    wanted.add(folder === '.' ? ref.location : posix.join(folder, ref.location));
  }
  for (const name of CONVERTER_FILES) if (name !== MANIFEST_FILE) wanted.add(name);

  const added: string[] = [];
  for (const name of wanted) {
    if (Object.hasOwn(files, name) || !(await present(join(dir, name)))) continue;
    const f = await checkFile(dir, root, name, { maxBytes: Number.MAX_SAFE_INTEGER });
    files[name] = { bytes: f.bytes, sha256: await sha256Checked(f) };
    added.push(name);
  }
  if (added.length === 0) return added;
  const path = join(dir, MANIFEST_FILE);
  const text = JSON.stringify(manifest, null, 2) + '\n';
  if (Buffer.byteLength(text) > MiB) throw new MoeLensError(`${path}: would exceed 1 MiB`);
  await writeFile(`${path}.partial`, text);
  await rename(`${path}.partial`, path);
  await checkModelFolder(dir);
  return added;
}
