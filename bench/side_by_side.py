"""A blind side-by-side of fallback replies from two systems on validation messages drawn at
random: by default today's (the LSTM with MMI re-ranking) and the hybrid fallback's.

    .venv/bin/python bench/side_by_side.py sheet --out /tmp/sbs       # sheet.md + key.json
    (a reader fills /tmp/sbs/verdicts.json: {"1": {"prefer": "A"|"B"|"tie",
                                                  "fits": {"A": true, "B": false}}, ...})
    .venv/bin/python bench/side_by_side.py unblind --out /tmp/sbs     # the table, unblinded

    # any two models, e.g. the two kinds of network trained on the same budget:
    .venv/bin/python bench/side_by_side.py sheet --out /tmp/kinds \
        --system lstm=runs/cmp_lstm/best.pt --system transformer=runs/cmp_transformer/best.pt

The sheet shows each message (with the turn before it) and the two replies in an order drawn
per item, so the reader cannot tell which system wrote which; the key stays in key.json
until the verdicts are in. A system whose folder holds a reply index is served as the hybrid,
with the acknowledgements the agent would add from the bot's files, as in
`bench/generator_latency.py --hybrid-ab`.
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

DEFAULT_SYSTEMS = ("today=models/generator/model.pt", "hybrid=models/generator")


def parse_systems(specs: list[str]) -> list[tuple[str, Path]]:
    """Two ``NAME=PATH`` specs, distinct names."""
    systems = [tuple(spec.split("=", 1)) for spec in specs]
    if len(systems) != 2 or any(len(x) != 2 or not all(x) for x in systems):
        raise SystemExit("give exactly two --system NAME=PATH")
    if systems[0][0] == systems[1][0]:
        raise SystemExit("the two systems need different names")
    return [(name, Path(path)) for name, path in systems]


def sheet(systems: list[tuple[str, Path]], data_dir: Path, n: int, seed: int, out: Path) -> None:
    """Write the blind sheet and its key."""
    data_cfg = checkpoint.data_config(checkpoint.read(systems[0][1]))
    convs = split_for_eval(load_corpus("chitchat"), data_cfg, "validation", ["ai"])
    exchanges = sample_exchanges(convs, data_cfg.context_turns, n, seed=seed)
    contexts = [ReplyContext(e.context, topic=e.topic) for e in exchanges]
    replies: list[list[str]] = []
    for _, path in systems:
        gen = load(path, seed=0)
        asked = grounded(contexts, data_dir) if gen.hybrid else contexts
        replies.append([g.text or "(refused: a canned line)" for g in map(gen.reply, asked)])
    (first, _), (second, _) = systems
    rng = random.Random(seed)
    key: dict[str, dict[str, str]] = {}
    lines = ["# Blind side-by-side: which reply would you rather read?", ""]
    for i, (e, a, b) in enumerate(zip(exchanges, *replies, strict=True), 1):
        swap = rng.random() < 0.5
        shown = {"A": b if swap else a, "B": a if swap else b}
        key[str(i)] = {"A": second if swap else first, "B": first if swap else second}
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
        {"message": e.message, first: a, second: b}
        for e, a, b in zip(exchanges, *replies, strict=True)
    ]
    meta = {"systems": [[name, str(path)] for name, path in systems], "items": items}
    (out / "items.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    print(f"wrote {out / 'sheet.md'} ({len(items)} items); key in {out / 'key.json'}")


def unblind(out: Path) -> None:
    """Print the verdict table (markdown) and the totals."""
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    verdicts = json.loads((out / "verdicts.json").read_text(encoding="utf-8"))
    meta = json.loads((out / "items.json").read_text(encoding="utf-8"))
    names = [name for name, _ in meta["systems"]]
    prefer = dict.fromkeys([*names, "tie"], 0)
    fits = dict.fromkeys(names, 0)
    rows = [
        f"| # | message | {' | '.join(names)} | preferred | "
        + " | ".join(f"{n} fits" for n in names)
        + " |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, item in enumerate(meta["items"], 1):
        v = verdicts[str(i)]
        side = key[str(i)]
        winner = "tie" if v["prefer"] == "tie" else side[v["prefer"]]
        prefer[winner] += 1
        fit = {side[letter]: bool(ok) for letter, ok in v["fits"].items()}
        for system in fits:
            fits[system] += fit[system]
        cells = [item["message"], *(item[n] for n in names)]
        cells = [c.replace("|", "\\|").replace("\n", " ") for c in cells]
        marks = " | ".join("yes" if fit[n] else "no" for n in names)
        rows.append(f"| {i} | {' | '.join(cells)} | {winner} | {marks} |")
    print("\n".join(rows))
    counts = ", ".join(f"{n} {prefer[n]}" for n in names)
    print(f"\npreferred: {counts}, tie {prefer['tie']}")
    told = ", ".join(f"{n} {fits[n]}" for n in names)
    print(f"fit their message: {told} (of {len(meta['items'])})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["sheet", "unblind"])
    ap.add_argument(
        "--system",
        action="append",
        help="NAME=PATH of a model folder or checkpoint; twice (default: "
        + ", ".join(DEFAULT_SYSTEMS)
        + ")",
    )
    ap.add_argument("--data-dir", type=Path, default=Path("data/bot"))
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.step == "sheet":
        systems = parse_systems(args.system or list(DEFAULT_SYSTEMS))
        sheet(systems, args.data_dir, args.n, args.seed, args.out)
    else:
        unblind(args.out)


if __name__ == "__main__":
    main()
