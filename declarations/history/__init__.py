"""Historical parcels written straight to PostgreSQL, so the benchmark can measure the product
with 0, 1 million or 10 million lists already stored (``manage.py generate_history``).

- ``people``: the buyers, with valid resident ID numbers, protected once each;
- ``goods``: what they buy, from the positive list and rate table in the database;
- ``parties``: the enterprises that sell, pay, carry and declare, from the registry;
- ``pgcopy``: COPY in PostgreSQL's text format, and blocks of ids from the tables' sequences;
- ``services``: ``history_generate``, which plans each parcel and writes it.
"""
