"""Timing the jobs a device runs, on the device itself (`edgematte bench`).

Kept in the installed package (not only in bench/) so a kiosk installer can check a board
with one command and no eval data: the test photo is made from the bundled sample.
Figures are medians and 95th percentiles over repeated runs after warm-up; this machine
class is noisy (+-15%), so budgets carry a margin and comparisons are ratios in one run.
"""

from __future__ import annotations

import io
import resource
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edgematte.compositing import Backdrop
from edgematte.decode import decode
from edgematte.live.stages import PreviewStages
from edgematte.live.temporal import Stabiliser
from edgematte.still import Output, Session

SAMPLE = Path(__file__).resolve().parent / "data" / "sample.jpg"
STILL_SIZE = (4000, 3000)  # 12 MP: a Raspberry Pi HQ / Camera Module 3 still, a phone photo
PREVIEW_SIZE = (1280, 720)  # camera preview stream


def test_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A photo-like RGB image of any size: the bundled studio shot, rescaled, with sensor-like noise
    (so encoders and the edge band see realistic content)."""
    base = cv2.cvtColor(cv2.imread(str(SAMPLE), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    img = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC if width > base.shape[1] else cv2.INTER_AREA)
    noise = np.random.default_rng(seed).normal(0, 2.5, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def jpeg_bytes(rgb: np.ndarray, quality: int = 92) -> bytes:
    """JPEG file bytes of an RGB image (quality 92 by default: what cameras write), the jobs' input."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def proc_status_mb(key: str) -> float | None:
    """A memory line of /proc/self/status (VmHWM, VmRSS, ...) in MB; None where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux: VmHWM; elsewhere: ru_maxrss)."""
    hwm = proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 1024.0 / 1024.0


def p(values: list[float], q: float) -> float:
    """The q-th percentile of `values` (NaN for none, the value itself for one)."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return float(np.percentile(values, q))


@dataclass
class StageTimes:
    """Per-stage wall times (ms) of repeated runs of one job."""

    runs: list[dict[str, float]] = field(default_factory=list)

    def add(self, stages: dict[str, float]) -> None:
        """Record one run's stage times (ms)."""
        self.runs.append(stages)

    def stages(self) -> list[str]:
        """Stage names in the order they first appeared."""
        names: list[str] = []
        for r in self.runs:
            names += [k for k in r if k not in names]
        return names

    def summary(self) -> dict[str, dict[str, float]]:
        """p50 and p95 (ms) per stage, and of the total."""
        out = {}
        for s in [*self.stages(), "total"]:
            vals = [r.get(s, 0.0) if s != "total" else sum(r.values()) for r in self.runs]
            out[s] = {"p50": round(statistics.median(vals), 2), "p95": round(p(vals, 95), 2)}
        return out


POST_STAGES = ("refine", "foreground", "full_res", "compose")


def time_still(session: Session, jpeg: bytes, runs: int = 5, warmup: int = 1, encode: str | None = "PNG") -> StageTimes:
    """The still path end to end (Session.process: decode ... encode), every stage timed (ms).

    Parameters
    ----------
    session
        The loaded still path.
    jpeg
        The photo's file bytes (decoded in every run, as a caller's would be).
    runs, warmup
        Timed runs, after `warmup` untimed ones. Defaults 5 and 1.
    encode
        The output format. Default 'PNG' (a transparent cut-out); 'JPEG' composes onto white;
        None stops after compose.
    """
    out = StageTimes()
    spec = Output(format=encode)
    for i in range(warmup + runs):
        result = session.process(jpeg, spec)
        stages = result.timings.ms()
        del result  # the next run must not see this one's buffers at its peak
        if i >= warmup:
            out.add(stages)
    return out


def time_preview(stages: PreviewStages, frames: list[np.ndarray], runs: int = 60, warmup: int = 5) -> StageTimes:
    """The live path per frame (temporal stage included, composite onto green), every stage
    timed (ms); frames are cycled."""
    out = StageTimes()
    stabiliser, green = Stabiliser(stages.settings.temporal), Backdrop(colour=(0, 177, 64))
    for i in range(warmup + runs):
        r = stages.frame(frames[i % len(frames)], stabiliser, "composite", green)
        if i >= warmup:
            out.add(r.timings.ms())
    return out


