"""The booth plugins inside their real hosts, on the real models and a real photo of a person.

pibooth: its application (pygame on SDL's dummy video driver, gpiozero's mock pins), state
machine, configuration parser, core plugins and plugin manager run a whole two-capture
sequence; only the camera device is replaced, by frames served to pibooth's own OpenCV camera.
photobooth-app: its plugin manager and its image pipeline (`process_image_inner`) run our
filter. Each host is optional: without it its tests skip and say how to install it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PIL import Image

from evaluation import sets as evalsets

PERSON = "person3"  # grabcut50: a man with a backpack, 450x600, GT with an unlabelled band
GREEN = (0, 255, 0)
ROYALBLUE = (65, 105, 225)  # photobooth's colour name, as pydantic's Color knows it


def person() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The photo (RGB), and its sure background and sure subject (GT eroded away from the edge)."""
    root = evalsets.eval_root() / "grabcut50"
    rgb = cv2.cvtColor(cv2.imread(str(root / "images" / f"{PERSON}.jpg")), cv2.COLOR_BGR2RGB)
    gt = cv2.imread(str(root / "gt" / f"{PERSON}.png"), cv2.IMREAD_GRAYSCALE)
    kernel = np.ones((25, 25), np.uint8)
    sure_bg = cv2.erode((gt == 0).astype(np.uint8), kernel) > 0
    sure_fg = cv2.erode((gt == 255).astype(np.uint8), kernel) > 0
    assert sure_bg.sum() > 50_000 and sure_fg.sum() > 10_000
    return rgb, sure_bg, sure_fg


def assert_composite(image: Image.Image | np.ndarray, rgb: np.ndarray, sure_bg, sure_fg, colour) -> None:
    """The background shows `colour` where the photo had background; the person is kept."""
    out = np.asarray(image).astype(np.int16)
    assert out.shape == rgb.shape
    on_colour = np.abs(out[sure_bg] - np.array(colour)).max(axis=1) <= 12
    assert on_colour.mean() > 0.97, f"only {on_colour.mean():.1%} of the background is {colour}"
    kept = np.abs(out[sure_fg] - rgb[sure_fg].astype(np.int16)).max(axis=1) <= 12
    assert kept.mean() > 0.97, f"only {kept.mean():.1%} of the person is kept"


# -- pibooth ------------------------------------------------------------------------------------

PIBOOTH_REASON = "pibooth is not installed (pip install pibooth==2.1.1)"


@pytest.fixture
def pibooth_env(tmp_path, monkeypatch):
    """pibooth, headless: SDL's dummy drivers; its files under tmp_path."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    monkeypatch.setenv("HOME", str(tmp_path))  # pibooth may touch ~/.config/autostart
    pytest.importorskip("pibooth", reason=PIBOOTH_REASON)
    from edgematte.plugins import pibooth_plugin

    yield tmp_path
    pibooth_plugin.pibooth_cleanup()  # a failed test must not leave a worker behind


def pibooth_manager(*plugins):
    """pibooth's plugin manager with our plugin registered as its entry point would be."""
    from pibooth.plugins import create_plugin_manager

    from edgematte.plugins import pibooth_plugin

    pm = create_plugin_manager()
    # Named like the entry point, so pibooth's entry-point loading skips it when it is installed.
    pm.register(pibooth_plugin, name="edgematte")
    for plugin in plugins:
        pm.register(plugin)
    return pm


def pibooth_config(pm, folder: Path, **options: str):
    from pibooth.config import PiConfigParser

    cfg = PiConfigParser(str(folder / "pibooth.cfg"), pm, load=False)
    pm.hook.pibooth_configure(cfg=cfg)
    for key, value in options.items():
        section, name = key.split("__")
        cfg.set(section.upper(), name, value)
    return cfg


class Frames:
    """The camera device: serves a photo (BGR) as an OpenCV VideoCapture would; `mirror` flips it."""

    def __init__(self, bgr: np.ndarray):
        self.bgr = bgr
        self.mirror = False

    def read(self):
        return True, (self.bgr[:, ::-1] if self.mirror else self.bgr).copy()

    def get(self, prop):
        h, w = self.bgr.shape[:2]
        return {cv2.CAP_PROP_FRAME_WIDTH: w, cv2.CAP_PROP_FRAME_HEIGHT: h}.get(prop, 0)

    def set(self, prop, value):
        return True

    def isOpened(self):  # noqa: N802 (cv2's name)
        return True

    def release(self):
        pass


def test_pibooth_hookspecs_accept_the_plugin(pibooth_env):
    pm = pibooth_manager()
    pm.check_pending()  # every hook is one of pibooth's, with arguments its spec has
    assert pm.get_plugin("edgematte") is not None


