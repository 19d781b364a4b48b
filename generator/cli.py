"""``threadbot generator ...``: prepare corpora, train, evaluate, export and chat."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from generator.errors import GeneratorError
from nlu.stance_data import STANCES

if TYPE_CHECKING:  # the commands import torch-backed modules only when they run
    from generator.data import Conversation
    from generator.service import Seq2SeqReplyGenerator

CONFIG_HELP = "TOML preset, e.g. configs/generator/default.toml (values there, then options here)."

# Most options here show their default in --help.
shown_option = functools.partial(click.option, show_default=True)


def _fail(exc: Exception) -> click.ClickException:
    return click.UsageError(str(exc).splitlines()[0])


def config_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--config FILE``: the TOML preset a training command starts from."""
    return click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=Path(default),
        show_default=True,
        help=CONFIG_HELP,
    )


def decode_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The decoding options ``eval`` and ``chat`` share, passed on as ``decoding=dict``."""
    from generator.decode import DecodeOptions

    d = DecodeOptions()
    table: list[tuple[str, str, Any, str]] = [  # (flag, field, type, help)
        ("--beam-size", "beam_size", click.IntRange(1), "Beam width."),
        ("--rerank/--no-rerank", "rerank", None, "Re-rank beam and samples by mutual information."),
        ("--num-samples", "num_samples", click.IntRange(0), "Nucleus samples added to the beams."),
        (
            "--mmi-weight",
            "mmi_weight",
            click.FloatRange(0, 1),
            "Weight of log p(reply | no context) subtracted when re-ranking.",
        ),
        ("--length-bonus", "length_bonus", float, "Re-ranking score added per reply token."),
        (
            "--retrieve",
            "retrieve",
            click.IntRange(0),
            "Retrieved human replies ranked beside the generated ones (0: no retrieval).",
        ),
        (
            "--hybrid-samples",
            "hybrid_samples",
            click.IntRange(0),
            "Nucleus samples beside the beams among the hybrid's candidates.",
        ),
        (
            "--max-drop",
            "max_drop",
            click.FloatRange(0),
            "Candidates this many nats/token less fluent than the best are ranked last.",
        ),
    ]
    options = [
        click.option(flag, name, default=getattr(d, name), show_default=True, type=kind, help=text)
        for flag, name, kind, text in table
    ]
    names = [name for _, name, _, _ in table]

    @functools.wraps(func)
    def command(*args: Any, **kw: Any) -> Any:
        return func(*args, decoding={n: kw.pop(n) for n in names}, **kw)

    for option in reversed(options):
        command = option(command)
    return command


@click.group("generator")
def generator() -> None:
    """Fallback reply generator: corpus in, trained and evaluated model out."""


@generator.command("prepare")
@click.option("--corpus", required=True, help="'chitchat', or a .jsonl[.gz]/.tsv/.txt/.json file.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory to write train.jsonl.gz and validation.jsonl.gz into.",
)
@click.option(
    "--topic", "topics", multiple=True, help="Keep conversations with this label (repeatable)."
)
@click.option(
    "--keyword",
    "keywords",
    multiple=True,
    help="Keep conversations mentioning this word (repeatable; ORed with --topic).",
)
@shown_option(
    "--max-turn-words",
    default=40,
    type=click.IntRange(1),
    help="Cut each turn to this many words.",
)
@shown_option(
    "--val-fraction",
    default=0.05,
    type=click.FloatRange(0, 1, max_open=True),
    help="Share of conversations held out (sources with their own split keep it).",
)
@shown_option(
    "--split-seed",
    default=13,
    type=int,
    help="Salt of the by-conversation hash split.",
)
def prepare_cmd(
    corpus: str,
    out_dir: Path,
    topics: tuple[str, ...],
    keywords: tuple[str, ...],
    max_turn_words: int,
    val_fraction: float,
    split_seed: int,
) -> None:
    """Clean, filter, dedup and split a corpus by conversation; print its stats."""
    from generator.clean import prepare, split_conversations
    from generator.data import load_corpus, write_jsonl

    try:
        raw = load_corpus(corpus)
    except GeneratorError as exc:
        raise click.BadParameter(str(exc), param_hint="--corpus") from exc
    convs = prepare(raw, max_turn_words=max_turn_words, topics=topics, keywords=keywords)
    train, val = split_conversations(convs, val_fraction, split_seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(train, out_dir / "train.jsonl.gz")
    write_jsonl(val, out_dir / "validation.jsonl.gz")
    click.echo(f"read {len(raw)} conversations; kept {len(convs)} after cleaning/filter/dedup")
    for name, part in (("train", train), ("validation", val)):
        pairs = sum(len(c.turns) - 1 for c in part)
        words = [w for c in part for t in c.turns for w in t.lower().split()]
        click.echo(
            f"{name}: {len(part)} conversations, {pairs} pairs, {len(words)} words, "
            f"{len(set(words))} distinct words"
        )
    topic_counts: dict[str, int] = {}
    for c in convs:
        topic_counts[str(c.topic)] = topic_counts.get(str(c.topic), 0) + 1
    click.echo("topics: " + ", ".join(f"{k}={v}" for k, v in sorted(topic_counts.items())))
    click.echo(f"wrote {out_dir / 'train.jsonl.gz'} and {out_dir / 'validation.jsonl.gz'}")


@generator.command("train")
@config_option("configs/generator/default.toml")
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), help="Run directory (overrides out_dir)."
)
@click.option("--corpus", help="Corpus name or path (overrides data.corpus).")
@click.option(
    "--topic", "topics", multiple=True, help="Train only on this topic label (repeatable)."
)
@click.option("--keyword", "keywords", multiple=True, help="Or on conversations with this word.")
@click.option(
    "--init-from",
    type=click.Path(exists=True, path_type=Path),
    help="Fine-tune this checkpoint (file or model dir); keeps its tokenizer and shape.",
)
@click.option("--resume", is_flag=True, help="Continue from OUT/last.pt (optimizer and step too).")
@click.option("--epochs", type=click.IntRange(1), help="Override the number of epochs.")
@click.option("--batch-size", type=click.IntRange(1), help="Override pairs per step.")
@click.option(
    "--lr", type=click.FloatRange(0, min_open=True), help="Override the peak learning rate."
)
@click.option("--seed", type=int, help="Override the random seed.")
@click.option(
    "--max-steps",
    type=click.IntRange(1),
    help="Stop after this many steps in all; the LR schedule ends there (a run cut to fit).",
)
@click.option(
    "--max-cpu-seconds",
    type=click.FloatRange(0, min_open=True),
    help="Stop once training has used this much CPU time (all threads, over --resume runs): "
    "a budget that compares runs fairly on a shared machine.",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(1),
    help="Also write OUT/last.pt every this many steps, so --resume continues mid-epoch.",
)
@click.option("--device", help="torch device (default: cuda if available, else cpu).")
@shown_option(
    "--name",
    default="threadbot-generator",
    help="Model name recorded in the checkpoint (part of its version).",
)
@click.option(
    "--dry-run", is_flag=True, help="One training and one validation batch: a smoke test."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_cmd(
    config_file: Path,
    out_dir: Path | None,
    corpus: str | None,
    topics: tuple[str, ...],
    keywords: tuple[str, ...],
    init_from: Path | None,
    resume: bool,
    epochs: int | None,
    batch_size: int | None,
    lr: float | None,
    seed: int | None,
    max_steps: int | None,
    max_cpu_seconds: float | None,
    checkpoint_every: int | None,
    device: str | None,
    name: str,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Train a model (or fine-tune one on a topic with --init-from and --topic)."""
    # Long: a click command: most of its lines turn options into the training config and say what
    # was chosen.
    from generator.config import TrainConfig
    from generator.train import train

    try:
        cfg = TrainConfig.from_file(config_file)
    except (ValueError, TypeError, OSError) as exc:
        raise click.BadParameter(str(exc), param_hint="--config") from exc
    data: dict[str, Any] = {}
    if corpus:
        data["corpus"] = corpus
    if topics:
        data["topics"] = list(topics)
    if keywords:
        data["keywords"] = list(keywords)
    over: dict[str, Any] = {
        k: v
        for k, v in (
            ("out_dir", str(out_dir) if out_dir else None),
            ("epochs", epochs),
            ("batch_size", batch_size),
            ("lr", lr),
            ("seed", seed),
            ("max_steps", max_steps),
            ("max_cpu_seconds", max_cpu_seconds),
            ("checkpoint_every", checkpoint_every),
        )
        if v is not None
    }
    cfg = replace(cfg, data=replace(cfg.data, **data), dry_run=dry_run or cfg.dry_run, **over)
    try:
        result = train(
            cfg,
            init_from=init_from,
            resume=resume,
            device=device,
            name=name,
            log=click.echo,
            progress=not quiet,
        )
    except (GeneratorError, ValueError) as exc:
        raise _fail(exc) from exc
    if not (Path(cfg.out_dir) / "best.pt").exists():
        raise click.ClickException("stopped before the first validation: no checkpoint written")
    click.echo(
        f"best validation: loss {result.best_val_loss:.3f}, per-word perplexity "
        f"{result.best_word_perplexity:.2f}; {result.train_tokens_per_second:.0f} target "
        f"tokens/s on {result.device}, {result.cpu_seconds:.0f} CPU-seconds; wrote "
        f"{cfg.out_dir}/best.pt, last.pt, metrics.json, loss.png"
    )


