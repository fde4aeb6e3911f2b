"""Shared pytest configuration for the neda test suite."""

from __future__ import annotations

import os
import sys

from hypothesis import settings

# Sibling helper modules (tests/msprog_cases.py) must be importable whatever
# pytest's import mode is.
sys.path.insert(0, os.path.dirname(__file__))

settings.register_profile("ci", deadline=None, max_examples=60)
settings.load_profile("ci")
