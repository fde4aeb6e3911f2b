"""neda's clinic: a self-hosted Django site where an MS team sees each patient's whole course.

Server-rendered screens, a patient portal and a JSON API over one database. The site computes
nothing itself: every clinical number comes from :func:`neda.course_summary` and the rules
under :mod:`neda.rules` (see :mod:`neda.web.clinic.course`).
"""
