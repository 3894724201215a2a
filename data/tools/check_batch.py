"""Check an annotation output file against its input batch.

    python data/tools/check_batch.py INPUT.jsonl OUTPUT.jsonl

Every input id must appear once, in order, with a Korean `text` and `labels` drawn from
the five frames. Exits non-zero and lists the problems otherwise.
"""

import json
import re
import sys

from framing.labels import LABELS

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def main(inp: str, out: str) -> int:
    want = [json.loads(line)["id"] for line in open(inp, encoding="utf-8") if line.strip()]
    problems, got = [], []
    for n, line in enumerate(open(out, encoding="utf-8"), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"line {n}: invalid JSON ({e})")
            continue
        got.append(r.get("id"))
        if not isinstance(r.get("text"), str) or not HANGUL.search(r["text"]):
            problems.append(f"line {n} ({r.get('id')}): `text` must be Korean")
        if not isinstance(r.get("labels"), list) or set(r["labels"]) - set(LABELS):
            problems.append(f"line {n} ({r.get('id')}): bad labels {r.get('labels')!r}")
    if got != want:
        missing = [i for i in want if i not in got]
        extra = [i for i in got if i not in want]
        problems.append(f"ids differ from input: {len(missing)} missing (first: {missing[:5]}), "
                        f"{len(extra)} extra (first: {extra[:5]}), or order differs")
    for p in problems[:50]:
        print(p)
    print(f"{len(got)} records, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
