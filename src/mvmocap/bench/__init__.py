"""Benchmarks behind ``mvmocap bench ...``: each returns one JSON-ready dict."""

from mvmocap.bench.bodymodel import bench_bodymodel
from mvmocap.bench.triangulate import bench_triangulate

__all__ = ["bench_bodymodel", "bench_triangulate"]
