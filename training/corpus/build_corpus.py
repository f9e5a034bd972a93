#!/usr/bin/env python3
"""Build the MoE Lens training corpus from permissively licensed registry packages.

  # resolve packages.txt to concrete versions, filter, dedup, split, write data + manifest
  python training/corpus/build_corpus.py
  # rebuild exactly the corpus the committed manifest describes (pinned versions, integrity checked,
  # output checksums compared with the manifest's)
  python training/corpus/build_corpus.py --from-manifest

Outputs: training/data/train.jsonl, training/data/valid.jsonl (one JSON object per file:
{package, version, path, language, text}), training/data/build_stats.json (timings), and (not with
--from-manifest) training/corpus-manifest.json.

Pipeline, in order (each step's counts land in the manifest's `totals.filters`):
  1. licence gate: only MIT, ISC, Apache-2.0, BSD-2-Clause, BSD-3-Clause, 0BSD, Unlicense, CC0-1.0
     (SPDX expressions: an OR needs one allowed side, an AND needs all sides allowed)
  2. archive download + integrity check (npm sha512 SRI; PyPI sha256)
  3. source files only (.ts .tsx .mts .cts .js .jsx .mjs .cjs .py; .d.ts kept, capped later)
  4. path filters: vendored dirs, minified names, compiled output next to shipped TS sources
  5. UTF-8 strict decode (BOM dropped, line endings to LF), NUL bytes rejected
  6. content filters: <100 B, >200 KB, minified (avg line > 200 or a line > 1000), generated
     (marker in the first 1000 chars or an inline source map), contains a special-token string
     such as <|endoftext|>, data-like (letters < 25%)
  7. one copy per module shipped in several formats (esm/ over cjs/, .ts > .mjs > .js > .cjs), then
     a per-package byte cap (1 MB, 2 MB when the package ships TS sources; deterministic subset by
     path hash) so no package dominates
  8. exact dedup (hash of normalised content), then near dedup (MinHash/LSH, Jaccard >= 0.85);
     train copies are preferred, so validation files never duplicate training files
  9. declaration files (.d.ts) capped at 20% of the corpus bytes
Train/validation split: by package family (npm scope, or a shared name prefix such as d3-*,
lodash/lodash-es), ~5% of families to validation, decided by a hash of the family name.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tarfile
import time
import zipfile
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import dedup  # noqa: E402
import filters  # noqa: E402
import registry  # noqa: E402
from licenses import ALLOWED, is_allowed  # noqa: E402

TRAINING = os.path.dirname(HERE)
DEFAULT_MANIFEST = os.path.join(TRAINING, "corpus-manifest.json")
DEFAULT_DATA = os.path.join(TRAINING, "data")
SPLIT_SALT = "moe-lens-split-v1"
VALID_FRACTION = 0.05
MANIFEST_VERSION = 1


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- package list / resolution

def read_package_list(path: str) -> list[str]:
    specs = []
    with open(path) as f:
        for line in f:
            s = line.split("#", 1)[0].strip()
            if s:
                specs.append(s)
    return specs


def resolve_all(specs: list[str]) -> tuple[list[dict], list[dict]]:
    kept, rejected, seen = [], [], set()
    for spec in specs:
        try:
            p = registry.resolve(spec)
        except registry.RegistryError as e:
            rejected.append({"spec": spec, "reason": f"unresolved: {e}"})
            continue
        key = (p["ecosystem"], p["name"])
        if key in seen:
            continue
        seen.add(key)
        if not is_allowed(p["license"]):
            rejected.append({"spec": spec, "name": p["name"], "version": p["version"],
                             "license": p["license_raw"], "reason": "licence not in allow-list"})
            continue
        kept.append(p)
    return kept, rejected


def family_of(p: dict, unscoped_names: list[str]) -> str:
    """Split unit: packages of one family go to the same split (no sibling leakage)."""
    name = p["name"]
    if p["ecosystem"] == "pypi":
        return "pypi:" + name.lower()
    if name.startswith("@"):
        return name.split("/", 1)[0]
    head = name.split("-", 1)[0]
    siblings = [n for n in unscoped_names if n == head or n.startswith(head + "-")]
    return head if len(siblings) >= 2 else name


def pkg_id(p: dict) -> str:
    """The `package` field of a document: the npm name, or pypi:<name>."""
    return p["name"] if p["ecosystem"] == "npm" else f"pypi:{p['name']}"


def split_of(family: str) -> str:
    h = int.from_bytes(hashlib.sha256(f"{SPLIT_SALT}:{family}".encode()).digest()[:8], "big")
    return "valid" if h / 2**64 < VALID_FRACTION else "train"


# ---------------------------------------------------------------- archive reading

def iter_archive(data: bytes, url: str):
    """Yield (path, size, reader) for regular files; reader() returns the bytes."""
    if url.endswith(".zip"):
        z = zipfile.ZipFile(io.BytesIO(data))
        for info in z.infolist():
            if not info.is_dir():
                yield info.filename, info.file_size, (lambda i=info: z.read(i))
        return
    tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    for m in tf:
        if m.isfile():
            yield m.name, m.size, (lambda m=m: tf.extractfile(m).read())


def collect_package(p: dict, data: bytes, stats: Counter) -> list[dict]:
    files = []
    for name, size, reader in iter_archive(data, p["tarball"]):
        rel = filters.strip_root(name)
        lang = filters.language_of(rel)
        if lang is None:
            stats["non_source_files"] += 1
            continue
        files.append((rel, size, reader, lang))
    files.sort(key=lambda x: x[0])
    # Does the package ship its TypeScript sources? (then compiled JS in dist/ etc. is dropped)
    code_bytes = sum(s for r, s, _, _ in files)
    ts_src = sum(s for r, s, _, _ in files if filters.is_ts_source(r)
                 and filters.path_reason(r, False) is None)
    has_ts_sources = ts_src >= 20_000 and ts_src >= 0.15 * code_bytes
    p["_ships_ts_sources"] = has_ts_sources
    p["_source_files"] = len(files)
    p["_source_bytes"] = code_bytes
    out = []
    for rel, size, reader, lang in files:
        stats["source_files"] += 1
        stats["source_bytes"] += size
        stats[f"source_bytes_{lang}"] += size
        reason = filters.path_reason(rel, has_ts_sources)
        if reason is None and size > filters.SETTINGS["max_bytes"]:
            reason = "too_large"
        if reason is None:
            text = filters.decode(reader())
            if text is None:
                reason = "not_utf8"
            else:
                reason = filters.content_reason(text)
        if reason:
            stats[f"drop_{reason}"] += 1
            stats[f"drop_{reason}_bytes"] += size
            continue
        out.append({"package": pkg_id(p), "version": p["version"], "path": rel,
                    "language": lang, "text": text})
    return drop_module_copies(out, stats)


def drop_module_copies(docs: list[dict], stats: Counter) -> list[dict]:
    """Keep one copy of a module shipped in several formats (esm/ vs cjs/, .mjs vs .cjs)."""
    groups: dict[str, list[tuple[int, int, str, dict]]] = defaultdict(list)
    for d in docs:
        k = filters.module_copy_key(d["path"])
        if k is not None:
            groups[k[0]].append((k[1], k[2], d["path"], d))
    drop = set()
    for members in groups.values():
        if len(members) > 1:
            members.sort(key=lambda m: (m[0], m[1], m[2]))
            for m in members[1:]:
                drop.add(id(m[3]))
                stats["drop_module_format_copy"] += 1
                stats["drop_module_format_copy_bytes"] += len(m[3]["text"].encode())
    return [d for d in docs if id(d) not in drop]


def cap_package(docs: list[dict], cap: int, stats: Counter) -> list[dict]:
    total = sum(len(d["text"].encode()) for d in docs)
    if total <= cap:
        return docs
    order = sorted(docs, key=lambda d: hashlib.sha1(d["path"].encode()).digest())
    kept, size = [], 0
    for d in order:
        b = len(d["text"].encode())
        if size + b <= cap:
            kept.append(d)
            size += b
        else:
            stats["drop_package_cap"] += 1
            stats["drop_package_cap_bytes"] += b
    kept.sort(key=lambda d: d["path"])
    return kept


# ---------------------------------------------------------------- main pipeline

def build(packages: list[dict], data_dir: str, cache_dir: str, timings: dict) -> tuple[list[dict], Counter]:
    stats: Counter = Counter()
    settings = filters.SETTINGS
    docs: list[dict] = []
    t0 = time.time()
    for i, p in enumerate(packages):
        data = registry.download(p, cache_dir)
        stats["archive_bytes"] += len(data)
        pdocs = collect_package(p, data, stats)
        cap = settings["max_bytes_per_package_shipping_ts_sources" if p["_ships_ts_sources"]
                       else "max_bytes_per_package"]
        pdocs = cap_package(pdocs, cap, stats)
        for d in pdocs:
            d["_split"] = p["split"]
        docs.extend(pdocs)
        if (i + 1) % 50 == 0:
            log(f"  {i + 1}/{len(packages)} packages, {len(docs)} files so far")
    timings["download_and_filter_s"] = round(time.time() - t0, 1)
    stats["after_file_filters_files"] = len(docs)
    stats["after_file_filters_bytes"] = sum(len(d["text"].encode()) for d in docs)

    # keep priority: train before valid, then package order, then path
    order = {pkg_id(p): i for i, p in enumerate(packages)}
    docs.sort(key=lambda d: (d["_split"] != "train", order[d["package"]], d["path"]))

    # exact dedup
    t0 = time.time()
    seen, exact = set(), []
    for d in docs:
        h = hashlib.sha1(filters.normalized_for_hash(d["text"]).encode()).digest()
        if h in seen:
            stats["drop_exact_duplicate"] += 1
            stats["drop_exact_duplicate_bytes"] += len(d["text"].encode())
            continue
        seen.add(h)
        exact.append(d)
    docs = exact
    timings["exact_dedup_s"] = round(time.time() - t0, 1)

    # near dedup
    t0 = time.time()
    nd = settings["near_dedup"]
    mh = dedup.MinHasher(num_perm=nd["num_perm"])
    sigs = np.zeros((len(docs), nd["num_perm"]), dtype=np.uint32)
    for i, d in enumerate(docs):
        sigs[i] = mh.signature(d["text"])
        if (i + 1) % 20000 == 0:
            log(f"  minhash {i + 1}/{len(docs)}")
    timings["minhash_s"] = round(time.time() - t0, 1)
    t1 = time.time()
    uf, checks = dedup.near_duplicate_clusters(sigs, nd["bands"], nd["rows"], nd["threshold"])
    timings["lsh_s"] = round(time.time() - t1, 1)
    stats["near_dedup_candidate_checks"] = checks
    kept = []
    for i, d in enumerate(docs):
        if uf.find(i) != i:
            stats["drop_near_duplicate"] += 1
            stats["drop_near_duplicate_bytes"] += len(d["text"].encode())
            if d["_split"] == "valid":
                stats["drop_near_duplicate_valid"] += 1
        else:
            kept.append(d)
    docs = kept

    # cap declaration files at dts_max_share of the corpus bytes
    total = sum(len(d["text"].encode()) for d in docs)
    dts = [d for d in docs if filters.is_declaration(d["path"])]
    dts_bytes = sum(len(d["text"].encode()) for d in dts)
    share = settings["dts_max_share"]
    if dts_bytes > share * total:
        non_dts = total - dts_bytes
        budget = share / (1 - share) * non_dts
        dts.sort(key=lambda d: hashlib.sha1(f"{d['package']}/{d['path']}".encode()).digest())
        keep_ids, used = set(), 0
        for d in dts:
            b = len(d["text"].encode())
            if used + b <= budget:
                keep_ids.add(id(d))
                used += b
            else:
                stats["drop_dts_cap"] += 1
                stats["drop_dts_cap_bytes"] += b
        docs = [d for d in docs if not filters.is_declaration(d["path"]) or id(d) in keep_ids]
    docs.sort(key=lambda d: (order[d["package"]], d["path"]))
    return docs, stats


def write_outputs(docs: list[dict], data_dir: str) -> dict:
    os.makedirs(data_dir, exist_ok=True)
    outputs = {}
    for split in ("train", "valid"):
        path = os.path.join(data_dir, f"{split}.jsonl")
        h = hashlib.sha256()
        n = nbytes = 0
        with open(path + ".part", "w", encoding="utf-8") as f:
            for d in docs:
                if d["_split"] != split:
                    continue
                line = json.dumps({k: d[k] for k in ("package", "version", "path", "language", "text")},
                                  ensure_ascii=False) + "\n"
                f.write(line)
                h.update(line.encode("utf-8"))
                n += 1
                nbytes += len(d["text"].encode("utf-8"))
        os.replace(path + ".part", path)
        outputs[f"{split}.jsonl"] = {"files": n, "text_bytes": nbytes, "sha256": h.hexdigest()}
    return outputs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packages", default=os.path.join(HERE, "packages.txt"),
                    help="candidate list (one npm name, or pypi:name, per line; optional @version)")
    ap.add_argument("--from-manifest", nargs="?", const=DEFAULT_MANIFEST, default=None, metavar="MANIFEST",
                    help="rebuild exactly from a manifest (default: training/corpus-manifest.json)")
    ap.add_argument("--manifest-out", default=DEFAULT_MANIFEST)
    ap.add_argument("--data-dir", default=DEFAULT_DATA)
    ap.add_argument("--cache-dir", default=None, help="archive cache (default: <data-dir>/tarballs)")
    args = ap.parse_args()
    cache_dir = args.cache_dir or os.path.join(args.data_dir, "tarballs")
    t_start = time.time()
    timings: dict = {}

    if args.from_manifest:
        with open(args.from_manifest) as f:
            manifest = json.load(f)
        if manifest["filter_settings"] != filters.SETTINGS:
            log("warning: filter settings differ from the code; using the manifest's")
            filters.SETTINGS.clear()
            filters.SETTINGS.update(manifest["filter_settings"])
        packages = [dict(p) for p in manifest["packages"]]
        rejected = manifest.get("rejected", [])
        log(f"rebuilding from {args.from_manifest}: {len(packages)} pinned packages")
    else:
        t0 = time.time()
        specs = read_package_list(args.packages)
        log(f"resolving {len(specs)} package specs")
        packages, rejected = resolve_all(specs)
        unscoped = [p["name"] for p in packages if p["ecosystem"] == "npm" and not p["name"].startswith("@")]
        for p in packages:
            p["family"] = family_of(p, unscoped)
            p["split"] = split_of(p["family"])
        timings["resolve_s"] = round(time.time() - t0, 1)
        log(f"{len(packages)} packages allowed, {len(rejected)} rejected")

    docs, stats = build(packages, args.data_dir, cache_dir, timings)
    t0 = time.time()
    outputs = write_outputs(docs, args.data_dir)
    timings["write_s"] = round(time.time() - t0, 1)

    per_pkg = defaultdict(lambda: [0, 0])
    for d in docs:
        per_pkg[d["package"]][0] += 1
        per_pkg[d["package"]][1] += len(d["text"].encode())
    lang_bytes = Counter()
    for d in docs:
        key = "typescript-declaration" if filters.is_declaration(d["path"]) else d["language"]
        lang_bytes[key] += len(d["text"].encode())

    entries = []
    for p in packages:
        entries.append({
            "ecosystem": p["ecosystem"],
            "name": p["name"],
            "version": p["version"],
            "license": p["license"],
            "license_raw": p["license_raw"],
            "tarball": p["tarball"],
            "integrity": p["integrity"],
            "family": p["family"],
            "split": p["split"],
            "ships_ts_sources": p["_ships_ts_sources"],
            "source_files": p["_source_files"],
            "source_bytes": p["_source_bytes"],
            "files_kept": per_pkg[pkg_id(p)][0],
            "bytes_kept": per_pkg[pkg_id(p)][1],
        })

    totals = {
        "packages": len(packages),
        "packages_by_split": dict(Counter(p["split"] for p in packages)),
        "packages_by_ecosystem": dict(Counter(p["ecosystem"] for p in packages)),
        "packages_by_license": dict(sorted(Counter(p["license"] for p in packages).items())),
        "packages_with_no_file_kept": sum(1 for p in packages if per_pkg[pkg_id(p)][0] == 0),
        "files": len(docs),
        "bytes": sum(v[1] for v in per_pkg.values()),
        "bytes_by_language": dict(sorted(lang_bytes.items())),
        "filters": dict(sorted(stats.items())),
    }
    total_s = round(time.time() - t_start, 1)
    timings["total_s"] = total_s

    if args.from_manifest:
        ok = True
        for name, out in outputs.items():
            want = manifest["outputs"][name]
            same = want == out
            ok &= same
            log(f"{name}: {'identical to the manifest' if same else f'DIFFERS: {out} vs {want}'}")
        for e, old in zip(entries, manifest["packages"]):
            if (e["files_kept"], e["bytes_kept"]) != (old["files_kept"], old["bytes_kept"]):
                ok = False
                log(f"  {e['name']}: files/bytes {e['files_kept']}/{e['bytes_kept']} vs "
                    f"{old['files_kept']}/{old['bytes_kept']}")
        with open(os.path.join(args.data_dir, "build_stats.json"), "w") as f:
            json.dump({"mode": "from-manifest", "identical": ok, "timings": timings, "totals": totals,
                       "outputs": outputs}, f, indent=1)
        log(f"done in {total_s}s; rebuild {'matches' if ok else 'DOES NOT match'} the manifest")
        return 0 if ok else 1

    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "description": "MoE Lens training corpus: permissively licensed npm (and a few PyPI) packages. "
                       "Rebuild with: python training/corpus/build_corpus.py --from-manifest",
        "allowed_licenses": list(ALLOWED),
        "split": {"unit": "package family (npm scope, or shared name prefix)", "salt": SPLIT_SALT,
                  "valid_fraction_of_families": VALID_FRACTION},
        "filter_settings": filters.SETTINGS,
        "totals": totals,
        "outputs": outputs,
        "packages": entries,
        "rejected": rejected,
    }
    with open(args.manifest_out, "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(args.data_dir, "build_stats.json"), "w") as f:
        json.dump({"mode": "resolve", "timings": timings, "totals": totals, "outputs": outputs}, f, indent=1)
    log(f"done in {total_s}s: {totals['files']} files, {totals['bytes'] / 1e6:.1f} MB; "
        f"train {outputs['train.jsonl']['text_bytes'] / 1e6:.1f} MB, valid {outputs['valid.jsonl']['text_bytes'] / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
