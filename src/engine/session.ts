// onnxruntime session creation and execution-provider choice. `auto` tries real GPUs (CUDA on
// Linux, DirectML on Windows) and falls back to the CPU with the reason logged. It never picks
// WebGPU: onnxruntime-node cannot tell a hardware adapter from a software one (lavapipe,
// SwiftShader), and a software adapter is far slower than the CPU provider.
import './telemetryOff'; // before onnxruntime: no telemetry (offline.ts)
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MoeLensError } from '../format/errors';

export type ExecutionProvider = 'auto' | 'cpu' | 'cuda' | 'dml' | 'webgpu';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = [
  'auto',
  'cpu',
  'cuda',
  'dml',
  'webgpu',
];

export interface SessionOptions {
  executionProvider: ExecutionProvider;
  /** intra-op threads; 0 = onnxruntime's default (all cores). */
  threads: number;
  log: (message: string) => void;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  executionProvider: Exclude<ExecutionProvider, 'auto'>;
}

/** Folder of onnxruntime's native libraries (the CUDA provider is an optional extra there). */
function ortBinDir(): string {
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

function candidates(
  ep: ExecutionProvider,
  log: (m: string) => void,
): Exclude<ExecutionProvider, 'auto'>[] {
  if (ep !== 'auto') return [ep];
  if (process.platform === 'win32') return ['dml', 'cpu'];
  if (process.platform === 'linux' && process.arch === 'x64') {
    // Only try CUDA when its provider library was installed; otherwise onnxruntime prints a
    // loader error on every start.
    if (existsSync(join(ortBinDir(), 'libonnxruntime_providers_cuda.so'))) return ['cuda', 'cpu'];
    log('cuda not tried: onnxruntime-node was installed without its CUDA provider; using cpu');
  }
  return ['cpu'];
}

export async function createSession(
  modelPath: string,
  opts: SessionOptions,
): Promise<CreatedSession> {
  const errors: string[] = [];
  if (opts.executionProvider === 'webgpu') {
    // Read only by Mesa's software drivers (lavapipe): ~3x faster shader compilation there.
    process.env.LP_NATIVE_VECTOR_WIDTH ??= '128';
  }
  for (const ep of candidates(opts.executionProvider, opts.log)) {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: ep === 'cpu' ? ['cpu'] : [ep, 'cpu'],
      graphOptimizationLevel: 'all',
      enableCpuMemArena: true,
      logSeverityLevel: 3,
    };
    if (opts.threads > 0) options.intraOpNumThreads = opts.threads;
    try {
      const session = await ort.InferenceSession.create(modelPath, options);
      if (errors.length > 0) opts.log(`execution provider ${ep} (after: ${errors.join('; ')})`);
      return { session, executionProvider: ep };
    } catch (e) {
      const reason = `${ep} unavailable: ${String((e as Error).message ?? e).split('\n')[0]}`;
      if (opts.executionProvider !== 'auto') {
        throw new MoeLensError(`${modelPath}: cannot create an onnxruntime session on ${reason}`);
      }
      errors.push(reason);
      opts.log(`${reason}; trying the next provider`);
    }
  }
  throw new MoeLensError(
    `${modelPath}: no execution provider could load the model (${errors.join('; ')})`,
  );
}
