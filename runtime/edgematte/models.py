"""Model registry: the shipped .tflite files and their cards (models/*.json).

A card says how to feed the model (input size, resize mode, dtype), what comes out,
where the model came from and how accurate it is. `resolve()` turns a user's choice
("u2netp", "u2netp-fp32", "portrait", ...) into one card; the file's sha256 is checked
against the card once per process before the interpreter ever sees it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from edgematte.errors import ModelError

# Friendly names -> model family; the variant then comes from the device profile.
ALIASES = {
    "default": "u2netp",
    "general": "u2netp",
    "product": "u2netp",
    "u2netp": "u2netp",
    "selfie": "selfie-general",
    "person": "selfie-general",
    "preview": "selfie-landscape",
    "portrait": "modnet",
    "matting": "modnet",
}


@dataclass(frozen=True)
class ModelCard:
    """One shipped model: its card (models/NAME.json) and where its .tflite file is."""

    name: str  # unique, e.g. "u2netp-int8"
    family: str  # e.g. "u2netp"
    variant: str  # int8 | fp16 | fp32 | mixed
    file: str  # the .tflite file name, next to the card
    sha256: str  # the file's expected digest, checked by `verified_path`
    input_hw: tuple[int, int]  # (height, width) the model is fed
    resize: str  # "stretch" | "letterbox": how the model saw images in training / what measured best
    task: str  # free text from the card ("" when it has none)
    path: Path  # full path of the .tflite file: the card's folder / `file`
    raw: dict[str, Any] = field(repr=False, compare=False)  # the whole card, for keys without a field

    @property
    def kind(self) -> str:
        """'segmentation' (probability maps: u2netp, selfie) or 'matting' (alpha: MODNet)."""
        return str(self.raw.get("kind", "segmentation"))

    @property
    def size_bytes(self) -> int:
        """Size of the model file in bytes (0 when it is missing)."""
        return self.path.stat().st_size if self.path.exists() else 0


def models_dir() -> Path:
    """Where the cards live: $EDGEMATTE_MODELS, the wheel's edgematte/models, or the repo's models/."""
    env = os.environ.get("EDGEMATTE_MODELS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for cand in (here / "models", here.parent.parent / "models"):
        if cand.is_dir() and any(cand.glob("*.json")):
            return cand
    raise ModelError("no models folder found: reinstall edgematte (the wheel ships models/) or set EDGEMATTE_MODELS")


def _card_from(path: Path) -> ModelCard:
    try:
        raw = json.loads(path.read_text())
        inp = raw["input"]
        return ModelCard(
            name=raw["name"],
            family=raw["family"],
            variant=raw["variant"],
            file=raw["file"],
            sha256=raw["sha256"],
            input_hw=(int(inp["shape"][1]), int(inp["shape"][2])),
            resize=inp.get("resize", "stretch"),
            task=raw.get("task", ""),
            path=path.parent / raw["file"],
            raw=raw,
        )
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ModelError(f"{path.name}: malformed model card ({exc})") from exc


@lru_cache(maxsize=4)
def _cards(folder: str) -> dict[str, ModelCard]:
    cards = {}
    for p in sorted(Path(folder).glob("*.json")):
        card = _card_from(p)
        cards[card.name] = card
    return cards


def cards() -> dict[str, ModelCard]:
    """Every card in `models_dir()`, by exact name (read once per folder, then cached; a copy)."""
    return dict(_cards(str(models_dir())))


def resolve(choice: str | None, profile: str | None = None) -> ModelCard:
    """A card by exact name ("u2netp-int8"), family ("u2netp") or alias ("portrait").

    An exact name is returned as it is. A family or alias is resolved through the device
    profile: the variant `edgematte tune` measured fastest on this device for that profile
    (tuning.tuned_choice), else the profile's own card for that family, else the first of its
    `variant_order` the family ships, else the family's first card by name.

    Parameters
    ----------
    choice
        The user's choice, case-insensitive; None (or "default") means u2netp.
    profile
        Device profile name. Default None: `profiles.detect()` (EDGEMATTE_PROFILE, else this
        machine's guess).

    Raises
    ------
    ModelError
        When `choice` names no card, family or alias.
    """
    from edgematte.profiles import get_profile
    from edgematte.tuning import tuned_choice

    all_cards = cards()
    key = (choice or "default").strip().lower()
    if key in all_cards:
        return all_cards[key]
    prof = get_profile(profile)
    tuned = tuned_choice(ALIASES.get(key, key), prof.name)
    if tuned is not None and tuned.model in all_cards:
        return all_cards[tuned.model]
    return resolve_untuned(choice, prof.name)


def resolve_untuned(choice: str | None, profile: str | None = None) -> ModelCard:
    """`resolve` without the tuned choice: what the device profile alone picks.

    Parameters
    ----------
    choice
        As for `resolve`.
    profile
        As for `resolve`.
    """
    from edgematte.profiles import get_profile

    all_cards = cards()
    key = (choice or "default").strip().lower()
    if key in all_cards:
        return all_cards[key]
    family = ALIASES.get(key, key)
    members = [c for c in all_cards.values() if c.family == family]
    if not members:
        known = sorted(set(all_cards) | set(ALIASES))
        raise ModelError(f"unknown model '{choice}'; choose one of: {', '.join(known)}")
    prof = get_profile(profile)
    preferred = prof.model_for(family)
    if preferred in all_cards:
        return all_cards[preferred]
    for variant in prof.variant_order:
        for c in members:
            if c.variant == variant:
                return c
    return sorted(members, key=lambda c: c.name)[0]


def orientation_pair(card: ModelCard) -> ModelCard | None:
    """The same model at the other orientation, when its card names one (input.pair).

    Parameters
    ----------
    card
        The card to pair.

    Returns
    -------
    The paired card, or None when the card names no pair. Raises ModelError when the named pair
    is not shipped.
    """
    name = card.raw.get("input", {}).get("pair")
    if not name:
        return None
    other = cards().get(name)
    if other is None:
        raise ModelError(f"{card.name}: its card pairs it with '{name}', which is not shipped; reinstall edgematte")
    return other


_verified: set[str] = set()
_verify_lock = threading.Lock()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (never the whole file in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verified_path(card: ModelCard) -> Path:
    """The model file, after checking it exists and matches the card's sha256 (once per process).

    Parameters
    ----------
    card
        The card whose file to check. A file that passed once is not hashed again in this
        process, even if it changes later.

    Raises
    ------
    ModelError
        When the file is missing or its digest differs from the card's.
    """
    if not card.path.exists():
        raise ModelError(f"{card.name}: model file {card.path} is missing; reinstall edgematte")
    key = str(card.path)
    with _verify_lock:
        if key not in _verified:
            digest = sha256_file(card.path)
            if digest != card.sha256:
                raise ModelError(
                    f"{card.name}: {card.path.name} does not match its card (sha256 {digest[:12]}...); "
                    "the file is corrupt or was replaced: reinstall edgematte or rebuild the model"
                )
            _verified.add(key)
    return card.path
