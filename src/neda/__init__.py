"""neda: multiple sclerosis disease-course analytics."""

__version__ = "0.1.0"