def test_pibooth_options_in_its_config(pibooth_env, caplog):
    from edgematte.plugins.pibooth_plugin import SECTION, Options

    pm = pibooth_manager()
    cfg = pibooth_config(pm, pibooth_env)
    assert Options.from_config(cfg) == Options(True, "portrait", "white", None)
    cfg.save(default=True)
    text = (pibooth_env / "pibooth.cfg").read_text()
    assert f"[{SECTION}]" in text and "model = portrait" in text and "background = white" in text

    cfg.set(SECTION, "background", "(0, 255, 0)")  # pibooth's own colour style
    cfg.set(SECTION, "threads", "2")
    assert Options.from_config(cfg).background == GREEN and Options.from_config(cfg).threads == 2
    cfg.set(SECTION, "background", "#00ff00")
    assert Options.from_config(cfg).background == "#00ff00"
    cfg.set(SECTION, "background", "backdrops/beach.jpg")  # relative to the config's folder, as pibooth's paths
    assert Options.from_config(cfg).background == str(pibooth_env / "backdrops" / "beach.jpg")
    cfg.set(SECTION, "threads", "many")
    with caplog.at_level(logging.WARNING, "pibooth.edgematte"):
        assert Options.from_config(cfg).threads is None
    assert "threads" in caplog.text


@pytest.mark.needs_eval
def test_pibooth_sequence_gets_composites(pibooth_env, caplog):
    """A two-capture sequence through pibooth's own states and core plugins."""
    import pibooth
    import pygame
    from pibooth import language
    from pibooth.booth import PiApplication
    from pibooth.camera.opencv import CvCamera

    from edgematte.plugins import pibooth_plugin

    rgb, sure_bg, sure_fg = person()
    h, w = rgb.shape[:2]

    class Booth:
        """The test's plugin: provides the camera, and watches what pibooth does."""

        def __init__(self):
            self.frames = Frames(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            self.jobs_when_capturing: list[int] = []
            self.factory_images: list[tuple] = []

        @pibooth.hookimpl
        def pibooth_setup_camera(self, cfg):
            return CvCamera(self.frames)

        @pibooth.hookimpl(tryfirst=True)
        def state_capture_do(self):
            # Before pibooth's camera plugin takes the capture: the second one is the mirror image.
            self.frames.mirror = bool(self.jobs_when_capturing)
            self.jobs_when_capturing.append(len(pibooth_plugin._booth.worker._jobs))

        @pibooth.hookimpl
        def pibooth_setup_picture_factory(self, factory):
            self.factory_images.append(tuple(factory._images))

    booth = Booth()
    pm = pibooth_manager(booth)
    pm.load_all_plugins([], [])  # pibooth's entry points, then its core plugins
    folder = pibooth_env / "config"
    language.init(str(folder / "translations.cfg"))
    cfg = pibooth_config(
        pm,
        folder,
        general__directory=str(pibooth_env / "pictures"),
        window__preview_delay="1",
        window__chosen_delay="0",
        window__flash="False",
        picture__captures="2",
        camera__resolution=f"({w}, {h})",  # the photo's size: pibooth's crop and resize keep it as is
        edgematte__background="#00ff00",
    )
    app = PiApplication(cfg, pm)
    app._initialize()
    pm.hook.pibooth_startup(cfg=cfg, app=app)
    app._machine.set_state("wait")
    events = [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_p)]  # the guest presses the capture button
    states = ["wait"]
    deadline = time.monotonic() + 60
    with caplog.at_level(logging.INFO, "pibooth"):
        while time.monotonic() < deadline:
            app._machine.process(events)
            events = []
            if app._machine.active_state != states[-1]:
                states.append(app._machine.active_state)
                if states[-1] == "wait":
                    break
        pm.hook.pibooth_cleanup(app=app)
    pygame.quit()

    assert states == ["wait", "preview", "capture", "preview", "capture", "processing", "finish", "wait"]
    # The first capture was being cut out while the second was taken.
    assert booth.jobs_when_capturing == [0, 1]
    # The final picture was built from the composites ...
    assert len(booth.factory_images) == 1 and len(booth.factory_images[0]) == 2
    first, second = booth.factory_images[0]
    assert_composite(first, rgb, sure_bg, sure_fg, GREEN)
    assert_composite(second, rgb[:, ::-1], sure_bg[:, ::-1], sure_fg[:, ::-1], GREEN)
    (final_file,) = (pibooth_env / "pictures").glob("*_pibooth.jpg")
    final = np.asarray(Image.open(final_file)).astype(np.int16)
    assert (np.abs(final - GREEN).max(axis=2) <= 20).mean() > 0.2  # the green shows in the layout
    # ... and the raw folder keeps the captures as taken.
    raws = sorted((pibooth_env / "pictures" / "raw").rglob("*.jpg"))
    assert [p.name for p in raws] == ["pibooth000.jpg", "pibooth001.jpg"]
    for raw, photo in zip(raws, (rgb, rgb[:, ::-1]), strict=True):
        assert np.abs(np.asarray(Image.open(raw)).astype(np.int16) - photo).mean() < 4
    assert caplog.text.count("capture cut out") == 2