@generator.command("export")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Checkpoint file or run directory (its best.pt).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Model directory to write model.pt into.",
)
@click.option("--name", help="Rename the model (recorded in its version).")
@click.option("--fp32", is_flag=True, help="Keep fp32 weights (default fp16 halves the size).")
def export_cmd(source: Path, out_dir: Path, name: str | None, fp32: bool) -> None:
    """Write a decoding-only checkpoint (no optimizer, fp16) for shipping, with the source
    folder's reply index and ranker when it has them."""
    import shutil

    from generator import checkpoint

    try:
        ckpt = checkpoint.read(source)
    except GeneratorError as exc:
        raise click.BadParameter(str(exc), param_hint="--from") from exc
    model, tok = checkpoint.build(ckpt)
    checkpoint.save(
        out_dir / "model.pt",
        model,
        tok,
        config=ckpt["config"],
        step=ckpt["step"],
        epoch=ckpt["epoch"],
        best_val_loss=ckpt["best_val_loss"],
        history=[{k: v for k, v in h.items() if k != "train_losses"} for h in ckpt["history"]],
        name=name or ckpt["name"],
        half=not fp32,
    )
    size = (out_dir / "model.pt").stat().st_size / 2**20
    click.echo(f"wrote {out_dir / 'model.pt'} ({size:.1f} MiB)")
    # The hybrid fallback's index and ranker belong to the model: they travel with it.
    for name in (checkpoint.INDEX_FILE, checkpoint.RANKER_FILE, "ranker.png"):
        if source.is_dir() and (source / name).is_file() and source != out_dir:
            shutil.copy2(source / name, out_dir / name)
            click.echo(f"copied {name}")


