"""Benchmarks (`make bench`, never part of `make test`): the kernels against an idiomatic Mesa
model, a NumPy-vectorised version and a memory-only pass, and whole runs. See
docs/performance.md."""
