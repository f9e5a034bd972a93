"""Package registry access for the corpus builder (npm registry and PyPI), standard library only.

Everything goes through the registries' ordinary public HTTPS endpoints:
  npm:  https://registry.npmjs.org/<name>/<version|latest>  (version document: license, dist)
  PyPI: https://pypi.org/pypi/<name>/json                   (info + release files with sha256)
Tarballs are cached under training/data/tarballs/ and always verified against the registry's
integrity string (npm: SRI sha512, PyPI: sha256 written in the same SRI form).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import urllib.parse
import urllib.request

from licenses import normalize_license, pypi_license

NPM_REGISTRY = "https://registry.npmjs.org"
PYPI = "https://pypi.org/pypi"
USER_AGENT = "moe-lens-corpus-builder/1.0 (+training/corpus)"


class RegistryError(Exception):
    pass


def _get(url: str, retries: int = 3, timeout: float = 60.0) -> bytes:
    last: Exception | None = None
    for attempt in range(retries):
        try:
            req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:  # 404 etc. are final
            if e.code in (400, 401, 403, 404, 410):
                raise RegistryError(f"HTTP {e.code} for {url}") from e
            last = e
        except Exception as e:  # network hiccup: retry
            last = e
        time.sleep(1.5 * (attempt + 1))
    raise RegistryError(f"failed to fetch {url}: {last}")


def sri(data: bytes, algo: str = "sha512") -> str:
    return f"{algo}-" + base64.b64encode(hashlib.new(algo, data).digest()).decode()


def verify_integrity(data: bytes, integrity: str) -> bool:
    algo, _, expected = integrity.partition("-")
    return base64.b64encode(hashlib.new(algo, data).digest()).decode() == expected


def split_spec(spec: str) -> tuple[str, str, str | None]:
    """'pypi:click@8.1.7' -> ('pypi','click','8.1.7'); '@scope/x@1' -> ('npm','@scope/x','1')."""
    eco = "npm"
    if spec.startswith("pypi:"):
        eco, spec = "pypi", spec[5:]
    elif spec.startswith("npm:"):
        spec = spec[4:]
    at = spec.rfind("@")
    if at > 0:
        return eco, spec[:at], spec[at + 1:]
    return eco, spec, None


def resolve_npm(name: str, version: str | None) -> dict:
    quoted = urllib.parse.quote(name, safe="@")
    doc = json.loads(_get(f"{NPM_REGISTRY}/{quoted.replace('/', '%2F')}/{version or 'latest'}"))
    dist = doc.get("dist") or {}
    raw_license = doc.get("license")
    if raw_license is None and doc.get("licenses"):
        raw_license = doc["licenses"]
    integrity = dist.get("integrity")
    if not integrity:  # very old packages: only sha1 shasum; we do not use those
        raise RegistryError(f"{name}@{doc.get('version')}: no sha512 integrity in registry")
    return {
        "ecosystem": "npm",
        "name": name,
        "version": doc["version"],
        "license_raw": raw_license,
        "license": normalize_license(raw_license),
        "tarball": dist["tarball"],
        "integrity": integrity,
        "unpacked_size": dist.get("unpackedSize"),
        "file_count": dist.get("fileCount"),
    }


def resolve_pypi(name: str, version: str | None) -> dict:
    url = f"{PYPI}/{name}/{version}/json" if version else f"{PYPI}/{name}/json"
    doc = json.loads(_get(url))
    info = doc["info"]
    files = doc.get("urls") or []
    sdists = [f for f in files if f.get("packagetype") == "sdist"]
    if not sdists:
        raise RegistryError(f"pypi:{name}=={info['version']}: no sdist")
    sd = sdists[0]
    # Some PyPI front-ends answer with relative file URLs ('../../packages/packages/ab/cd/...');
    # record the canonical files.pythonhosted.org address of the same file.
    file_url = urllib.parse.urljoin(url, sd["url"])
    if "/packages/packages/" in file_url:
        file_url = "https://files.pythonhosted.org/packages/" + file_url.split("/packages/packages/", 1)[1]
    sha256 = sd["digests"]["sha256"]
    return {
        "ecosystem": "pypi",
        "name": name,
        "version": info["version"],
        "license_raw": info.get("license_expression") or info.get("license") or None,
        "license": pypi_license(info),
        "tarball": file_url,
        "integrity": "sha256-" + base64.b64encode(bytes.fromhex(sha256)).decode(),
        "unpacked_size": None,
        "file_count": None,
    }


def resolve(spec: str) -> dict:
    eco, name, version = split_spec(spec)
    return resolve_pypi(name, version) if eco == "pypi" else resolve_npm(name, version)


def cache_path(cache_dir: str, pkg: dict) -> str:
    base = os.path.basename(urllib.parse.urlparse(pkg["tarball"]).path)
    safe = pkg["name"].replace("/", "__").replace("@", "")
    return os.path.join(cache_dir, pkg["ecosystem"], f"{safe}@{pkg['version']}__{base}")


def download(pkg: dict, cache_dir: str) -> bytes:
    """Return the verified archive bytes, from the cache when present."""
    path = cache_path(cache_dir, pkg)
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
        if verify_integrity(data, pkg["integrity"]):
            return data
    data = _get(pkg["tarball"], timeout=180.0)
    if not verify_integrity(data, pkg["integrity"]):
        raise RegistryError(f"integrity mismatch for {pkg['name']}@{pkg['version']}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return data