@generator.command("eval")
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Model directory or checkpoint file.",
)
@click.option(
    "--data", "data_path", required=True, help="Corpus: 'chitchat' or a file/dir (any format)."
)
@shown_option(
    "--split",
    type=click.Choice(["validation", "train", "all"]),
    default="validation",
    help="Which conversations to score (unlabelled ones are hash-split "
    "with the model's own seed, so training pairs never count).",
)
@click.option("--topic", "topics", multiple=True, help="Only conversations with this topic label.")
@click.option("--on-topic", help="Topic whose keyword list scores the on-topic rate (e.g. ai).")
@shown_option(
    "--max-replies",
    default=1000,
    type=click.IntRange(0),
    help="Replies to generate for the text metrics (0 = perplexity only).",
)
@decode_options
@click.option(
    "--out", "out_file", type=click.Path(path_type=Path), help="Also write metrics JSON here."
)
@shown_option(
    "--quantize/--no-quantize",
    default=True,
    help="Int8 dynamic quantization, as the bot serves on CPU.",
)
@shown_option(
    "--samples",
    default=5,
    type=click.IntRange(0),
    help="Print this many example message -> reply lines.",
)
@shown_option(
    "--persona",
    type=click.Choice(["bot", "human"]),
    default="bot",
    help="Persona rule the replies must pass: bot refuses claims of a human life; human "
    "refuses none (how replies were chosen before the rule). Either way, the persona-break "
    "rate counts what a bot may not say.",
)
def eval_cmd(
    model_dir: Path,
    data_path: str,
    split: str,
    topics: tuple[str, ...],
    on_topic: str | None,
    max_replies: int,
    out_file: Path | None,
    quantize: bool,
    samples: int,
    persona: str,
    decoding: dict[str, Any],
) -> None:
    """Per-word perplexity, distinct-1/2, length, generic-reply rate, salience, on-topic rate."""
    # Long: a click command: loading, scoring and printing each figure the report names, in its
    # order.
    from generator import checkpoint
    from generator.data import TOPIC_KEYWORDS, load_corpus
    from generator.scoring import perplexity, split_for_eval
    from generator.service import load

    if on_topic is not None and on_topic not in TOPIC_KEYWORDS:
        raise click.BadParameter(
            f"no keyword list for {on_topic!r}; known: {', '.join(TOPIC_KEYWORDS)}",
            param_hint="--on-topic",
        )
    try:
        gen = load(model_dir, quantize=quantize, seed=0, **decoding)
        data_cfg = checkpoint.data_config(checkpoint.read(model_dir))
        convs = split_for_eval(load_corpus(data_path), data_cfg, split, topics)
    except GeneratorError as exc:
        raise _fail(exc) from exc
    if not convs:
        raise click.UsageError(f"no conversations to evaluate in {data_path} ({split} split)")
    nll, pairs = perplexity(gen, convs, data_cfg.context_turns)
    metrics: dict[str, Any] = {
        "model": gen.version,
        "quantized": quantize,
        "decoding": decoding,
        "data": data_path,
        "split": split,
        "conversations": len(convs),
        "pairs": pairs,
        "nll_total": nll.total,
        "words": nll.words,
        "tokens": nll.tokens,
        "word_perplexity": nll.word_perplexity,
        "token_loss": nll.token_loss,
    }
    click.echo(f"{len(convs)} conversations, {pairs} pairs")
    click.echo(
        f"per-word perplexity {nll.word_perplexity:.2f} = exp({nll.total:.1f} nats / "
        f"{nll.words} words); per-token loss {nll.token_loss:.3f} over {nll.tokens} tokens"
    )
    if max_replies:
        keywords = TOPIC_KEYWORDS[on_topic] if on_topic else None
        metrics.update(
            reply_metrics(
                gen, convs, data_cfg.context_turns, max_replies, keywords, samples, persona
            )
        )
    if out_file:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(metrics, indent=2) + "\n")
        click.echo(f"wrote {out_file}")


