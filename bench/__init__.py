"""Performance benchmarks (not tests): `python -m bench.run`."""
