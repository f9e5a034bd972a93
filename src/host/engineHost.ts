// The engine host: a forked child process that owns onnxruntime (session.run blocks its thread,
// and a native crash must not take down the extension host). Protocol lands with the engine.
process.on('message', () => {});