def reply_metrics(
    gen: Seq2SeqReplyGenerator,
    convs: Sequence[Conversation],
    context_turns: int,
    max_replies: int,
    keywords: Sequence[str] | None,
    samples: int,
    persona: str = "bot",
) -> dict[str, Any]:
    """Generate up to ``max_replies`` replies, print their figures and ``samples`` examples."""
    from generator.persona import Persona
    from generator.scoring import (
        generate_replies,
        guard_metrics,
        sample_exchanges,
        source_shares,
        text_metrics,
    )
    from generator.types import ReplyContext

    exchanges = sample_exchanges(convs, context_turns, max_replies)
    rule = Persona(persona)
    contexts = [ReplyContext(e.context, topic=e.topic, persona=rule) for e in exchanges]
    _, sent = generate_replies(gen, contexts)
    # What the bot would post: the guard's and the persona rule's refusals are counted apart
    # (guard_rejection_rate), since a canned line, not the generator, answers those.
    posted = [(e, g.text) for e, g in zip(exchanges, sent, strict=True) if g.text]
    replies = [text for _, text in posted]
    metrics = {"replies": len(replies), **text_metrics([e for e, _ in posted], replies, keywords)}
    metrics.update(guard_metrics(gen, sent))
    metrics.update(source_shares(sent))
    for key, value in metrics.items():
        if isinstance(value, float):
            click.echo(f"{key}: {value:.3f}")
    for exchange, reply in posted[:samples]:
        click.echo(f"  > {exchange.message}\n  < {reply}")
    return metrics


@generator.command("chat")
@shown_option(
    "--model",
    "model_dir",
    default="models/generator",
    type=click.Path(path_type=Path),
    help="Model directory or checkpoint file.",
)
@click.option("--topic", help="Topic label to condition on (e.g. ai).")
@decode_options
@click.option("--sample", is_flag=True, help="Nucleus sampling instead of beam search.")
@shown_option(
    "--temperature",
    default=0.8,
    type=click.FloatRange(0, min_open=True),
    help="Sampling temperature.",
)
@shown_option(
    "--top-p",
    default=0.9,
    type=click.FloatRange(0, 1, min_open=True),
    help="Nucleus mass for sampling.",
)
@shown_option(
    "--show-candidates",
    default=0,
    type=click.IntRange(0),
    help="Also print this many ranked candidates with their source, score, the ranker's "
    "top features and any refusal by the guard or the persona rule.",
)
def chat_cmd(
    model_dir: Path,
    topic: str | None,
    sample: bool,
    temperature: float,
    top_p: float,
    show_candidates: int,
    decoding: dict[str, Any],
) -> None:
    """Talk to a model in the terminal (empty line or Ctrl-D ends)."""
    from generator.service import load
    from generator.types import ReplyContext

    try:
        gen = load(model_dir, sample=sample, temperature=temperature, top_p=top_p, **decoding)
    except GeneratorError as exc:
        raise _fail(exc) from exc
    click.echo(f"{gen.version}: say something (empty line ends)")
    history: list[str] = []
    previous: str | None = None
    while True:
        try:
            line = click.prompt("you", default="", show_default=False)
        except click.Abort:
            break
        if not line.strip():
            break
        history.append(line)
        context = ReplyContext(tuple(history[-5:]), topic, previous)
        result = gen.reply(context)
        text = result.text if result.text is not None else f"[rejected: {result.rejected_reason}]"
        click.echo(f"bot: {text}")
        if show_candidates:
            show_ranked(gen.explain(context)[:show_candidates])
        if result.text is not None:
            history.append(result.text)
            previous = result.text


