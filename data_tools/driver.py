"""Runs a converter: resumable, in parallel, with bounded memory, past bad files.

Items are converted by a pool of worker processes (``spawn``, so torch is never forked) through
a bounded window of in-flight items, and written in source order by this process: memory stays
at about ``window`` images however large the dataset, and reruns skip what is stored.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import multiprocessing
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from data_tools.base import Context, ConvertedImage, Converter, SourceItem, UnreadableSource
from hmr.body.dataset_bodies import model_file, resolve_models_dir
from hmr.data.layout import DatasetLayout
from hmr.data.manifest import write_manifest
from hmr.data.writer import DEFAULT_SHARD_BYTES, SplitWriter, file_sha256
from hmr.errors import HmrError


@dataclass
class ConversionReport:
    dataset: str
    converted: int = 0
    already_done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (image or source file, one-line reason)
    out_dir: Path | None = None


def one_line(e: BaseException) -> str:
    return str(e) if isinstance(e, HmrError) else f"{type(e).__name__}: {e}"


# --- worker side: one converter and one context per process -------------------------------
_WORKER: tuple[Converter, Context] | None = None


def _init_worker(converter: Converter, ctx: Context) -> None:
    import torch

    torch.set_num_threads(1)
    global _WORKER
    _WORKER = (converter, ctx)


def _convert_in_worker(item: SourceItem) -> ConvertedImage | str:
    converter, ctx = _WORKER
    return _convert_safely(converter, ctx, item)


def _convert_safely(converter: Converter, ctx: Context, item: SourceItem) -> ConvertedImage | str:
    """The converted image, or a one-line reason why this item failed (the batch goes on)."""
    try:
        return converter.convert(item, ctx)
    except HmrError as e:
        return one_line(e)
    except Exception as e:  # a bad source file must not stop a million-image batch
        last = traceback.extract_tb(e.__traceback__)[-1]
        return f"{one_line(e)} (at {Path(last.filename).name}:{last.lineno})"


def results_in_order(
    converter: Converter, ctx: Context, items: Iterator[SourceItem], workers: int
) -> Iterator[tuple[SourceItem, ConvertedImage | str]]:
    """(item, result) in item order; at most ``4 * workers`` items in flight."""
    if workers <= 1:
        for item in items:
            yield item, _convert_safely(converter, ctx, item)
        return
    window = 4 * workers
    mp = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(workers, mp_context=mp, initializer=_init_worker, initargs=(converter, ctx)) as pool:
        pending: collections.deque = collections.deque()
        for item in items:
            pending.append((item, pool.submit(_convert_in_worker, item)))
            if len(pending) >= window:
                done_item, fut = pending.popleft()
                yield done_item, fut.result()
        while pending:
            done_item, fut = pending.popleft()
            yield done_item, fut.result()


def body_model_checksums(converter: Converter, models_dir: str | None) -> dict[str, str]:
    """sha256 of each body-model file the converter uses, so labels can be tied to model versions."""
    root = resolve_models_dir(models_dir)
    out = {}
    for kind, gender in converter.body_models:
        path = model_file(root, kind, gender)
        out[str(path.relative_to(root))] = file_sha256(path) if path.exists() else "missing"
    return out


def run_conversion(
    converter: Converter,
    src: str | Path,
    out: str | Path,
    splits: Sequence[str] = (),
    workers: int = 1,
    max_side: int = 2000,
    models_dir: str | None = None,
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    limit: int | None = None,
    quiet: bool = False,
) -> ConversionReport:
    """Convert ``src`` into ``out/<converter.name>/``; a rerun continues where the last one stopped."""
    src = Path(src)
    converter.check_source(src)
    layout = DatasetLayout(out, converter.name)
    report = ConversionReport(converter.name, out_dir=layout.dir)
    ctx = Context(src=src, max_side=max_side, models_dir=models_dir)
    writers: dict[str, SplitWriter] = {}

    def writer(split: str) -> SplitWriter:
        if split not in writers:
            writers[split] = SplitWriter(out, converter.name, split, converter.license_tag, shard_bytes)
        return writers[split]

    def todo() -> Iterator[SourceItem]:
        n = 0
        for item in converter.items(src, splits):
            if isinstance(item, UnreadableSource):
                report.failed.append((item.path, item.reason))
                continue
            if limit is not None and n >= limit:
                return
            n += 1
            if writer(item.split).has(item.image_id):
                report.already_done += 1
                continue
            yield item

    bar = tqdm(desc=f"convert {converter.name}", unit="img", disable=quiet)
    try:
        for item, result in results_in_order(converter, ctx, todo(), workers):
            bar.update(1)
            if isinstance(result, str):
                report.failed.append((item.image_path, result))
                bar.set_postfix(failed=len(report.failed))
                continue
            image = result.image
            writer(item.split).add(
                item.image_id,
                image.data,
                image.ext,
                result.K,
                image.width,
                image.height,
                result.persons,
                item.image_path,
                image.width / image.src_width,
                result.extra_members,
            )
            report.converted += 1
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    finally:
        bar.close()
    for w in writers.values():
        w.close()
    provenance = {
        "license_tag": converter.license_tag,
        "source": {"version": converter.source_version(src), "path": str(src.resolve())},
        "converter": {"name": converter.name, "version": converter.version, "code_sha256": converter.code_sha256()},
        "body_model_files": body_model_checksums(converter, models_dir),
        "failed": [{"image": p, "error": e} for p, e in report.failed],
    }
    if writers or layout.stems():
        write_manifest(layout, provenance)
    return report
