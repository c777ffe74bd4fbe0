"""Package data (read through importlib.resources, see credcore/resources.py); no code."""
