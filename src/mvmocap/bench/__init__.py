"""Benchmarks behind ``mvmocap bench ...``: each returns one JSON-ready dict."""

from mvmocap.bench.bodymodel import bench_bodymodel
from mvmocap.bench.fit import bench_fit
from mvmocap.bench.hands import bench_bodyhands, bench_hands
from mvmocap.bench.render import bench_render
from mvmocap.bench.triangulate import bench_triangulate

__all__ = ["bench_bodyhands", "bench_bodymodel", "bench_fit", "bench_hands", "bench_render", "bench_triangulate"]
