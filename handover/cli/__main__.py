"""``python -m handover.cli ...``: the same as the ``handover`` console script."""

from .app import main

main()
