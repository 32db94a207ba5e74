"""Partner simulators: a customs service and a payment company, each a process of its own.

They share no code with the product (no import of ``config``, ``core``, ``single_window`` or
``declarations``): they check what their real counterparts would check from their own small
tables, so a bug in the product can't confirm itself. See ``simulators/README.md``.

- ``python -m simulators.customs``: takes customs messages on ``POST /ceb`` and calls the single
  window back with signed receipts (CEB312/412/512/622/624) and tax bills (CEB816).
- ``python -m simulators.payment``: takes identity verification requests on ``POST /verify`` and
  calls back with the result.
"""
