"""Puente's composition root: the ``puente`` command-line program and the demo runner."""
