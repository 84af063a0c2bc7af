"""Write the KIS API reference under ``docs/apis/`` from the package's catalog.

    python tools/build_docs.py           # (re)write docs/apis/: one page per API and README.md
    python tools/build_docs.py --check   # regenerate in memory; exit 1 on any difference

The pages are rendered by :mod:`stock_manager.cli.kis_catalog` (the same text ``stock-manager kis
apis show ID`` prints), so after the catalog changes (a new KIS workbook build) running this and
reviewing the diff is the whole update. Pages of APIs no longer in the catalog are removed.
The pages of futures/options account APIs say which account they take (:func:`account_note`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "apis"
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from stock_manager.adapters.broker.kis import ApiSpec, Catalog, get_catalog  # noqa: E402
from stock_manager.cli.api_pages import page_path, pages  # noqa: E402

# At KIS an app key belongs to one account number (CANO-product): the futures/options APIs
# take the same CANO with their family's product code, and refuse the stock account's.
FUTURES_PRODUCTS = {"/uapi/domestic-futureoption/": "03", "/uapi/overseas-futureoption/": "08"}
SOURCE_FACT = "- **source**: "


def account_note(spec: ApiSpec) -> str | None:
    """The facts line naming the account ``spec`` takes, or None for the stock account's."""
    if not any(param.name == "CANO" for param in spec.params):
        return None
    product = next((p for part, p in FUTURES_PRODUCTS.items() if part in spec.path), None)
    if product is None:
        return None
    return (
        f"- **account**: the futures/options account, product code `{product}` "
        f"(`KIS_ACCOUNT_NO=<CANO>-{product}`); the stock account (`-01`) is refused"
    )


def documented(catalog: Catalog) -> dict[str, str]:
    """Every file under ``docs/apis/``: :func:`pages` with the account line where it applies."""
    files = pages(catalog)
    for spec in catalog:
        note = account_note(spec)
        if note is None:
            continue
        path = page_path(spec)
        head, found, tail = files[path].partition(f"\n{SOURCE_FACT}")
        if not found:
            raise ValueError(f"{path}: no source fact to put the account line before")
        files[path] = f"{head}\n{note}\n{SOURCE_FACT}{tail}"
    return files


def differences(expected: dict[str, str], folder: Path) -> list[str]:
    """What in ``folder`` differs from ``expected`` (relative path -> text), one line each."""
    found = {
        path.relative_to(folder).as_posix(): path for path in folder.rglob("*.md") if path.is_file()
    }
    problems = [f"missing: {name}" for name in sorted(expected.keys() - found.keys())]
    problems += [
        f"not generated (stale): {name}" for name in sorted(found.keys() - expected.keys())
    ]
    problems += [
        f"differs: {name}"
        for name in sorted(expected.keys() & found.keys())
        if found[name].read_text(encoding="utf-8") != expected[name]
    ]
    return problems


def write(expected: dict[str, str], folder: Path) -> int:
    """Make ``folder`` hold exactly ``expected``; the number of files written or removed."""
    changed = 0
    for name, text in expected.items():
        path = folder / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        changed += 1
    for path in sorted(folder.rglob("*.md")):
        if path.relative_to(folder).as_posix() not in expected:
            path.unlink()
            changed += 1
    for directory in sorted(folder.rglob("*"), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/apis/ is out of date")
    parser.add_argument("--out", type=Path, default=DOCS, help="folder to write (docs/apis)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    expected = documented(get_catalog())
    if args.check:
        problems = differences(expected, args.out)
        for problem in problems[:20]:
            print(problem, file=sys.stderr)
        if problems:
            print(
                f"{len(problems)} page(s) out of date with the catalog: run "
                "`python tools/build_docs.py` and commit docs/apis/",
                file=sys.stderr,
            )
            return 1
        print(f"docs/apis/ is up to date ({len(expected)} files)")
        return 0
    changed = write(expected, args.out)
    elapsed = time.perf_counter() - started
    print(f"{len(expected)} files in {args.out}, {changed} changed, {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
