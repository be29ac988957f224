"""``python -m lofi`` runs the command line."""

import sys

from lofi.cli import main

sys.exit(main())