@pytest.mark.needs_eval
def test_pibooth_capture_that_fails_is_kept(pibooth_env, caplog):
    from pibooth.camera.opencv import CvCamera
    from pibooth.pictures import get_picture_factory

    rgb, sure_bg, sure_fg = person()
    pm = pibooth_manager()
    cfg = pibooth_config(pm, pibooth_env, edgematte__background="0,255,0")
    app = SimpleNamespace(camera=CvCamera(Frames(rgb)))
    pm.hook.pibooth_startup(cfg=cfg, app=app)
    good, broken = Image.fromarray(rgb), Image.new("RGB", (0, 0))
    factory = get_picture_factory([good, broken])
    with caplog.at_level(logging.INFO, "pibooth.edgematte"):
        assert pm.hook.pibooth_setup_picture_factory(cfg=cfg, opt_index=0, factory=factory) is None
    composite, kept = factory._images
    assert_composite(composite, rgb, sure_bg, sure_fg, GREEN)
    assert kept is broken
    assert "0x0 capture used as taken" in caplog.text and "empty size" in caplog.text
    pm.hook.pibooth_cleanup(app=app)


@pytest.mark.needs_eval
def test_pibooth_bad_background_keeps_captures(pibooth_env, caplog):
    from pibooth.camera.opencv import CvCamera
    from pibooth.pictures import get_picture_factory

    rgb, _, _ = person()
    pm = pibooth_manager()
    cfg = pibooth_config(pm, pibooth_env, edgematte__background="no-such-backdrop.jpg")
    app = SimpleNamespace(camera=CvCamera(Frames(rgb)))
    capture = Image.fromarray(rgb)
    with caplog.at_level(logging.ERROR, "pibooth.edgematte"):
        pm.hook.pibooth_startup(cfg=cfg, app=app)
        factory = get_picture_factory([capture])
        pm.hook.pibooth_setup_picture_factory(cfg=cfg, opt_index=0, factory=factory)
    assert factory._images == (capture,)
    assert "no-such-backdrop.jpg" in caplog.text and "neither a colour" in caplog.text
    pm.hook.pibooth_cleanup(app=app)


def test_pibooth_entry_point_resolves_to_the_plugin():
    eps = [ep for ep in importlib.metadata.entry_points(group="pibooth") if ep.value.startswith("edgematte")]
    if not eps:
        pytest.skip("edgematte's pibooth entry point is not installed (pyproject [project.entry-points.pibooth])")
    pytest.importorskip("pibooth", reason=PIBOOTH_REASON)
    from edgematte.plugins import pibooth_plugin

    assert [ep.name for ep in eps] == ["edgematte"]
    assert eps[0].load() is pibooth_plugin


# -- photobooth-app -----------------------------------------------------------------------------

PHOTOBOOTH_REASON = (
    "photobooth-app is not installed; it pins av<18.1 and onnxruntime==1.28.0, so it lives in a venv of its "
    "own: pip install photobooth-app==9.0.0 -e ."
)
FILTER_MODULE = "edgematte.plugins.edgematte_filter"


@pytest.fixture(scope="class")
def photobooth(tmp_path_factory):
    """photobooth-app's plugin manager with our filter registered as the host registers it.

    photobooth-app works in its working directory (config/, media/, userdata/ are made there on
    import), so the tests run in a temporary one.
    """
    before = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("photobooth"))
    try:
        plugins = pytest.importorskip("photobooth.plugins", reason=PHOTOBOOTH_REASON)
        if not hasattr(plugins, "pm"):
            pytest.skip(PHOTOBOOTH_REASON)
        plugin = plugins.pm.get_plugin(FILTER_MODULE)
        if plugin is None:  # no entry point installed: do what photobooth.plugins does for one
            import importlib

            module = importlib.import_module(FILTER_MODULE)
            plugin = getattr(module, FILTER_MODULE.split(".")[-1].title().replace("_", ""))()
            plugins.pm.register(plugin, name=FILTER_MODULE)
        # The host lists its filters when its pipeline module is first imported: after registering.
        from photobooth.services.config.groups.actions import SingleImageProcessing
        from photobooth.services.mediaprocessing.processes import process_image_inner
        from photobooth.services.mediaprocessing.steps import image as steps

        yield SimpleNamespace(
            pm=plugins.pm, plugin=plugin, steps=steps, run=process_image_inner, config=SingleImageProcessing
        )
    finally:
        os.chdir(before)


