"""The yardstick: the smallest useful DRF endpoint, served and driven as the product is.

A Django project of its own (``bench.baseline.settings``): one table in the run's database and
``POST /orders``, which validates an order-shaped body with a DRF serializer and inserts one row.
No authentication, throttling, idempotency, rules or events: what is left is the cost of
gunicorn, Django, DRF, JSON and one insert, which the product's documents/s is compared with.
"""
