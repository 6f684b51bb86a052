"""The docs cannot drift from the code and the model cards.

Fast and offline: no model is loaded and no eval image is read. Paths named in the docs must
exist, every `edgematte <command>` in a bash block must answer --help, and the figures the docs
quote (sizes, input sizes, conversion exactness, variant counts, INT8 accuracy deltas) must match
`models/*.json`. Each parser is a few lines of regex over the markdown; each failure names the
doc, the claim and the card value.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CARDS = {c["name"]: c for c in (json.loads(p.read_text()) for p in sorted((ROOT / "models").glob("*.json")))}

# The docs whose paths and commands are checked, and every doc whose figures are checked.
COMMAND_DOCS = ("README.md", "tools/README.md", "bench/README.md")
FIGURE_DOCS = (*COMMAND_DOCS, "bench/RESULTS.md", "bench/BUDGETS.md")

# A backticked path is checked when it starts with one of these folders (a repo path, not an output
# name like `mug.png` or a path inside a source wheel) ...
REPO_FOLDERS = {"runtime", "models", "tools", "bench", "tests", "evaluation", "native"}
# ... unless a command writes it (git-ignored, so absent in a clean clone).
WRITTEN_BY_COMMANDS = ("bench/results/sheets", "bench/.venv-mediapipe")


def read(doc: str) -> str:
    return (ROOT / doc).read_text()


def without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def inline_code(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", without_code_blocks(text))


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) per markdown section; the text before the first heading has heading ''."""
    parts = re.split(r"^(#+ .*)$", without_code_blocks(text), flags=re.M)
    return [("", parts[0]), *zip(parts[1::2], parts[2::2], strict=True)]


