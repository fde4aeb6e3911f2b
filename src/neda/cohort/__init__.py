"""Cohort-level analyses over the course engine's results.

:mod:`neda.cohort.multiverse` runs a grid of definitions of worsening over one cohort.
"""
