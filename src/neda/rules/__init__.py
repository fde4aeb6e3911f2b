"""Pure clinical rules (clinical rules §1 and 3-8).

Each module is independent of the web and CLI layers: tidy tables in, results with reasons and
provenance out. Shared conventions (three-valued statuses, options, provenance) are in
:mod:`neda.rules.common`.
"""
