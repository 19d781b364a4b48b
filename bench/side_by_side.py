"""A blind side-by-side of fallback replies: today's (the LSTM with MMI re-ranking) and the
hybrid fallback's, on validation messages drawn at random.

    .venv/bin/python bench/side_by_side.py sheet --out /tmp/sbs       # sheet.md + key.json
    (a reader fills /tmp/sbs/verdicts.json: {"1": {"prefer": "A"|"B"|"tie",
                                                  "fits": {"A": true, "B": false}}, ...})
    .venv/bin/python bench/side_by_side.py unblind --out /tmp/sbs     # the table, unblinded

The sheet shows each message (with the turn before it) and the two replies in an order drawn
per item, so the reader cannot tell which system wrote which; the key stays in key.json
until the verdicts are in. The hybrid reply gets the acknowledgements the agent would add
from the bot's files, as in `bench/generator_latency.py --hybrid-ab`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator import checkpoint, load
from generator.data import load_corpus
from generator.scoring import sample_exchanges, split_for_eval
from generator.types import ReplyContext

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generator_latency import grounded


def sheet(model: Path, data_dir: Path, n: int, seed: int, out: Path) -> None:
    """Write the blind sheet and its key."""
    data_cfg = checkpoint.data_config(checkpoint.read(model))
    convs = split_for_eval(load_corpus("chitchat"), data_cfg, "validation", ["ai"])
    exchanges = sample_exchanges(convs, data_cfg.context_turns, n, seed=seed)
    contexts = [ReplyContext(e.context, topic=e.topic) for e in exchanges]
    today = load(checkpoint.resolve(model), seed=0)
    hybrid = load(model, seed=0)
    old = [g.text or "(refused: a canned line)" for g in map(today.reply, contexts)]
    new = [
        g.text or "(refused: a canned line)"
        for g in map(hybrid.reply, grounded(contexts, data_dir))
    ]
    rng = random.Random(seed)
    key: dict[str, dict[str, str]] = {}
    lines = ["# Blind side-by-side: which reply would you rather read?", ""]
    for i, (e, a, b) in enumerate(zip(exchanges, old, new, strict=True), 1):
        swap = rng.random() < 0.5
        shown = {"A": b if swap else a, "B": a if swap else b}
        key[str(i)] = {"A": "hybrid" if swap else "today", "B": "today" if swap else "hybrid"}
        before = f"  (before: {e.context[-2]})\n" if len(e.context) > 1 else ""
        lines += [
            f"## {i}",
            f"{before}> {e.message}",
            f"- A: {shown['A']}",
            f"- B: {shown['B']}",
            "",
        ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "sheet.md").write_text("\n".join(lines), encoding="utf-8")
    (out / "key.json").write_text(json.dumps(key, indent=1), encoding="utf-8")
    items = [
        {"message": e.message, "today": a, "hybrid": b}
        for e, a, b in zip(exchanges, old, new, strict=True)
    ]
    (out / "items.json").write_text(json.dumps(items, indent=1), encoding="utf-8")
    print(f"wrote {out / 'sheet.md'} ({len(items)} items); key in {out / 'key.json'}")


def unblind(out: Path) -> None:
    """Print the verdict table (markdown) and the totals."""
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    verdicts = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    items = json.loads((out / "items.json").read_text(encoding="utf-8"))
    prefer = {"today": 0, "hybrid": 0, "tie": 0}
    fits = {"today": 0, "hybrid": 0}
    rows = [
        "| # | message | today | hybrid | preferred | today fits | hybrid fits |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, item in enumerate(items, 1):
        v = verdicts[str(i)]
        side = key[str(i)]
        winner = "tie" if v["prefer"] == "tie" else side[v["prefer"]]
        prefer[winner] += 1
        fit = {side[letter]: bool(ok) for letter, ok in v["fits"].items()}
        for system in fits:
            fits[system] += fit[system]
        cells = [item["message"], item["today"], item["hybrid"]]
        cells = [c.replace("|", "\\|").replace("\n", " ") for c in cells]
        rows.append(
            f"| {i} | {' | '.join(cells)} | {winner} | {'yes' if fit['today'] else 'no'} "
            f"| {'yes' if fit['hybrid'] else 'no'} |"
        )
    print("\n".join(rows))
    print(f"\npreferred: hybrid {prefer['hybrid']}, today {prefer['today']}, tie {prefer['tie']}")
    print(f"fit their message: hybrid {fits['hybrid']}, today {fits['today']} (of {len(items)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["sheet", "unblind"])
    ap.add_argument("--model", type=Path, default=Path("models/generator"))
    ap.add_argument("--data-dir", type=Path, default=Path("data/bot"))
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.step == "sheet":
        sheet(args.model, args.data_dir, args.n, args.seed, args.out)
    else:
        unblind(args.out)


if __name__ == "__main__":
    main()
