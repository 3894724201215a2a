"""Check URLs against ../shared/reserved-urls.sha256 (pages reserved for independent evaluation).

    python3 data/tools/reserved.py URL [URL ...]      # prints "ok URL" or "RESERVED URL"
    python3 data/tools/reserved.py --data data        # every URL found in data/: exit 1 on a hit
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

RESERVED = Path(__file__).resolve().parents[2].parent / "shared" / "reserved-urls.sha256"
URL = re.compile(r'https?://[^\s"<>\\]+')


def reserved_hashes(path: Path = RESERVED) -> set[str]:
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def is_reserved(url: str, hashes: set[str]) -> bool:
    return hashlib.sha256(url.encode("utf-8")).hexdigest() in hashes


def reserved_in_tree(root: Path, hashes: set[str]) -> list[str]:
    hits = []
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in (".jsonl", ".json", ".csv", ".md", ".txt", ".tsv"):
            for url in URL.findall(f.read_text(encoding="utf-8", errors="ignore")):
                if is_reserved(url, hashes):
                    hits.append(f"{f}: {url}")
    return hits


def main(argv: list[str]) -> int:
    hashes = reserved_hashes()
    if argv[:1] == ["--data"]:
        hits = reserved_in_tree(Path(argv[1] if len(argv) > 1 else "data"), hashes)
        print("\n".join(hits) or "no reserved URL")
        return 1 if hits else 0
    for url in argv:
        print(("RESERVED " if is_reserved(url, hashes) else "ok ") + url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
