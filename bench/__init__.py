"""Benchmarks of topolog (issue 9): ``bench.scenarios`` behind ``topolog bench``, plus scripts."""
