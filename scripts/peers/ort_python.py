"""Decode speed of a MoE Lens model folder run by onnxruntime from Python: the bound for our
Node binding's overhead (same graph, same onnxruntime kernels). Mirrors MoeModel.forward: the
GQA graph's present KV outputs are bound to the past buffers (in place), one token per step,
logits of the last position only, every router-logits output fetched.

    python scripts/peers/ort_python.py <model-dir> [--threads 1] [--prompt-tokens 128]
        [--decode-tokens 64] [--runs 3]      # prints one JSON line
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--decode-tokens", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    cfg = json.load(open(f"{a.model}/genai_config.json"))
    d = cfg["model"]["decoder"]
    L, kvh, D = d["num_hidden_layers"], d["num_key_value_heads"], d["head_size"]
    ctx = cfg["model"]["context_length"]
    moe_layers = cfg["moe_lens"]["routing"]["moe_layers"]
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(f"{a.model}/model.onnx", so, providers=["CPUExecutionProvider"])
    cap = min(ctx, a.prompt_tokens + a.decode_tokens + 1)

    def run_once() -> tuple[float, float]:
        keys = [ort.OrtValue.ortvalue_from_numpy(np.zeros((1, kvh, cap, D), np.float32)) for _ in range(L)]
        vals = [ort.OrtValue.ortvalue_from_numpy(np.zeros((1, kvh, cap, D), np.float32)) for _ in range(L)]

        def step(ids: list[int], past: int) -> None:
            b = sess.io_binding()
            total = past + len(ids)
            b.bind_cpu_input("input_ids", np.array([ids], np.int64))
            b.bind_cpu_input("attention_mask", np.ones((1, total), np.int64))
            b.bind_cpu_input("num_logits_to_keep", np.array([1], np.int64))
            for l in range(L):
                b.bind_ortvalue_input(f"past_key_values.{l}.key", keys[l])
                b.bind_ortvalue_input(f"past_key_values.{l}.value", vals[l])
                b.bind_ortvalue_output(f"present.{l}.key", keys[l])
                b.bind_ortvalue_output(f"present.{l}.value", vals[l])
            b.bind_output("logits")
            for l in moe_layers:
                b.bind_output(f"router_logits.{l}")
            sess.run_with_iobinding(b)
            out = b.get_outputs()[0].numpy()
            int(out[0, -1].argmax())

        prompt = [10 + (i % 500) for i in range(a.prompt_tokens)]
        t0 = time.perf_counter()
        step(prompt, 0)
        prefill = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(a.decode_tokens):
            step([100 + i % 50], a.prompt_tokens + i)
        decode = time.perf_counter() - t0
        return prefill, a.decode_tokens / decode

    run_once()  # warm-up
    results = [run_once() for _ in range(a.runs)]
    print(json.dumps({
        "engine": f"onnxruntime {ort.__version__} (Python)",
        "threads": a.threads,
        "prefillTokensPerSecond": statistics.median(a.prompt_tokens / p for p, _ in results),
        "decodeTokensPerSecond": statistics.median(t for _, t in results),
    }))


if __name__ == "__main__":
    main()
