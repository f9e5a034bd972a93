// Inline completion end to end: the linux-x64 VSIX installed into a real VS Code (code-server
// 4.100.3) in Debian's Chromium; ghost text from the real model (the default model in models/),
// accepted with Tab; no duplication of the text after the cursor; recovery after the engine
// process is SIGKILLed. Screenshots and logs: test-results/e2e/. Run: `npm run test:e2e`.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { CodeServerSession, findProcesses, sleep, startSession, type GhostText } from './harness';

const HEADER = `// MoE Lens end-to-end test file.
export function add(a: number, b: number): number {
  return a + b;
}

`;

/** One file per case, so the cases do not see each other's edits. */
const FILES = {
  'accept.ts': HEADER,
  'brackets.ts': HEADER,
  'block.ts': HEADER,
  'recover.ts': HEADER,
};

/** First ghost text of the session: the extension host starts and the model loads. */
const FIRST_TIMEOUT_MS = 180_000;
/** Later ghost texts (model loaded; the engine may have to restart in the recovery case). */
const TIMEOUT_MS = 90_000;
/** How long a user waits after typing a chunk before typing on (the model may stay silent). */
const CHUNK_WAIT_MS = 20_000;

/**
 * The lowest running bracket depth of `text`, per kind. The test files are well-formed, so a
 * negative value means a closing bracket with nothing to close: text that duplicates a bracket
 * after the cursor. (Unclosed opening brackets are not duplication; the random stand-in model
 * produces plenty of those.)
 */
function minBracketDepth(text: string): { round: number; square: number; curly: number } {
  const depth = { round: 0, square: 0, curly: 0 };
  const min = { ...depth };
  const kinds: Record<string, [keyof typeof depth, number]> = {
    '(': ['round', 1],
    ')': ['round', -1],
    '[': ['square', 1],
    ']': ['square', -1],
    '{': ['curly', 1],
    '}': ['curly', -1],
  };
  for (const c of text) {
    const k = kinds[c];
    if (!k) continue;
    depth[k[0]] += k[1];
    min[k[0]] = Math.min(min[k[0]], depth[k[0]]);
  }
  return min;
}

const NO_EXCESS = { round: 0, square: 0, curly: 0 };

function describeGhost(t: TestContext, label: string, g: { ghost: GhostText; ms: number }): void {
  t.diagnostic(`${label}: ghost text after ${g.ms} ms: ${JSON.stringify(g.ghost.text)}`);
}