def sentences(body: str) -> list[str]:
    """Table rows one each; paragraphs and list items joined and split after . ! ? before a capital."""
    out = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*]|\d+\.) )", body):
        lines = block.strip().splitlines()
        out += [line for line in lines if line.startswith("|")]
        prose = " ".join(line.strip() for line in lines if not line.startswith("|"))
        out += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(`])", prose) if s]
    return out


def number_matches(figure: str, value: float) -> bool:
    """`value` rounded to `figure`'s decimals equals `figure`, +-1 in its last digit."""
    decimals = len(figure.partition(".")[2])
    return abs(round(value, decimals) - float(figure)) <= 10**-decimals + 1e-9


# 1. Layout and paths


def test_layout_paths_exist():
    layout = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", read("README.md"), flags=re.S | re.M)
    assert layout, "README.md has no '## Layout' section"
    # Entries are separated by " · "; an entry's first path is from the repo root, the names after it
    # are inside it (`runtime/edgematte/` the package: `still.py` ...) unless written from the root too.
    named = []
    for entry in layout.group(1).split("·"):
        paths = [p.rstrip("/") for p in re.findall(r"`([^`]+)`", entry)]
        named += paths[:1] + [p if p.startswith(f"{paths[0]}/") else f"{paths[0]}/{p}" for p in paths[1:]]
    assert named, "README.md '## Layout' names no path"
    missing = [p for p in named if not (ROOT / p).exists()]
    assert not missing, f"README.md '## Layout' names paths that do not exist: {missing}"


def expand_braces(path: str) -> list[str]:
    """`results/latency.{json,md}` -> both files."""
    m = re.search(r"\{([^}]*)\}", path)
    if not m:
        return [path]
    return [p for alt in m.group(1).split(",") for p in expand_braces(path[: m.start()] + alt + path[m.end() :])]


def repo_paths(doc: str) -> list[tuple[str, Path]]:
    """(as written, where it should be) for each backticked repo path in `doc`."""
    out = []
    for code in inline_code(read(doc)):
        path = code.rstrip("/")
        if "/" not in path or " " in path or "://" in path or path.startswith("../") or "*" in path or "<" in path:
            continue
        first = path.split("/")[0]
        if first in REPO_FOLDERS:
            base = ROOT
        elif doc.startswith("bench/") and first == "results":  # bench docs name their outputs relative to bench/
            base = ROOT / "bench"
        else:
            continue
        if (base / path).relative_to(ROOT).as_posix().startswith(WRITTEN_BY_COMMANDS):
            continue
        out += [(code, base / p) for p in expand_braces(path)]
    return out


@pytest.mark.parametrize("doc", FIGURE_DOCS)
def test_paths_named_in_docs_exist(doc):
    missing = sorted({code for code, where in repo_paths(doc) if not where.exists()})
    assert not missing, f"{doc} names paths that do not exist: {missing}"


# 2. Commands


def doc_commands() -> set[str]:
    """`edgematte <command>` at the start of a command (or after && or |) in a ```bash block."""
    names = set()
    for doc in COMMAND_DOCS:
        for block in re.findall(r"^```bash\n(.*?)^```", read(doc), flags=re.S | re.M):
            names |= set(re.findall(r"(?:^|&&|\|)\s*edgematte\s+([a-z][\w-]*)", block, flags=re.M))
    return names


COMMANDS = sorted(doc_commands())


def test_docs_name_commands():
    assert COMMANDS, f"no `edgematte <command>` found in the bash blocks of {COMMAND_DOCS}"


@pytest.mark.parametrize("command", COMMANDS)
def test_documented_command_answers_help(command):
    from typer.testing import CliRunner

    from edgematte.cli import app

    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, (
        f"docs name `edgematte {command}`; its --help exits {result.exit_code}:\n{result.output}"
    )


# 3. Model figures match the cards


def size_mb(name: str) -> float:
    return CARDS[name]["bytes"] / 1e6


def models_table() -> list[tuple[str, list[str], str]]:
    """(row, card names, size cell) for each row of README.md's models table."""
    rows = []
    for line in read("README.md").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) != 3:
            continue
        names, prev = [], ""
        for written in re.findall(r"`([^`]+)`", cells[0]):
            if written.startswith("-"):  # `u2netp-fp16` / `-fp32`: the suffix replaces the previous one's
                written = prev.rpartition("-")[0] + written
            prev = written
            names.append(written)
        rows.append((line, names, cells[2]))
    return rows


def test_models_table_sizes_match_cards():
    rows = models_table()
    assert rows, "README.md has no models table (rows `| \\`name\\` | use | size |`)"
    problems = []
    for row, written, cell in rows:
        names = []
        for w in written:
            matched = sorted(n for n in CARDS if fnmatch.fnmatchcase(n, w))
            if not matched:
                problems.append(f"{w!r} in row {row!r} matches no card")
            names += matched
        if not names:
            continue
        sizes = [size_mb(n) for n in names]
        pair = re.fullmatch(r"([\d.]+) / ([\d.]+) MB", cell)
        span = re.fullmatch(r"([\d.]+)-([\d.]+) MB", cell)
        single = re.fullmatch(r"([\d.]+) MB(?: each)?", cell)
        if pair:
            ok = len(names) == 2 and all(map(number_matches, pair.groups(), sizes))
        elif span:
            ok = number_matches(span.group(1), min(sizes)) and number_matches(span.group(2), max(sizes))
        elif single:
            ok = all(number_matches(single.group(1), s) for s in sizes)
        else:
            problems.append(f"size cell {cell!r} of row {row!r} is not 'a MB', 'a / b MB' or 'a-b MB'")
            continue
        if not ok:
            cards = ", ".join(f"{n} {s:.3f} MB" for n, s in zip(names, sizes, strict=True))
            problems.append(f"README.md models table says {cell!r} for {written}; cards: {cards}")
    assert not problems, "\n".join(problems)


def test_models_table_names_every_card():
    named = {n for _, written, _ in models_table() for w in written for n in CARDS if fnmatch.fnmatchcase(n, w)}
    assert named == set(CARDS), f"README.md models table does not name the cards {sorted(set(CARDS) - named)}"


def modnet_input_sizes() -> set[tuple[int, int]]:
    sizes = set()
    for card in CARDS.values():
        if card["family"] == "modnet":
            _, h, w, _ = card["input"]["shape"]
            sizes |= {(h, w), (w, h)}
    return sizes


def test_modnet_sizes_are_card_input_shapes():
    """Every NxM in a sentence about MODNet (or in a MODNet section) is a MODNet card's input shape."""
    allowed = modnet_input_sizes()
    problems = []
    for doc in FIGURE_DOCS:
        for heading, body in sections(read(doc)):
            for sentence in sentences(body):
                if not re.search(r"modnet", heading + " " + sentence, flags=re.I):
                    continue
                for a, b in re.findall(r"(?<![\d.])(\d{2,4})x(\d{2,4})(?![\d.])", sentence):
                    if (int(a), int(b)) not in allowed:
                        problems.append(f"{doc}: {a}x{b} in {sentence!r} is not a MODNet input size")
    assert not problems, f"MODNet cards' input sizes (HxW, WxH): {sorted(allowed)}\n" + "\n".join(problems)


FAMILIES = {"u2netp": "u2netp", "selfie": "selfie", "modnet": "modnet"}  # word in the docs -> card family prefix


def max_conversion_diff(family: str) -> float:
    return max(c["conversion_exactness"]["max_abs_diff_fp32"] for c in CARDS.values() if c["family"].startswith(family))


def exactness_claims(doc: str) -> list[tuple[str, str, str | None]]:
    """(sentence, figure, family) for each NeM figure in a sentence naming onnxruntime or the original.

    The family is the last one named before the figure in the sentence, else the section's.
    """
    family_re = "|".join(FAMILIES)
    claims = []
    for heading, body in sections(read(doc)):
        in_heading = re.findall(family_re, heading, flags=re.I)
        for sentence in sentences(body):
            if not re.search(r"onnxruntime|the original", sentence):
                continue
            for m in re.finditer(r"\d+(?:\.\d+)?e-\d+", sentence):
                before = re.findall(family_re, sentence[: m.start()], flags=re.I) or in_heading
                claims.append((sentence, m.group(), before[-1].lower() if before else None))
    return claims


def test_exactness_claims_no_better_than_cards():
    claims = [(doc, *claim) for doc in FIGURE_DOCS for claim in exactness_claims(doc)]
    assert any(doc == "tools/README.md" for doc, *_ in claims), "tools/README.md quotes no conversion exactness"
    problems = []
    for doc, sentence, figure, family in claims:
        if family is None:
            problems.append(f"{doc}: {figure} in {sentence!r} names no model family")
        elif float(figure) < (card := max_conversion_diff(FAMILIES[family])):
            problems.append(f"{doc}: {figure} in {sentence!r}, but the {family} cards' max_abs_diff_fp32 is {card}")
    assert not problems, "\n".join(problems)


def test_variant_counts_match_cards():
    """'all N variants', 'N variants', 'N shipped' mean every shipped model ('9 of the 15 shipped' is fine)."""
    pattern = r"\ball (\d+) (?:shipped )?(?:variants|models)\b|\b(\d+) (?:shipped )?variants\b|\b(\d+) shipped\b"
    problems = []
    for doc in FIGURE_DOCS:
        text = " ".join(read(doc).split())
        for m in re.finditer(pattern, text):
            if int(next(g for g in m.groups() if g)) != len(CARDS):
                problems.append(f"{doc}: {m.group()!r} but {len(CARDS)} cards are shipped (models/*.json)")
    assert not problems, "\n".join(problems)


def test_u2netp_int8_deltas_match_card():
    text = " ".join(read("tools/README.md").split())
    m = re.search(r"within ([+-]?[\d.]+(?: / [+-]?[\d.]+)+) points of float on (\w+(?: / \w+)+)", text)
    assert m, "tools/README.md no longer quotes u2netp INT8's IoU 'within ... points of float on ...'"
    figures, short_names = m.group(1).split(" / "), m.group(2).split(" / ")
    assert len(figures) == len(short_names), f"tools/README.md: {m.group()!r} pairs figures and sets unevenly"
    sets = CARDS["u2netp-int8"]["accuracy_vs_float"]["sets"]
    problems = []
    for figure, short in zip(figures, short_names, strict=True):
        matched = [s for s in sets if s.startswith(short)]
        if len(matched) != 1:
            problems.append(f"{short!r} names no single set of card u2netp-int8 ({sorted(sets)})")
            continue
        card = 100 * (sets[matched[0]]["gt_iou"] - sets[matched[0]]["gt_iou_float"])
        if not number_matches(figure, card):
            problems.append(f"{figure} points on {short}: card u2netp-int8 gives {card:+.2f}")
    mae = re.search(r"MAE within ([\d.]+)", text[m.end() :])
    if mae:
        worst = max(abs(s["gt_mae"] - s["gt_mae_float"]) for s in sets.values())
        if worst > float(mae.group(1)):
            problems.append(f"'MAE within {mae.group(1)}': card u2netp-int8's worst gt_mae change is {worst:.4f}")
    assert not problems, f"tools/README.md: {m.group()!r}\n" + "\n".join(problems)
