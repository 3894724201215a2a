"""Validate a paraphrased real-register batch (data/annotation/REALWORLD_BRIEF.md).

    python3 data/tools/check_realworld.py FILE [FILE ...]

Checks the record schema, label names, unique ids, reserved URLs and one sentence per record,
then prints articles, outlets, events, sentences, positives per label and the share with no label.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reserved import is_reserved, reserved_hashes  # noqa: E402

LABELS = ["external_interference", "color_revolution", "terrorism", "legitimacy", "solidarity"]
KEYS = ("id", "doc", "text", "labels", "lang", "origin", "source", "license", "writer", "annotator")
SOURCE_KEYS = ("url", "outlet", "date", "event")


def check(paths: list[str]) -> int:
    hashes = reserved_hashes()
    problems, ids = [], set()
    docs, outlets, events, per_label, none, n = set(), set(), set(), Counter(), 0, 0
    for path in paths:
        for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                r = json.loads(line)
            except json.JSONDecodeError as err:
                problems.append(f"{where}: not JSON ({err.msg})")
                continue
            missing = [k for k in KEYS if k not in r] + [f"source.{k}" for k in SOURCE_KEYS if k not in r.get("source", {})]
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
                continue
            if r["id"] in ids:
                problems.append(f"{where}: duplicate id {r['id']}")
            ids.add(r["id"])
            bad = [x for x in r["labels"] if x not in LABELS]
            if bad:
                problems.append(f"{where}: unknown label(s) {bad}")
            if r["origin"] != "paraphrased":
                problems.append(f"{where}: origin must be 'paraphrased'")
            if is_reserved(r["source"]["url"], hashes):
                problems.append(f"{where}: RESERVED url {r['source']['url']}")
            text = r["text"].strip()
            if not text or "\n" in text:
                problems.append(f"{where}: text must be one non-empty line")
            n += 1
            docs.add(r["doc"])
            outlets.add(r["source"]["outlet"])
            events.add(r["source"]["event"])
            per_label.update(r["labels"])
            none += not r["labels"]
    print(f"sentences {n}, articles {len(docs)}, outlets {len(outlets)}, events {len(events)}, "
          f"no label {none / max(n, 1):.0%}")
    print("positives: " + ", ".join(f"{label} {per_label[label]}" for label in LABELS))
    for p in problems[:50]:
        print("PROBLEM " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(check(sys.argv[1:]))
