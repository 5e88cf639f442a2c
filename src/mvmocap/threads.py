"""How many threads PyTorch and NumPy's BLAS use: one policy for every command and worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["use_threads", "single_threaded"]


def use_threads() -> int:
    """PyTorch's intra-op threads for this process: ``OMP_NUM_THREADS`` when the user set it, else 1.

    Measured with ``mvmocap bench fit --frames 300 --load 1`` (a fit beside one busy process, 2
    cores): with PyTorch's default of one thread per core the loaded Anny fit took 18.7x its quiet
    time (350 s against 18.8 s) and SMPL's 6.7x, because OpenMP threads that spin and wait at every
    barrier lose their core to the other process; with one thread the loaded fits took 1.0x and 0.8x
    (Anny 30.8 s quiet, 1.6x the two-thread quiet time; SMPL unchanged). Users run mvmocap beside
    other work, so one thread is the default; a dedicated machine may set ``OMP_NUM_THREADS``. One
    thread is also what ``mvmocap batch`` uses per trial, so a run and a batch give the same fit.

    NumPy's BLAS (OpenBLAS) gets the same number of threads: its threads spin-wait like OpenMP's,
    and a threaded OpenBLAS called from several Python threads at once (the render draws a frame's
    views in threads) ran 15x slower than one BLAS thread, and once spun for ten minutes in
    ``exec_blas_async_wait``, never returning."""
    import torch
    from threadpoolctl import threadpool_limits

    wanted = os.environ.get("OMP_NUM_THREADS", "")
    threads = int(wanted) if wanted.isdigit() and int(wanted) > 0 else 1
    torch.set_num_threads(threads)
    threadpool_limits(threads, user_api="blas")
    return threads


@contextmanager
def single_threaded() -> Iterator[None]:
    """PyTorch held to one thread inside the block, as set before after it: a trial of a batch (its
    workers run side by side, :mod:`mvmocap.batch.trial`) and a person's fit in a worker process
    (:mod:`mvmocap.pipeline.multi`), so that processes do not fight over the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
