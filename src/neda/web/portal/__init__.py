"""The patient portal (issue 10): people with MS record relapses, symptoms, questionnaires
and exercise, and see their own course explained. Server-rendered, phone-first; the clinical
logic stays in :mod:`neda.rules` / :mod:`neda.course`, reached through the clinic's
course bridge (:mod:`neda.web.clinic.course`), and every object through
:mod:`neda.web.clinic.access`."""
