"""Solara's front-end files, cached locally so the dashboard works with no internet.

Solara serves its page's JavaScript and CSS through `/_solara/cdn/<package>@<version>/...`,
fetching each file from a public CDN the first time and caching it in
`SOLARA_ASSETS_PROXY_CACHE_DIR` (by default `<venv>/share/solara/cdn`). A classroom (or a CI
machine) may have no internet, so `fill_cache` fills that folder once from the npm registry
(`npm pack`), with the exact packages the dashboard's page asks for under solara 1.64.

Run it with `python -m sim.classroom.assets` (`make demo` and `make test` do).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# (folder in the cache = the URL part the page asks for, npm package spec to pack)
PACKAGES = (
    ("@widgetti/solara-vuetify-app@10.1.1", "@widgetti/solara-vuetify-app@10.1.1"),
    ("@widgetti/vue-grid-layout@2.3.13-alpha.2", "@widgetti/vue-grid-layout@2.3.13-alpha.2"),
    ("requirejs@2.3.6", "requirejs@2.3.6"),
    ("font-awesome@4.5.0", "font-awesome@4.5.0"),
    ("vega@5", "vega@5"),
    ("vega-lite@5", "vega-lite@5"),
    ("vega-embed@6", "vega-embed@6"),
    ("katex@0.16.9", "katex@0.16.9"),
    ("mermaid@10.8.0", "mermaid@10.8.0"),
)
# files the page asks for that a package does not ship under that name: (copy, of)
ALIASES = (("requirejs@2.3.6/require.min.js", "requirejs@2.3.6/require.js"),)


def cache_dir() -> Path:
    """Where solara looks for cached assets (honours SOLARA_ASSETS_PROXY_CACHE_DIR)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def missing(folder: Path | None = None) -> list[str]:
    """Cache folders (package@version) not filled yet."""
    folder = folder or cache_dir()
    return [name for name, _ in PACKAGES if not (folder / name / "package.json").exists()]


def _unpack(tarball: Path, target: Path) -> None:
    """Untar an npm tarball into `target`, dropping its leading `package/` folder."""
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                parts = Path(member.name).parts[1:]
                if not parts or not (member.isfile() or member.isdir()):
                    continue
                member.name = str(Path(*parts))
                archive.extract(member, staging, filter="data")
        staging.rename(target)   # whole package or nothing
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fill_cache(folder: Path | None = None, log=print) -> list[str]:
    """Download and unpack every missing package (needs `npm` and the npm registry); returns
    the folders filled."""
    folder = folder or cache_dir()
    todo = missing(folder)
    if todo and shutil.which("npm") is None:
        raise RuntimeError("npm is not installed: it is needed once to fetch the dashboard's "
                           "front-end files (apt-get install npm)")
    filled = []
    for name, spec in PACKAGES:
        if name not in todo:
            continue
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as download:
            result = subprocess.run(["npm", "pack", spec, "--silent"], cwd=download,
                                    capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"npm pack {spec} failed: {result.stderr.strip()}")
            tarball = Path(download) / result.stdout.strip().splitlines()[-1]
            _unpack(tarball, target)
        filled.append(name)
        log(f"cached {name}")
    for alias, original in ALIASES:
        if not (folder / alias).exists() and (folder / original).exists():
            shutil.copyfile(folder / original, folder / alias)
    return filled


def main() -> int:
    folder = cache_dir()
    try:
        filled = fill_cache(folder)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Solara assets in {folder}: {len(PACKAGES)} packages "
          f"({len(filled)} fetched now, {len(PACKAGES) - len(filled)} already there)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
