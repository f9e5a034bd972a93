// The end-to-end suite: ONE code-server (4.100.3) with the linux-x64 VSIX installed, in Debian's
// Chromium, for every case: the completion cases (completion.cases.ts: content at fixed spots, a
// 3,000+ line file, Explain Selection, recovery after SIGKILL) and then the routing panel cases
// (panel.cases.ts). Prints last keystroke → ghost text latency per case and p50/p95 at the end.
// Screenshots and logs: test-results/e2e/. Run: `npm run test:e2e` (docs/TESTING.md).
import { after, before, describe, test } from 'node:test';
import { COMPLETION_FILES, registerCompletionCases } from './completion.cases';
import { LatencyLog } from './content';
import { startSession, type CodeServerSession } from './harness';
import { PANEL_FILES, registerPanelCases } from './panel.cases';

const FILES: Record<string, string> = { ...COMPLETION_FILES, ...PANEL_FILES };

describe('MoE Lens in code-server', { timeout: 20 * 60_000 }, () => {
  let session: CodeServerSession | undefined;
  const latency = new LatencyLog();
  const current = () => {
    if (!session) throw new Error('code-server did not start');
    return session;
  };

  before(async () => {
    session = await startSession(FILES);
  });

  after(async () => {
    await session?.stop();
  });

  registerCompletionCases({
    session: current,
    latency,
    usingProbe: Boolean(process.env.MOE_LENS_E2E_VSIX),
  });
  registerPanelCases({ session: current, latency, files: () => FILES });

  test('last keystroke → ghost text latency (a diagnostic, never asserted)', (t) => {
    for (const line of latency.summary()) t.diagnostic(line);
  });
});
