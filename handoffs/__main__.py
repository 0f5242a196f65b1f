"""``python -m handoffs``: see :mod:`handoffs.cli`."""

import sys

from handoffs.cli import main

sys.exit(main())
