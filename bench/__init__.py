"""Benchmarks for every path a person waits on (`make bench`, `python -m bench --help`).
They start real processes on 127.0.0.1, print one table and write bench/results/latest.json;
they are not tests and never fail a build."""
