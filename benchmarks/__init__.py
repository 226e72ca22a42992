"""Benchmarks: each ``bench_*.py`` module has ``main()``; ``python -m benchmarks.run_all`` runs them all."""
