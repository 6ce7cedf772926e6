"""The reliability suite: chaos, load, fuzz and hostile uploads against a real deployment.

Each part is a function taking a `Deployment` and returning a dict of figures;
`python -m benchmarks.reliability` runs them and prints the figure table, and
tests/reliability runs small slices of each in CI. See docs/reliability.md.
"""