def show_ranked(ranked: list[tuple[Any, str | None]]) -> None:
    """Print ranked candidates: text, source, score, top features, and any refusal."""
    for n, (cand, refused) in enumerate(ranked, 1):
        source = cand.source
        where = source["kind"]
        if "corpus" in source:
            where += f" {source['corpus']}#{source.get('pair')}"
        features = ", ".join(f"{k} {v:+.2f}" for k, v in source.get("features", {}).items())
        note = f"  [refused: {refused}]" if refused else ""
        click.echo(f"  {n:>2}. {cand.text}{note}")
        click.echo(f"      {where} · score {source.get('score', 0):.2f} · {features}")


@generator.command("finetune")
@click.option(
    "--corpus", required=True, help="Topic corpus: 'chitchat' or a file/dir (any format)."
)
@click.option(
    "--topic",
    required=True,
    help="Topic label: conversations with it are the topic data (all of them if none has it).",
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Run directory."
)
@shown_option(
    "--base",
    default="models/generator/general.pt",
    type=click.Path(path_type=Path),
    help="The general checkpoint to start from and to gate against (keeps its tokenizer); "
    "build it with configs/generator/continue_filtered.toml (models/generator/MODEL_CARD.md).",
)
@config_option("configs/generator/finetune_topic.toml")
@click.option(
    "--general",
    "general_corpus",
    help="General corpus mixed in against forgetting (default: the base model's corpus).",
)
@shown_option(
    "--general-ratio",
    default=1.0,
    type=click.FloatRange(0),
    help="General pairs mixed in per topic pair (0 = topic data only).",
)
@click.option(
    "--keyword",
    "keywords",
    multiple=True,
    help="On-topic word for the gate (repeatable; default: the topic's built-in list).",
)
@click.option("--epochs", type=click.IntRange(1), help="Override the number of epochs.")
@click.option(
    "--lr", type=click.FloatRange(0, min_open=True), help="Override the peak learning rate."
)
@shown_option(
    "--max-replies",
    default=300,
    type=click.IntRange(1),
    help="Validation replies each model generates for the gate's on-topic rate.",
)
@click.option("--resume", is_flag=True, help="Continue from OUT/last.pt.")
@click.option("--name", help="Model name (default: <base name>-<topic>).")
@click.option(
    "--side",
    type=click.Choice(STANCES),
    help="Only the topic threads that take this side (labelled by `generator collect`).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def finetune_cmd(
    corpus: str,
    topic: str,
    out_dir: Path,
    base: Path,
    config_file: Path,
    general_corpus: str | None,
    general_ratio: float,
    keywords: tuple[str, ...],
    epochs: int | None,
    lr: float | None,
    max_replies: int,
    resume: bool,
    name: str | None,
    side: str | None,
    quiet: bool,
) -> None:
    """Specialise the general model on a topic, then gate it: it must beat the general model.

    Mixes general pairs into the topic's training pairs, conditions on the topic token,
    early-stops on the topic's validation split, and prints the gate (per-word perplexity,
    on-topic rate, salience of both models on that split). Exits with status 1 when the
    topic model does not beat the general one on perplexity and on-topic rate.
    """
    # Long: a click command: options into the fine-tuning config, then the gate's report.
    from generator import checkpoint
    from generator.config import TrainConfig
    from generator.data import TOPIC_KEYWORDS
    from generator.finetune import finetune, topic_gate

    words = list(keywords) or list(TOPIC_KEYWORDS.get(topic, ()))
    if not words:
        raise click.BadParameter(
            f"no built-in keyword list for {topic!r}; give the gate --keyword words",
            param_hint="--keyword",
        )
    try:
        base_ckpt = checkpoint.read(base)
        cfg = TrainConfig.from_file(config_file)
    except GeneratorError as exc:
        raise click.BadParameter(str(exc), param_hint="--base") from exc
    except (ValueError, TypeError, OSError) as exc:
        raise click.BadParameter(str(exc), param_hint="--config") from exc
    base_data = checkpoint.data_config(base_ckpt)
    over = {k: v for k, v in (("epochs", epochs), ("lr", lr)) if v is not None}
    split = {"val_fraction": base_data.val_fraction, "split_seed": base_data.split_seed}
    cfg = replace(cfg, out_dir=str(out_dir), data=replace(cfg.data, **split), **over)
    try:
        result, validation = finetune(
            cfg,
            base=base,
            topic=topic,
            topic_corpus=corpus,
            general_corpus=general_corpus or base_data.corpus,
            general_ratio=general_ratio,
            name=name or f"{base_ckpt.get('name', 'generator')}-{topic}",
            log=click.echo,
            progress=not quiet,
            resume=resume,
            side=side,
        )
        if not (out_dir / "best.pt").exists():
            raise click.ClickException("stopped before the first validation: no checkpoint")
        click.echo(f"fine-tuned: best per-word perplexity {result.best_word_perplexity:.2f}")
        gate = topic_gate(base, out_dir / "best.pt", validation, topic, words, max_replies)
    except (GeneratorError, ValueError) as exc:
        raise _fail(exc) from exc
    (out_dir / "gate.json").write_text(json.dumps(gate.to_dict(), indent=2) + "\n")
    click.echo(gate.table())
    click.echo(f"wrote {out_dir}/best.pt and {out_dir}/gate.json")
    if not gate.passed:
        raise SystemExit(1)


