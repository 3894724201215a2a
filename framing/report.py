"""Scoring outputs: a terminal table, JSONL, CSV and a self-contained HTML report."""

from __future__ import annotations

import csv
import html
import io
import shutil

from framing.labels import LABELS
from framing.model.framer import ScoredDocument
from framing.results import sentence_results

COLOURS = {"external_interference": "#e8590c", "color_revolution": "#ae3ec9", "terrorism": "#e03131",
           "legitimacy": "#1971c2", "solidarity": "#2f9e44"}
SHORT = {"external_interference": "INT", "color_revolution": "REV", "terrorism": "TER",
         "legitimacy": "LEG", "solidarity": "SOL"}


def to_jsonl(docs: list[ScoredDocument]) -> str:
    out = io.StringIO()
    for d in docs:
        for s in sentence_results(d):
            out.write(s.model_dump_json() + "\n")
    return out.getvalue()


def to_csv(docs: list[ScoredDocument]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["document", "index", "start", "end", "text", *[f"p_{label}" for label in LABELS], "labels"])
    for d in docs:
        for s in d.sentences:
            writer.writerow([d.name, s.index, s.start, s.end, s.text, *[s.probs[label] for label in LABELS], ";".join(s.labels)])
    return out.getvalue()


def to_table(docs: list[ScoredDocument], width: int | None = None) -> str:
    """A readable terminal table: frame codes, then the sentence cut to the terminal width."""
    width = width or shutil.get_terminal_size((120, 20)).columns
    legend = "  ".join(f"{SHORT[label]}={label}" for label in LABELS)
    lines = []
    for d in docs:
        lines.append(f"== {d.name} ({len(d.sentences)} sentences)")
        for s in d.sentences:
            tags = ",".join(SHORT[label] for label in s.labels) or "-"
            top = max(s.probs.values()) if s.probs else 0.0
            text = " ".join(s.text.split())
            prefix = f"{s.index:>3}  {tags:<15} {top:4.2f}  "
            room = max(10, width - len(prefix) - 2)  # Hangul is double width in a terminal
            lines.append(prefix + (text if len(text) * 2 <= room else text[: room // 2 - 1] + "…"))
        prof = d.profile()
        lines.append("   profile: " + "  ".join(f"{SHORT[l]} {v['count']} ({v['share']:.0%})" for l, v in prof.items()))
    lines.append(legend)
    return "\n".join(lines) + "\n"


# Shared with the page of `framing serve` (framing/page.py), which renders the same markup.
CSS = """
body{font-family:system-ui,'Noto Sans KR','Malgun Gothic',sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.7;color:#222}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2.5rem;border-bottom:1px solid #ddd;word-break:break-all}
.legend span,.tag{display:inline-block;padding:0 .5em;margin:.1em .3em .1em 0;border-radius:.3em;color:#fff;font-size:.8rem}
.s{border-radius:.2em;padding:.1em 0;cursor:help}
.s.framed{border-bottom:3px solid var(--c);background:color-mix(in srgb,var(--c) 14%,transparent)}
table.profile{border-collapse:collapse;margin:.5rem 0 1rem} table.profile td,table.profile th{padding:.15rem .6rem;border-bottom:1px solid #eee;text-align:right}
table.profile td:first-child,table.profile th:first-child{text-align:left}
.bar{display:inline-block;height:.7em;background:var(--c)}
p.meta{color:#666;font-size:.85rem}
"""


def legend_html() -> str:
    return "<div class='legend'>" + "".join(f'<span style="background:{COLOURS[l]}">{html.escape(l)}</span>' for l in LABELS) + "</div>"


def to_html(docs: list[ScoredDocument], model_name: str, thresholds: dict[str, float]) -> str:
    """One self-contained page: each sentence highlighted by its frame(s), probabilities on
    hover, and a frame profile per article. No scripts, no external resources."""
    esc = html.escape
    parts = [f"<!doctype html><html lang='ko'><head><meta charset='utf-8'><title>framing report</title><style>{CSS}</style></head><body>",
             f"<h1>Frame report</h1><p class='meta'>Model: {esc(model_name)} · thresholds: "
             + ", ".join(f"{esc(l)} {t:.2f}" for l, t in thresholds.items())
             + f" · {len(docs)} document(s)</p>{legend_html()}"]
    for d in docs:
        parts.append(f"<h2>{esc(d.name)}</h2><table class='profile'><tr><th>frame</th><th>sentences</th><th>share</th><th></th></tr>")
        for label, v in d.profile().items():
            parts.append(f"<tr><td>{esc(label)}</td><td>{v['count']}</td><td>{v['share']:.0%}</td>"
                         f"<td><span class='bar' style='--c:{COLOURS[label]};width:{v['share'] * 12:.2f}rem'></span></td></tr>")
        parts.append("</table><p>")
        for prev, s in zip([None] + d.sentences[:-1], d.sentences):
            if prev is not None and "\n" in d.text[prev.end:s.start]:
                parts.append("</p><p>")  # a paragraph break in the article
            tip = "\n".join(f"{l}: {p:.3f}{' ✓' if l in s.labels else ''}" for l, p in s.probs.items())
            tags = "".join(f'<span class="tag" style="background:{COLOURS[l]}">{esc(SHORT[l])}</span>' for l in s.labels)
            colour = COLOURS[max(s.labels, key=lambda l: s.probs[l])] if s.labels else "transparent"
            cls = "s framed" if s.labels else "s"
            parts.append(f'<span class="{cls}" style="--c:{colour}" title="{esc(tip)}">{esc(s.text)}</span>{tags} ')
        parts.append("</p>")
    parts.append("</body></html>\n")
    return "".join(parts)
