"""``python -m emulators.slack``: see ``emulators/slack/cli.py``."""

import sys

from .cli import main

sys.exit(main())