def preview_frames(n: int = 8) -> list[np.ndarray]:
    """A short synthetic 'camera' sequence: the test photo panning a few pixels per frame."""
    w, h = PREVIEW_SIZE
    wide = test_photo(w + 8 * n, h)
    return [np.ascontiguousarray(wide[:, 8 * i : 8 * i + w]) for i in range(n)]


@dataclass
class BudgetCheck:
    """One job's measured median against its profile's budget."""

    job: str
    measured_p50_ms: float
    budget_ms: float

    @property
    def ok(self) -> bool:
        """Whether the median is within the budget."""
        return self.measured_p50_ms <= self.budget_ms


def check_profile(profile_name: str | None, threads: int | None = None, runs: int = 5) -> dict:
    """Run a profile's jobs on this machine and compare them with its budgets."""
    from edgematte.profiles import get_profile

    prof = get_profile(profile_name)
    report: dict = {"profile": prof.name, "description": prof.description, "jobs": {}, "checks": []}
    still = Session(prof.model_for("u2netp") or "u2netp", threads=threads or prof.threads, profile=prof.name)
    jpeg = jpeg_bytes(test_photo(*STILL_SIZE))
    decode(jpeg)  # warm the decoder
    st = time_still(still, jpeg, runs=runs, encode="JPEG")
    summary = st.summary()
    report["jobs"]["still_12mp"] = {"model": still.model, "stages_ms": summary}
    post = [sum(r.get(s, 0.0) for s in POST_STAGES) for r in st.runs]
    report["jobs"]["still_12mp"]["post_processing_p50_ms"] = round(statistics.median(post), 2)
    if "portrait_ms" in prof.budgets_ms:
        # The photo-booth still: a 12 MP capture through the profile's matting model (MODNet).
        booth = Session(prof.model_for("modnet") or "modnet", threads=threads or prof.threads, profile=prof.name)
        pt_still = time_still(booth, jpeg, runs=runs, encode="JPEG")
        report["jobs"]["portrait_12mp"] = {"model": booth.model, "stages_ms": pt_still.summary()}
        del booth
    pv = PreviewStages(threads=threads or prof.threads, profile=prof.name)
    pt = time_preview(pv, preview_frames(), runs=max(30, runs * 10))
    report["jobs"]["preview_720p"] = {"model": pv.card.name, "stages_ms": pt.summary()}
    for job, key in (("still_12mp", "still_ms"), ("portrait_12mp", "portrait_ms"), ("preview_720p", "preview_ms")):
        if key in prof.budgets_ms and job in report["jobs"]:
            c = BudgetCheck(job, report["jobs"][job]["stages_ms"]["total"]["p50"], prof.budgets_ms[key])
            report["checks"].append(
                {
                    "job": job,
                    "p50_ms": c.measured_p50_ms,
                    "budget_ms": c.budget_ms,
                    "ok": c.ok,
                    "source": prof.budget_source.get(key, ""),
                }
            )
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    report["passed"] = all(c["ok"] for c in report["checks"]) if report["checks"] else None
    return report


def format_report(report: dict) -> str:
    """The `check_profile` report as the table `edgematte bench` prints."""
    buf = io.StringIO()
    print(f"profile {report['profile']}: {report['description']}", file=buf)
    for job, data in report["jobs"].items():
        print(f"\n{job} ({data['model']})", file=buf)
        print(f"  {'stage':12} {'p50 ms':>9} {'p95 ms':>9}", file=buf)
        for stage, v in data["stages_ms"].items():
            print(f"  {stage:12} {v['p50']:9.1f} {v['p95']:9.1f}", file=buf)
        if "post_processing_p50_ms" in data:
            print(
                f"  post-processing (refine+foreground+full_res) p50: {data['post_processing_p50_ms']:.1f} ms", file=buf
            )
    print("", file=buf)
    for c in report["checks"]:
        verdict = "PASS" if c["ok"] else "FAIL"
        print(f"{verdict} {c['job']}: {c['p50_ms']:.0f} ms (budget {c['budget_ms']:.0f} ms)", file=buf)
    if not report["checks"]:
        print("no budgets for this profile", file=buf)
    print(f"peak RSS {report['peak_rss_mb']:.0f} MB", file=buf)
    return buf.getvalue()
