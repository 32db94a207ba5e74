"""The throughput benchmark of the single window (``make bench``, docs/bench.md).

It drives the production stack from outside, as enterprises and partners do: over HTTP, with
keys and certificates registered through the product's own commands. Nothing in the product
imports this package.
"""
