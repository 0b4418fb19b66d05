"""``python -m dlarray.examples`` runs the main job (``train_digits``)."""

from .train_digits import main

raise SystemExit(main())