@generator.command("index")
@shown_option(
    "--model",
    "model_dir",
    default="models/generator",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Model folder: its index.sqlite and ranker.json are (re)written.",
)
@click.option(
    "--collected",
    "collected",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also index a corpus from `generator collect` (needs --allow-reuse).",
)
@click.option(
    "--allow-reuse",
    is_flag=True,
    help="The collected corpora's text may be posted as the bot's own replies: reposting "
    "other people's tweets is your decision and responsibility (docs/generator.md).",
)
@click.option(
    "--no-chitchat", is_flag=True, help="Leave out chitchat-dataset (MIT), indexed by default."
)
@shown_option(
    "--train-examples",
    default=2000,
    type=click.IntRange(1),
    help="Training messages the ranker learns from (each a group of 20 candidates).",
)
@shown_option(
    "--validation-examples",
    default=1000,
    type=click.IntRange(1),
    help="Validation messages for the Hits@1/20 and MRR report.",
)
@click.option("--topic", "topics", multiple=True, help="Report on validation of this topic only.")
@click.option(
    "--side",
    type=click.Choice(STANCES),
    help="Index only the collected threads that take this side (labelled by `generator "
    "collect`); chitchat has no sides and is indexed whole.",
)
def index_cmd(
    model_dir: Path,
    collected: tuple[Path, ...],
    allow_reuse: bool,
    no_chitchat: bool,
    train_examples: int,
    validation_examples: int,
    topics: tuple[str, ...],
    side: str | None,
) -> None:
    """Build the hybrid fallback's reply index and train its ranker, into the model folder.

    Pairs whose replies only fit their own conversation (names, places, dates, numbers,
    people referred back to), fragments, profanity and personal data are left out, and the
    report says how many for each reason. Writes index.sqlite, ranker.json and ranker.png.
    """
    from generator.fallback_build import Corpus, build_fallback, describe
    from generator.reuse import CHITCHAT, ReplySource

    corpora = [] if no_chitchat else [Corpus("chitchat", CHITCHAT)]
    corpora += [
        Corpus(str(path), ReplySource(path.stem, "collected from X", allow_reuse), side)
        for path in collected
    ]
    if not corpora:
        raise click.UsageError("nothing to index: give --collected FILE or leave chitchat in")
    try:
        found = build_fallback(
            model_dir,
            corpora,
            train_examples=train_examples,
            validation_examples=validation_examples,
            validation_topics=topics,
        )
    except GeneratorError as exc:
        raise _fail(exc) from exc
    for line in describe(found):
        click.echo(line)
    click.echo(f"wrote {model_dir / 'index.sqlite'}, ranker.json and ranker.png")
