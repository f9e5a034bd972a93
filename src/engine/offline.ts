// Nothing leaves the machine. onnxruntime-node's native library (1.30) has telemetry on by
// default: when it creates its environment (the first session) it writes a device id and an event
// queue to ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ and, about ten seconds later, resolves
// and posts to mobile.events.data.microsoft.com (the model file, graph name, process path, OS,
// CPU and memory). ORT_DISABLE_TELEMETRY=1 in the process's environment before that turns both
// off (docs/SECURITY.md). This module is pure: `telemetryOff.ts` applies it to the process.

/** Environment variables every process that may load onnxruntime runs with. */
export const OFFLINE_ENV: Readonly<Record<string, string>> = Object.freeze({
  ORT_DISABLE_TELEMETRY: '1',
});

/** `env` with OFFLINE_ENV on top (for a child process's environment). */
export function offlineEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, ...OFFLINE_ENV };
}
