"""Past one machine: the still path on Ray Data, for catalogues too big for one box.

A million photos at ~0.4 s each is 4-5 days on one board; on a Ray cluster the same files go
through the same stages on every worker. The driver plans the jobs exactly as `edgematte remove`
does (batch.expand_inputs, batch.plan: one output path per input, clashes refused before
anything runs) and hands Ray Data a dataset of (source, output) rows. `CutoutActor` loads one
Session per worker (model, kernels) and runs each batch of rows through `batch.run_batch` with
`batch.CutoutWork`: the decode / matte / render / encode stages of every other caller, outputs
written atomically, existing outputs skipped (a rerun redoes nothing), a bad file a row with its
error, never a failed job. What comes back is one row per file, which the CLI writes as a
JSON-lines manifest.

Workers read the sources and write the outputs by path, so on N machines the paths must name
the same shared storage everywhere (NFS, a mounted bucket); see bench/CLUSTER.md for how that
spreads and what limits it.

Needs the `ray` extra (`pip install "edgematte[ray]"`, Ray Data; wheels for x86_64 and aarch64).
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgematte.batch import FileResult, Job, run_batch
from edgematte.errors import OptionError

if TYPE_CHECKING:
    import ray.data

# Columns of the result rows (FileResult's fields, flattened) plus who did the work.
RESULT_COLUMNS = ("source", "output", "status", "message", "error", "exit_code", "seconds", "stages_ms", "worker")


@dataclass(frozen=True)
class CutoutSpec:
    """What every worker makes: `edgematte remove`'s options, picklable (sent to each actor).

    Parameters
    ----------
    model
        Model name, family or alias. Default None: the worker's device profile's choice.
    threads
        Threads per worker for inference and kernels. Default None: the driver's device
        profile's (`remove_dataset` fixes it before the workers start). Each actor reserves this
        many CPUs from Ray (`num_cpus`), so it must not exceed the largest node's.
    profile
        Device profile. Default None: detected on each worker.
    mask_only, bg, format, quality, best
        As for `edgematte remove`: a mask, a backdrop (colour or an image path every worker
        can read), the output format (PNG, WEBP, JPEG, TIFF), JPEG/WebP quality, the mirrored
        second run.
    overwrite
        Redo outputs that exist. Default False: they are skipped, so a rerun resumes.
    looks
        As `edgematte remove --looks`: 1 or 2. Default None: each worker's device profile's.
    studio
        As `edgematte remove --studio`. Default False.
    """

    model: str | None = None
    threads: int | None = None
    profile: str | None = None
    mask_only: bool = False
    bg: str | None = None
    format: str = "PNG"
    quality: int | None = None
    best: bool = False
    overwrite: bool = False
    looks: int | None = None
    studio: bool = False


class CutoutActor:
    """A Ray Data worker: one Session loaded once, then each batch of rows through `run_batch`.

    Parameters
    ----------
    spec
        What to make (CutoutSpec).
    """

    def __init__(self, spec: CutoutSpec):
        from edgematte.batch import CutoutWork
        from edgematte.still import Output, Session

        self.spec = spec
        self.session = Session(
            spec.model,
            threads=spec.threads,
            profile=spec.profile,
            best=spec.best,
            looks=spec.looks,
            studio=spec.studio,
        )
        output = Output.of(mask_only=spec.mask_only, bg=spec.bg, format=spec.format, quality=spec.quality)
        self.work = CutoutWork(self.session, output)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        """One batch: {'source': [...], 'output': [...]} in, one result row per file out."""
        jobs = [Job(Path(str(s)), Path(str(o))) for s, o in zip(batch["source"], batch["output"], strict=True)]
        report = run_batch(jobs, self.work, overwrite=self.spec.overwrite)
        rows = [_row(r, self.worker) for r in report.results]
        return {c: [row[c] for row in rows] for c in RESULT_COLUMNS}


def _row(r: FileResult, worker: str) -> dict[str, Any]:
    d = asdict(r)
    return {
        "source": d["source"],
        "output": d["output"] or "",
        "status": d["status"],
        "message": d["message"],
        "error": d["error"] or "",
        "exit_code": int(d["exit_code"]),
        "seconds": round(float(d["seconds"]), 4),
        "stages_ms": ",".join(f"{k}={v:.1f}" for k, v in d["stages_ms"].items()),
        "worker": worker,
    }


def jobs_dataset(jobs: list[Job]) -> ray.data.Dataset:
    """A Ray Dataset of (source, output) rows from planned jobs (batch.plan)."""
    import ray.data

    # Absolute paths: a worker's working folder is not the driver's.
    return ray.data.from_items([{"source": str(j.source.absolute()), "output": str(j.output.absolute())} for j in jobs])


def remove_dataset(
    ds: ray.data.Dataset,
    spec: CutoutSpec | None = None,
    *,
    workers: int | None = None,
    batch_size: int = 4,
) -> ray.data.Dataset:
    """Cut out every row of a Ray Dataset: a lazy Dataset of result rows, one per input row.

    Parameters
    ----------
    ds
        Rows with 'source' (an image path every worker can read) and 'output' (where to write
        it), e.g. from `jobs_dataset(plan(...))`.
    spec
        What to make. Default None: `CutoutSpec()`, a transparent PNG cut-out by the profile's model.
    workers
        Actors (each one Session, `spec.threads` CPUs). Default None: as many as the cluster's
        CPUs hold (`ray.cluster_resources()['CPU'] // threads`, at least 1).
    batch_size
        Rows per call of an actor. Default 4: enough for `run_batch` to overlap decode, model
        and encode, and few files to redo when a worker dies mid-batch (Ray restarts the actor
        and retries the batch; outputs already written are skipped then).

    Returns
    -------
    ray.data.Dataset
        Columns RESULT_COLUMNS: status 'ok', 'skipped' or 'failed' with the error's class, exit
        code and message, the seconds and per-stage milliseconds, and the worker (host:pid).
    """
    import ray

    spec = spec or CutoutSpec()
    threads = spec.threads or _profile_threads(spec.profile)
    if workers is None:
        workers = max(1, int(ray.cluster_resources().get("CPU", threads)) // threads)
    if workers < 1:
        raise OptionError("--workers takes 1 or more")
    largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=0)
    if threads > largest:
        raise OptionError(f"--threads {threads}: no node of this Ray cluster has that many CPUs (largest: {largest:g})")
    bg = spec.bg
    if bg is not None and Path(bg).is_file():
        bg = str(Path(bg).absolute())  # read by every worker, from its own working folder
    spec = CutoutSpec(**{**asdict(spec), "threads": threads, "bg": bg})
    with warnings.catch_warnings():
        # ray 2.60 (pinned) deprecates passing `max_task_retries` this way, with no named
        # parameter to replace it yet (to be revisited before moving to ray 2.64).
        warnings.simplefilter("ignore", DeprecationWarning)
        return ds.map_batches(
            _bound_actor(spec),
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=threads,
            batch_format="numpy",
            # Ray Data restarts a dead actor and retries its batch (actor pools default to
            # unlimited); a batch that kills its worker 3 times is given up and its files are
            # reported as failed by `run_on_ray`, not a failed job.
            max_task_retries=3,
        )


def _bound_actor(spec: CutoutSpec) -> type:
    """CutoutActor with `spec` built in: no constructor arguments in Ray's object store, so a
    restarted actor never depends on them (ray-project/ray#53727)."""
    return type("CutoutActor", (CutoutActor,), {"__init__": lambda self: CutoutActor.__init__(self, spec)})


def _profile_threads(profile: str | None) -> int:
    from edgematte.profiles import get_profile

    return get_profile(profile).threads


def run_on_ray(
    jobs: list[Job],
    spec: CutoutSpec,
    *,
    address: str | None = None,
    workers: int | None = None,
    batch_size: int = 4,
) -> Iterator[dict[str, Any]]:
    """Connect to (or start) a Ray cluster, run every job, and yield one result row per job.

    Parameters
    ----------
    jobs
        From `batch.plan`.
    spec, workers, batch_size
        As for `remove_dataset`.
    address
        The cluster: 'auto' (the one `ray start` made on this machine), 'ray://host:10001', or
        None (default): $RAY_ADDRESS when set, else a local cluster started for this run.

    Rows arrive as workers finish them (not in input order), with absolute paths. A job with no
    row at the end (its batch given up after its worker died 3 times) is yielded last as
    failed, so every job has exactly one row.
    """
    import ray
    from ray.data import DataContext

    try:
        ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    except ConnectionError as exc:
        raise OptionError(f"--address {address}: no Ray cluster there ({exc})") from exc
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # its per-run INFO and WARNING lines
    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.max_errored_blocks = -1  # a batch given up is reported per file below, the job goes on
    ctx.print_on_execution_start = False
    seen: set[str] = set()
    try:
        for row in remove_dataset(jobs_dataset(jobs), spec, workers=workers, batch_size=batch_size).iter_rows():
            row = {c: (v.item() if hasattr(v, "item") else v) for c, v in row.items()}
            seen.add(row["source"])
            yield row
        for j in jobs:
            if str(j.source.absolute()) not in seen:
                yield {
                    "source": str(j.source.absolute()),
                    "output": str(j.output.absolute()),
                    "status": "failed",
                    "message": f"{j.source}: its worker died on every try (3); run again to retry",
                    "error": "WorkerDied",
                    "exit_code": 70,
                    "seconds": 0.0,
                    "stages_ms": "",
                    "worker": "",
                }
    finally:
        ray.shutdown()
