"""The seller verbs of the `edgematte` command: compose, resize, place, check.

Thin like the rest of the CLI: parse, build the verb (edgematte.commerce.api), run it over the
files with the same overlapped batch as `remove` (encoding, the quality search and the
verification in the writer thread), print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from edgematte.cli.common import (
    KeepExtOpt,
    ModelOpt,
    OverwriteOpt,
    ProfileOpt,
    QuietOpt,
    ReportOpt,
    StudioOpt,
    ThreadsOpt,
    err,
    planned_jobs,
    run_files,
)
from edgematte.errors import EdgematteError, OptionError

PresetOpt = Annotated[str, typer.Option("--preset", "-p", help="amazon, walmart, shopify, ebay, etsy or your own.")]
PresetsFileOpt = Annotated[
    Path | None, typer.Option("--presets", help="A TOML file with your own presets (same keys as the built-ins).")
]
OutputOpt = Annotated[
    str | None, typer.Option("--output", "-o", help="Output file (one input) or folder (mirrors the tree).")
]
FormatOpt = Annotated[str | None, typer.Option("--format", "-f", help="jpg, png, webp or tif (default: the preset's).")]
LEVEL_MARK = {"fail": "FAIL", "warn": "warn", "ok": " ok ", "info": "info"}


def _parse_pair(text: str | None, name: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise OptionError(f"{name} takes two fractions 'x,y', e.g. 0.5,0.85") from None
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise OptionError(f"{name} takes fractions of the scene: x,y in 0..1 (the product's bottom-centre)")
    return x, y


def _run_verb(
    verb: Any,
    inputs: list[str],
    output: str | None,
    tag: str,
    label: str,
    *,
    overwrite: bool,
    keep_ext: bool,
    quiet: bool,
    report: Any,
) -> None:
    from edgematte.commerce.api import VerbWork
    from edgematte.formats import suffix_for

    jobs = planned_jobs(inputs, output, suffix_for(verb.fmt), "{stem}." + tag + "{suffix}", keep_ext)
    run_files(
        jobs,
        VerbWork(verb),
        overwrite=overwrite,
        quiet=quiet,
        report=report,
        label=label,
        model=verb.session.model,
    )


def compose(
    inputs: Annotated[list[str], typer.Argument(help="Product photos: files, folders or globs.")],
    preset: PresetOpt = "amazon",
    output: OutputOpt = None,
    fill: Annotated[
        float | None, typer.Option(min=0.05, max=1.0, help="Product span on the canvas (default: the preset's).")
    ] = None,
    fmt: FormatOpt = None,
    presets: PresetsFileOpt = None,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
    overwrite: OverwriteOpt = False,
    keep_ext: KeepExtOpt = False,
    quiet: QuietOpt = False,
    report: ReportOpt = None,
    studio: StudioOpt = False,
) -> None:
    """Marketplace main image: the product centred on pure white (RGB 255) at the preset's size and fill.

    Encoded so the file passes: 4:4:4 JPEG with an sRGB profile, 255 verified after encoding, file-size
    limits met by a quality search.
    """
    from edgematte.commerce.api import ComposeVerb
    from edgematte.commerce.marketplace_presets import get_preset
    from edgematte.still import Session

    p = get_preset(preset, presets)
    from edgematte.commerce.export import preset_format

    preset_format(p, fmt)  # a format the marketplace refuses fails before the model loads
    verb = ComposeVerb(Session(model, threads=threads, profile=profile, studio=studio), p, fill, fmt)
    _run_verb(
        verb,
        inputs,
        output,
        p.name,
        f"composing for {p.name}",
        overwrite=overwrite,
        keep_ext=keep_ext,
        quiet=quiet,
        report=report,
    )


def resize(
    inputs: Annotated[list[str], typer.Argument(help="Photos or cut-outs: files, folders or globs.")],
    preset: PresetOpt = "shopify",
    output: OutputOpt = None,
    pad: Annotated[
        str, typer.Option(help="Padding colour where the aspect needs it: auto (the backdrop's), white, '#RRGGBB'.")
    ] = "auto",
    fmt: FormatOpt = None,
    presets: PresetsFileOpt = None,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
    overwrite: OverwriteOpt = False,
    keep_ext: KeepExtOpt = False,
    quiet: QuietOpt = False,
    report: ReportOpt = None,
) -> None:
    """Resize to a platform's canvas around the product: crop or pad, never cut the product.

    Crops where the product plus a margin stays inside; pads (the photo's edge, mirrored and blurred, or
    --pad COLOUR) where it would not.
    """
    from edgematte.colors import parse_colour
    from edgematte.commerce.api import ResizeVerb
    from edgematte.commerce.marketplace_presets import get_preset
    from edgematte.still import Session

    p = get_preset(preset, presets)
    if pad != "auto":
        parse_colour(pad)  # a bad colour fails before the model loads
    verb = ResizeVerb(Session(model, threads=threads, profile=profile), p, pad, fmt or p.output_format)
    _run_verb(
        verb,
        inputs,
        output,
        p.name,
        f"resizing for {p.name}",
        overwrite=overwrite,
        keep_ext=keep_ext,
        quiet=quiet,
        report=report,
    )


def place(
    inputs: Annotated[list[str], typer.Argument(help="Product photos: files, folders or globs.")],
    scene: Annotated[Path, typer.Option("--scene", help="The lifestyle photo to place the product into.")],
    output: OutputOpt = None,
    at: Annotated[
        str | None, typer.Option(help="Product's bottom-centre as scene fractions 'x,y' (default: automatic).")
    ] = None,
    height: Annotated[
        float | None, typer.Option(min=0.02, max=1.0, help="Product height as a fraction of the scene's.")
    ] = None,
    shadow: Annotated[bool, typer.Option(help="Soft contact shadow from the product's footprint.")] = True,
    match_colour: Annotated[bool, typer.Option(help="Match the product's white balance to the scene.")] = True,
    fmt: FormatOpt = None,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
    overwrite: OverwriteOpt = False,
    keep_ext: KeepExtOpt = False,
    quiet: QuietOpt = False,
    report: ReportOpt = None,
) -> None:
    """Place the cut-out product into a scene photo with a contact shadow and matched colour balance."""
    from edgematte.commerce.api import PlaceVerb
    from edgematte.decode import decode
    from edgematte.errors import ImageError
    from edgematte.still import Session

    if not scene.is_file():
        raise OptionError(f"--scene '{scene}' is not a file")
    pos = _parse_pair(at, "--at")
    try:
        scene_rgb = decode(scene).rgb  # decoded once for the whole batch
    except ImageError as exc:
        raise ImageError(f"--scene: {exc}") from exc
    s = Session(model, threads=threads, profile=profile)
    verb = PlaceVerb(s, scene_rgb, pos, height, shadow, match_colour, fmt or "JPEG")
    _run_verb(
        verb, inputs, output, "placed", "placing", overwrite=overwrite, keep_ext=keep_ext, quiet=quiet, report=report
    )


def format_report(r: Any) -> str:
    """A CheckReport as the table `check` prints: one line per finding, advice underneath."""
    lines = [f"{r.source}  [{r.kind}{', ' + r.preset if r.preset else ''}]  {'PASS' if r.passed else 'FAIL'}"]
    for f in r.findings:
        line = f"  {LEVEL_MARK[f.level]}  {f.code:16} {f.message}"
        if f.advice:
            line += f"\n        {'':16} -> {f.advice}"
        lines.append(line)
    lines += [f"        crop: {c}" for c in r.crops]
    return "\n".join(lines)


def check(
    inputs: Annotated[list[str], typer.Argument(help="Images: files, folders or globs.")],
    preset: Annotated[str | None, typer.Option("--preset", "-p", help="Judge against this marketplace.")] = None,
    final: Annotated[
        bool, typer.Option("--final", help="The files are finished images: check compliance with --preset.")
    ] = False,
    edges: Annotated[
        bool, typer.Option("--edges", help="Also cut out and flag likely cut-out mistakes (with zoom crops).")
    ] = False,
    crops: Annotated[Path | None, typer.Option(help="Folder for 100% crops of the worst edge spots.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of the table.")] = False,
    html: Annotated[
        Path | None, typer.Option(help="Write an HTML report with thumbnails (default for several files).")
    ] = None,
    presets: PresetsFileOpt = None,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Check photos before upload, cut-outs after removal (--edges), or finished files (--final).

    Before upload: resolution, framing, contrast along the outline, blur, noise, compression, colour
    space, light. --final: size, format, sRGB, transparency, pure-white backdrop and fill for --preset.

    Exit code 1 when a hard rule fails, so an upload script can gate on it; 2 when a file is unreadable
    (3 for a model problem, 4 when a crop or report cannot be written).
    """
    from edgematte.batch import expand_inputs, most_serious
    from edgematte.commerce.api import check as check_photo
    from edgematte.commerce.api import check_edges, compliance
    from edgematte.commerce.marketplace_presets import get_preset

    if final and preset is None:
        raise OptionError("--final checks a finished image against a marketplace: add --preset NAME")
    p = get_preset(preset, presets) if preset else None
    files = [f for f, _ in expand_inputs(inputs)]
    if not files:
        raise OptionError("no images found in the given inputs")
    session = None
    if not final or edges:
        from edgematte.still import Session

        session = Session(model, threads=threads, profile=profile)
    reports, codes = [], []
    for f in files:
        try:
            rs = [compliance(f, p, presets_file=presets) if final else check_photo(f, p, session=session)]
            if edges:
                rs.append(check_edges(f, crops_dir=crops or Path("edgematte-crops"), session=session))
        except EdgematteError as exc:
            err(str(exc) if str(f) in str(exc) else f"{f}: {exc}")
            codes.append(exc.exit_code)
            continue
        reports.extend(rs)
        if not as_json:
            for r in rs:
                typer.echo(format_report(r) + "\n")
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    if html is None and len(files) > 1:
        html = Path("edgematte-check.html")
    if html is not None:
        from edgematte.commerce.html_report import write_html

        write_html(html, reports)
        if not as_json:
            typer.echo(f"report: {html}")
    failed = sum(not r.passed for r in reports)
    if not as_json and len(files) > 1:
        typer.echo(f"{len(reports) - failed} passed, {failed} failed, {len(codes)} unreadable", err=True)
    if codes:
        raise typer.Exit(code=most_serious(codes))
    if failed:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add `compose`, `resize`, `place` and `check` to the app."""
    for fn in (compose, resize, place, check):
        app.command()(fn)