describe('inline completion in code-server', { timeout: 20 * 60_000 }, () => {
  let session: CodeServerSession;
  const usingProbe = Boolean(process.env.MOE_LENS_E2E_VSIX);

  before(async () => {
    session = await startSession('completion', FILES);
  });

  after(async () => {
    await session?.stop();
  });

  test('ghost text from the model appears while typing; Tab accepts it', async (t) => {
    const file = 'accept.ts';
    await session.openFile(file);
    await session.press('Control+End');
    // No brackets in these chunks: the editor's auto-closed ")" would follow the insertion.
    const shown = await session
      .typeUntilGhostText(
        ['export function sub', 'tract', '\nexport const answer', ' = '],
        CHUNK_WAIT_MS,
        FIRST_TIMEOUT_MS,
      )
      .catch(async (e) => {
        await session.screenshot('1-accept-failure');
        throw e;
      });
    const typed = shown.typed;
    describeGhost(t, file, shown);
    if (shown.nudged) {
      t.diagnostic('the ghost text appeared only after a manual trigger (Alt+\\)');
    }
    await session.screenshot('1-ghost-text');

    await session.press('Tab');
    await sleep(300);
    // No check that the ghost text is gone: after an accept the provider may already show the
    // next suggestion (speculative precompute). The document is what must change.
    await session.screenshot('1-accepted');
    const saved = await session.saveAndRead(file, HEADER);
    assert.ok(saved.startsWith(HEADER + typed), `the document keeps what was typed:\n${saved}`);
    const inserted = saved.slice((HEADER + typed).length);
    t.diagnostic(`inserted by Tab: ${JSON.stringify(inserted)}`);
    assert.ok(inserted.length > 0, 'Tab inserted the suggestion');
    assert.ok(
      inserted.startsWith(shown.ghost.lines[0] ?? ''),
      `the document contains the ghost text: shown ${JSON.stringify(shown.ghost.text)}, ` +
        `inserted ${JSON.stringify(inserted)}`,
    );
    assert.equal(inserted, shown.ghost.text, 'Tab inserted exactly the shown ghost text');
  });

  test('inside foo(|): the suggestion does not duplicate the ")" after the cursor', async (t) => {
    const file = 'brackets.ts';
    await session.openFile(file);
    await session.press('Control+End');
    // The editor auto-closes: `add(|)`; the ")" stays after the cursor while typing on.
    const shown = await session
      .typeUntilGhostText(['const total = add(', '1', ', 2'], CHUNK_WAIT_MS)
      .catch(async (e) => {
        await session.screenshot('2-brackets-failure');
        throw e;
      });
    const typed = shown.typed;
    describeGhost(t, file, shown);
    await session.screenshot('2-brackets-ghost-text');
    assert.ok(!shown.ghost.text.includes('\n'), 'one line when text follows the cursor');
    assert.deepEqual(
      minBracketDepth(typed + shown.ghost.text + ')'),
      NO_EXCESS,
      `the ghost text repeats the ")" after the cursor: ${JSON.stringify(shown.ghost.text)}`,
    );

    await session.press('Tab');
    await sleep(300);
    await session.screenshot('2-brackets-accepted');
    const saved = await session.saveAndRead(file, HEADER);
    const last = saved.slice(HEADER.length);
    t.diagnostic(`line after Tab: ${JSON.stringify(last)}`);
    assert.ok(last.startsWith(typed) && last.endsWith(')'), `line: ${JSON.stringify(last)}`);
    assert.deepEqual(
      minBracketDepth(saved),
      NO_EXCESS,
      `no closing bracket without an opening one (a duplicated ")"): ${JSON.stringify(last)}`,
    );
  });

  test('in a new block: the suggestion does not duplicate the "}" below the cursor', async (t) => {
    const file = 'block.ts';
    await session.openFile(file);
    await session.press('Control+End');
    const typed = 'export function double(x: number): number {';
    await session.type(typed); // auto-closed: `{|}`
    await session.press('Enter'); // `{`, an indented empty line with the cursor, `}` below
    const shown = await session
      .typeUntilGhostText(['', 'return', ' x', ' *', ' 2'], CHUNK_WAIT_MS)
      .catch(async (e) => {
        await session.screenshot('3-block-failure');
        throw e;
      });
    describeGhost(t, file, shown);
    await session.screenshot('3-block-ghost-text');

    await session.press('Tab');
    await sleep(300);
    await session.screenshot('3-block-accepted');
    const saved = await session.saveAndRead(file, HEADER);
    const body = saved.slice(HEADER.length);
    t.diagnostic(`block after Tab: ${JSON.stringify(body)}`);
    assert.ok(body.startsWith(typed + '\n'), `block: ${JSON.stringify(body)}`);
    assert.ok(
      body.trimEnd().endsWith('}'),
      `the block still ends with "}": ${JSON.stringify(body)}`,
    );
    assert.deepEqual(
      minBracketDepth(saved),
      NO_EXCESS,
      `no closing bracket without an opening one (a duplicated "}"): ${JSON.stringify(body)}`,
    );
  });

  test('after the engine process is SIGKILLed, completions come back on the next keystroke', async (t) => {
    if (usingProbe) {
      t.skip('MOE_LENS_E2E_VSIX is set: a probe extension has no engine process');
      return;
    }
    const file = 'recover.ts';
    await session.openFile(file);
    await session.press('Control+End');
    describeGhost(
      t,
      'before the kill',
      await session.typeUntilGhostText(['export function tri', 'angle', '(a'], CHUNK_WAIT_MS),
    );
    await session.press('Escape');

    const engines = findProcesses('engineHost.js', session.extensions);
    assert.equal(engines.length, 1, `one engine process (found ${engines.join(', ') || 'none'})`);
    const killed = engines[0] as number;
    process.kill(killed, 'SIGKILL');
    t.diagnostic(`SIGKILLed engine process ${killed}`);
    const deadline = Date.now() + 10_000;
    while (findProcesses('engineHost.js', session.extensions).includes(killed)) {
      assert.ok(Date.now() < deadline, `engine process ${killed} still alive after SIGKILL`);
      await sleep(100);
    }

    // The next keystroke restarts the engine; a user who sees nothing types on.
    const shown = await session
      .typeUntilGhostText(['p', 'e', ': number'], CHUNK_WAIT_MS, TIMEOUT_MS)
      .catch(async (e) => {
        await session.screenshot('4-recover-failure');
        throw e;
      });
    describeGhost(t, 'after the kill', shown);
    await session.screenshot('4-recovered-ghost-text');
    const now = findProcesses('engineHost.js', session.extensions);
    assert.equal(now.length, 1, `one engine process again (found ${now.join(', ') || 'none'})`);
    assert.notEqual(now[0], killed, 'a new engine process');
  });
});
