"""The seller verbs of the `edgematte` command: compose, resize, place, check.

Thin like cli.py: parse, call edgematte.commerce, print. Batches reuse the runtime's bounded
decode -> process -> encode pipeline, so one bad photo never stops a folder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from edgematte.cli_common import ModelOpt, ProfileOpt, ThreadsOpt, err, finish_batch
from edgematte.errors import EdgematteError, OptionError

PresetOpt = Annotated[str, typer.Option("--preset", "-p", help="amazon, walmart, shopify, ebay, etsy or your own.")]
PresetsFileOpt = Annotated[
    Path | None, typer.Option("--presets", help="A TOML file with your own presets (same keys as the built-ins).")
]
OutputOpt = Annotated[
    str | None, typer.Option("--output", "-o", help="Output file (one input) or folder (mirrors the tree).")
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Redo outputs that already exist.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write a JSON report of every file.")]
FormatOpt = Annotated[str | None, typer.Option("--format", "-f", help="jpg, png, webp or tif (default: the preset's).")]

SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "GIF": ".gif", "BMP": ".bmp"}


def _parse_pair(text: str | None, name: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise OptionError(f"{name} takes two fractions 'x,y', e.g. 0.5,0.85") from None
    return x, y


def _batch(
    inputs: list[str],
    output: str | None,
    suffix: str,
    tag: str,
    session,  # type: ignore[no-untyped-def]
    make,  # type: ignore[no-untyped-def]  # (DecodedImage) -> bytes
    *,
    overwrite: bool,
    quiet: bool,
    report: Path | None,
    label: str,
) -> None:
    from edgematte.batch import expand_inputs, plan
    from edgematte.imageio import decode

    pairs = expand_inputs(inputs)
    if not pairs:
        raise OptionError("no images found in the given inputs")
    jobs = plan(pairs, output, suffix, single_name="{stem}." + tag + "{suffix}")

    def decode_job(p: Path) -> object:
        return decode(p, session.max_pixels)

    def process_job(image: object) -> tuple[bytes, dict[str, float]]:
        t = time.perf_counter()
        blob = make(image)
        return blob, {"total": round((time.perf_counter() - t) * 1000, 2)}

    finish_batch(
        jobs,
        decode_job,
        process_job,
        lambda blob: blob,
        overwrite=overwrite,
        quiet=quiet,
        report=report,
        label=label,
        model=session.model,
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
    quiet: QuietOpt = False,
    report: ReportOpt = None,
) -> None:
    """Marketplace main image: the product centred on pure white (RGB 255) at the preset's size and fill.

    Encoded so the file passes: 4:4:4 JPEG with an sRGB profile, 255 verified after encoding, file-size
    limits met by a quality search.
    """
    from edgematte.api import Session
    from edgematte.commerce import compose as compose_image
    from edgematte.commerce import get_preset

    p = get_preset(preset, presets)
    out_fmt = (fmt or p.output_format).upper().replace("JPG", "JPEG")
    if out_fmt not in p.formats:
        raise OptionError(f"{p.title} does not accept {out_fmt}; use one of {', '.join(p.formats)}")
    s = Session(model, threads=threads, profile=profile)

    def make(img) -> bytes:  # type: ignore[no-untyped-def]
        made = compose_image(img, p, fill=fill, fmt=out_fmt, session=s)
        for w in made.details["warnings"]:  # type: ignore[union-attr]
            typer.echo(f"edgematte: warning: {w}", err=True)
        return made.data  # type: ignore[union-attr]

    _batch(
        inputs,
        output,
        SUFFIX[out_fmt],
        p.name,
        s,
        make,
        overwrite=overwrite,
        quiet=quiet,
        report=report,
        label=f"composing for {p.name}",
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
    quiet: QuietOpt = False,
    report: ReportOpt = None,
) -> None:
    """Resize to a platform's canvas around the product: crop or pad, never cut the product.

    Crops where the product plus a margin stays inside; pads (the photo's edge, mirrored and blurred, or
    --pad COLOUR) where it would not.
    """
    from edgematte.api import Session
    from edgematte.colors import parse_colour
    from edgematte.commerce import get_preset, resize_for

    p = get_preset(preset, presets)
    if pad != "auto":
        parse_colour(pad)  # validate before the batch starts
    out_fmt = (fmt or p.output_format).upper().replace("JPG", "JPEG")
    s = Session(model, threads=threads, profile=profile)
    _batch(
        inputs,
        output,
        SUFFIX[out_fmt],
        p.name,
        s,
        lambda img: resize_for(img, p, pad=pad, fmt=out_fmt, session=s).data,
        overwrite=overwrite,
        quiet=quiet,
        report=report,
        label=f"resizing for {p.name}",
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
    quiet: QuietOpt = False,
    report: ReportOpt = None,
) -> None:
    """Place the cut-out product into a scene photo with a contact shadow and matched colour balance."""
    from edgematte.api import Session
    from edgematte.commerce import place as place_image
    from edgematte.imageio import decode

    if not scene.is_file():
        raise OptionError(f"--scene '{scene}' is not a file")
    pos = _parse_pair(at, "--at")
    s = Session(model, threads=threads, profile=profile)
    scene_img = decode(scene, s.max_pixels)  # decoded once for the whole batch
    out_fmt = (fmt or "jpg").upper().replace("JPG", "JPEG")
    _batch(
        inputs,
        output,
        SUFFIX.get(out_fmt, ".jpg"),
        "placed",
        s,
        lambda img: (
            place_image(
                img, scene_img, at=pos, height=height, shadow=shadow, match_colour=match_colour, fmt=out_fmt, session=s
            ).data
        ),
        overwrite=overwrite,
        quiet=quiet,
        report=report,
        label="placing",
    )


LEVEL_MARK = {"fail": "FAIL", "warn": "warn", "ok": " ok ", "info": "info"}


def format_report(r) -> str:  # type: ignore[no-untyped-def]
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

    Exit code 1 when a hard rule fails, so an upload script can gate on it; 2 when a file is unreadable.
    """
    from edgematte.batch import expand_inputs
    from edgematte.commerce import check as check_photo
    from edgematte.commerce import check_edges, compliance, get_preset

    if final and preset is None:
        raise OptionError("--final checks a finished image against a marketplace: add --preset NAME")
    p = get_preset(preset, presets) if preset else None
    files = [f for f, _ in expand_inputs(inputs)]
    if not files:
        raise OptionError("no images found in the given inputs")
    session = None
    if not final or edges:
        from edgematte.api import Session

        session = Session(model, threads=threads, profile=profile)
    reports, unreadable = [], 0
    for f in files:
        try:
            rs = [compliance(f, p, presets_file=presets) if final else check_photo(f, p, session=session)]
            if edges:
                rs.append(check_edges(f, crops_dir=crops or Path("edgematte-crops"), session=session))
        except EdgematteError as exc:
            err(str(exc) if str(f) in str(exc) else f"{f}: {exc}")
            unreadable += 1
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
        typer.echo(f"{len(reports) - failed} passed, {failed} failed, {unreadable} unreadable", err=True)
    if unreadable:
        raise typer.Exit(code=2)
    if failed:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    for fn in (compose, resize, place, check):
        app.command()(fn)
