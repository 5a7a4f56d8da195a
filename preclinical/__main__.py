"""Allow `python -m preclinical`."""

from preclinical.cli import main

main()
