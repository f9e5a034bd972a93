// The families MoE Lens converts, by config.json architecture. Adding one: its module beside
// these, one line here, its fixture (test/fixtures/make_fixtures.py) and its parity test.
import type { Family } from './family';
import { mixtral } from './mixtral';
import { olmoe } from './olmoe';
import { qwen2moe } from './qwen2moe';
import { qwen3moe } from './qwen3moe';

export const FAMILIES: readonly Family[] = [qwen3moe, mixtral, olmoe, qwen2moe];

export const SUPPORTED_ARCHITECTURES: readonly string[] = FAMILIES.map((f) => f.architecture);

export function familyOf(architecture: string): Family | undefined {
  return FAMILIES.find((f) => f.architecture === architecture);
}

export type { ExpertNames, Family, FamilyFields } from './family';
