"""leiosurv: leiomyosarcoma care and research.

* :mod:`leiosurv.clinical` — findings, diagnosis support, dermal-LMS risk group,
  surveillance plan (pure rules, no I/O, every figure cited in
  :mod:`leiosurv.clinical.evidence`);
* :mod:`leiosurv.stats` — Aalen–Johansen cumulative incidence with death as a
  competing risk, Kaplan–Meier, risk differences, Gray's test; exact against R;
* :mod:`leiosurv.study` — the cohort study of seed 001, its synthetic cohort and report.

leiosurv supports clinicians and researchers; it does not replace their judgement.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
