"""The portal's own records (diary, exercise, adherence). Relapses a patient reports and the
questionnaires' answers are the clinic's own tables (``clinic.Relapse`` with
``status="reported"``, ``clinic.ProAnswer``), so the rules read them through one pipeline."""

from __future__ import annotations
