"""``python -m bench.djangorun MODULE ARGS...``: set Django up, then run ``MODULE.main(ARGS)``.

The modules of the benchmark that work inside the product (``bench.provision``,
``bench.queries``) import its models at the top, which needs the apps loaded first; this is
where that happens, with the settings of the environment (``DJANGO_SETTINGS_MODULE``).
"""

from __future__ import annotations

import importlib
import sys

import django


def main() -> int:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -m bench.djangorun MODULE [ARGS...]\n")
        return 2
    django.setup()
    module = importlib.import_module(sys.argv[1])
    code: int = module.main(sys.argv[2:])
    return code


if __name__ == "__main__":
    raise SystemExit(main())
