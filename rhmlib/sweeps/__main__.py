"""``python -m rhmlib.sweeps``: compute or complete the book's cached sweeps."""

from . import main

main()