@pytest.fixture(scope="class")
def photo() -> Path:
    path = evalsets.eval_root() / "grabcut50" / "images" / f"{PERSON}.jpg"
    assert path.is_file()
    return path


@pytest.mark.needs_eval
class TestPhotoboothApp:
    def test_filters_are_listed_by_the_host(self, photobooth):
        names = [f.value for f in photobooth.steps.PluginFilters]
        ours = ["EdgematteFilter.white", "EdgematteFilter.royalblue", "EdgematteFilter.background"]
        assert set(ours) <= set(names), names
        assert set(ours) <= {f for _, f in photobooth.steps.get_plugin_userselectable_filters()}
        from photobooth.services.pluginmanager import PluginManagerService

        # The admin's configuration form for the plugin.
        assert PluginManagerService.is_configurable_plugin(photobooth.plugin)
        schema = photobooth.plugin._config.get_schema()
        assert {"model", "background_colors", "background_images", "threads"} <= set(schema["properties"])

    def test_pipeline_puts_the_person_on_a_colour(self, photobooth, photo):
        rgb, sure_bg, sure_fg = person()
        config = photobooth.config(image_filter=photobooth.steps.PluginFilters("EdgematteFilter.royalblue"))
        out = photobooth.run(photo, config, preview=False)
        assert out.mode == "RGB"
        assert_composite(out, rgb, sure_bg, sure_fg, ROYALBLUE)

    def test_pipeline_puts_the_person_on_an_image(self, photobooth, photo):
        rgb, sure_bg, sure_fg = person()
        config = photobooth.config(image_filter=photobooth.steps.PluginFilters("EdgematteFilter.background"))
        out = np.asarray(photobooth.run(photo, config, preview=False)).astype(np.int16)
        # The demo backdrop (a starry sky) where the background was, the person as photographed.
        assert np.abs(out[sure_bg] - rgb[sure_bg]).mean() > 60
        assert (np.abs(out[sure_fg] - rgb[sure_fg]).max(axis=1) <= 12).mean() > 0.97

    def test_previews_of_backgrounds_share_one_cutout(self, photobooth, photo):
        rgb, sure_bg, sure_fg = person()
        photobooth.plugin._mattes.clear()
        for name, colour in (("white", (255, 255, 255)), ("royalblue", ROYALBLUE)):
            config = photobooth.config(image_filter=photobooth.steps.PluginFilters(f"EdgematteFilter.{name}"))
            assert_composite(photobooth.run(photo, config, preview=True), rgb, sure_bg, sure_fg, colour)
        assert len(photobooth.plugin._mattes) == 1

    def test_other_plugins_filters_are_left_to_them(self, photobooth, photo):
        image = Image.open(photo)
        assert photobooth.plugin.mp_filter_pipeline_step(image, "FilterPilgram2.aden", False) is None
        config = photobooth.config(image_filter=photobooth.steps.PluginFilters("FilterPilgram2.aden"))
        assert photobooth.run(photo, config, preview=False).size == image.size

    def test_a_photo_that_fails_is_returned_unchanged(self, photobooth, photo, caplog):
        config = photobooth.plugin._config
        saved = config.background_images
        config.background_images = [Path("userdata/gone/background.jpg")]  # deleted after the host started
        try:
            image = Image.open(photo).convert("RGB")
            with caplog.at_level(logging.ERROR, FILTER_MODULE):
                out = photobooth.pm.hook.mp_filter_pipeline_step(
                    image=image, plugin_filter="EdgematteFilter.background", preview=False
                )
        finally:
            config.background_images = saved
        assert out is image
        assert "photo kept" in caplog.text and "gone/background.jpg" in caplog.text


def test_photobooth_entry_point_names_the_filter_module():
    eps = [ep for ep in importlib.metadata.entry_points(group="photobooth11") if ep.value.startswith("edgematte")]
    if not eps:
        pytest.skip("edgematte's photobooth11 entry point is not installed (pyproject [project.entry-points])")
    # photobooth-app imports the module the entry point names and instantiates the class named after it.
    assert [(ep.name, ep.value) for ep in eps] == [("edgematte", FILTER_MODULE)]
