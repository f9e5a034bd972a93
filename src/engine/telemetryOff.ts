// Side effect only: puts OFFLINE_ENV into this process's environment. Imported FIRST by every
// entry that can load onnxruntime (src/cli.ts, src/host/engineHost.ts) and by session.ts, the
// only module that creates sessions, so scripts and tests that use the engine are covered too.
// onnxruntime reads the variable when it creates its environment (the first session); setting it
// before anything else runs keeps that true whatever the import order below it becomes.
// test/unit/networkIsolation.test.ts checks the bundles and traces the real processes.
import { OFFLINE_ENV } from './offline';

Object.assign(process.env, OFFLINE_ENV);
