"""``python -m geo_grid.cli …``: the same as the ``geo-grid`` command."""

import sys

from geo_grid.cli import main

sys.exit(main())
