"""Licence normalisation: map a registry's licence field to SPDX ids and decide if it is allowed."""

from __future__ import annotations

import re

ALLOWED = (
    "MIT",
    "ISC",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "0BSD",
    "Unlicense",
    "CC0-1.0",
)

_ALIASES = {
    "mit": "MIT",
    "mit license": "MIT",
    "the mit license": "MIT",
    "expat": "MIT",
    "isc": "ISC",
    "isc license": "ISC",
    "apache-2.0": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache2": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "bsd-2-clause": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "modified bsd": "BSD-3-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "0bsd": "0BSD",
    "unlicense": "Unlicense",
    "the unlicense": "Unlicense",
    "cc0-1.0": "CC0-1.0",
    "cc0": "CC0-1.0",
}


def _one(tok: str) -> str | None:
    t = tok.strip().strip("()").strip()
    if not t:
        return None
    if t in ALLOWED:
        return t
    return _ALIASES.get(t.lower(), t)


def normalize_license(raw) -> str | None:
    """npm `license` (string / {type} / [{type}]) -> SPDX expression string, or None."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        raw = raw.get("type")
    if isinstance(raw, list):
        parts = [normalize_license(x) for x in raw]
        parts = [p for p in parts if p]
        return " OR ".join(parts) if parts else None  # legacy `licenses` arrays meant a choice
    if not isinstance(raw, str):
        return None
    s = raw.strip()
    if not s:
        return None
    tokens = re.split(r"(\s+(?:OR|AND|or|and)\s+|[()])", s)
    out = []
    for tok in tokens:
        if tok is None or tok == "":
            continue
        if tok.strip().upper() in ("OR", "AND"):
            out.append(f" {tok.strip().upper()} ")
        elif tok in ("(", ")"):
            out.append(tok)
        elif tok.strip():
            out.append(_one(tok) or tok)
    return "".join(out).strip()


def is_allowed(expr: str | None) -> bool:
    """True when the expression can be satisfied with allowed licences only.

    `A OR B` needs one allowed side; `A AND B` needs both. Parentheses are handled one level deep,
    which covers what registries actually contain."""
    if not expr:
        return False
    e = expr.strip()
    if e.startswith("(") and e.endswith(")") and e.count("(") == 1:
        e = e[1:-1].strip()
    if "(" in e:  # nested: evaluate each parenthesised group first
        def repl(m):
            return "MIT" if is_allowed(m.group(1)) else "NOASSERTION"
        e = re.sub(r"\(([^()]*)\)", repl, e)
    for alt in re.split(r"\s+OR\s+", e):
        if all(p.strip() in ALLOWED for p in re.split(r"\s+AND\s+", alt)):
            return True
    return False


_CLASSIFIERS = {
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: ISC License (ISCL)": "ISC",
    "License :: OSI Approved :: Apache Software License": "Apache-2.0",
    "License :: OSI Approved :: BSD License": "BSD-3-Clause",
    "License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
    "License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
}


def pypi_license(info: dict) -> str | None:
    """PyPI: prefer the PEP 639 `license_expression`, then a short `license` string that is an SPDX
    id, then the trove classifiers (a bare 'BSD License' classifier is taken as BSD-3-Clause, the
    usual meaning; the raw field is recorded in the manifest next to it)."""
    expr = info.get("license_expression")
    if expr:
        return normalize_license(expr)
    lic = (info.get("license") or "").strip()
    if lic and len(lic) < 40 and "\n" not in lic:
        n = normalize_license(lic)
        if is_allowed(n):
            return n
    found = [v for c, v in _CLASSIFIERS.items() if c in (info.get("classifiers") or [])]
    if found:
        return " OR ".join(dict.fromkeys(found))
    return normalize_license(lic) if lic and len(lic) < 40 else None
