"""Demo data: the two published cases as longitudinal records, and a synthetic cohort.

Seed 000 (McCaffrey et al., 2026) and seed 004 (Koruga et al., 2024) are
entered with their dates as the seeds give them.  Where a seed gives only a
year, the date is 1 July of that year; where it gives a month, the 1st of the
month (the convention of ``examples/``).  Every approximated date is listed in
:data:`APPROXIMATED` and in ``docs/registry.md``.

The synthetic cohort comes from :func:`leiosurv.study.synthesize_cohort`
(calibrated to seed 001); its patients are flagged ``synthetic`` and their
pseudonyms start with ``SYN-``.  Each cohort row becomes a patient with one
dermal tumour diagnosed on 1 July of its diagnosis year, its events at the
cohort's times, and a last-contact visit at the censoring time; anything that
would fall after today is cut at today (administrative censoring).
"""

from __future__ import annotations

import datetime as _dt

import pandas as pd

from leiosurv.registry._service import Registry

__all__ = ["load_published_cases", "load_synthetic", "APPROXIMATED", "SEED000", "SEED004"]

SEED000 = "SEED-000"
SEED004 = "SEED-004"

APPROXIMATED = {
    SEED000: [
        "1997-07-01 primary excision: the seed gives the year 1997 only",
        "2018-07-01 hepatic mass on renal ultrasound: year 2018 only",
        "2018-09-01 MRI of the hepatic mass: 'a subsequent MRI', 2018",
        "2019-07-01 surveillance MRI: year 2019 only",
        "2023-07-01 biopsies of the scalp and palm nodules: 'July 2023'",
        "2023-08-15 PET scan: 'August 2023-September 2023'",
        "2023-09-01 liver biopsy: 'August 2023-September 2023'",
        "2023-09-15 to 2024-05-01 gemcitabine: 'September 2023- May 2024'",
        "2024-05-31 death: 'subsequently died' after May 2024; no date given",
    ],
    SEED004: [
        "2021-07-01 resection of the retroperitoneal primary: year 2021 only",
        "2023-07-01 C5 metastasis and its resection: year 2023 (Table 1 of the seed) only",
        "2023-08-01, 2023-09-01, 2024-01-01 MRI / CT / MRI: 1, 2 and 6 months after the resection",
        "2023-09-15 to 2023-10-13 docetaxel and gemcitabine: 'a timespan of 4 weeks' after the 2-month CT",
        "2024-07-01 recurrence at the C5 site: 'one year later'",
    ],
}

_D = _dt.date


def load_published_cases(reg: Registry) -> list[str]:
    """Enter seeds 000 and 004 (see the module docstring); returns the pseudonyms."""
    with reg.engine.begin() as c:
        # --- seed 000 --------------------------------------------------------------------------------
        p = SEED000
        reg.add_patient(p, sex="male", note="Published case: McCaffrey T et al. 2026 (seed 000)", conn=c)
        reg.add_tumour(p, "forearm-1997", {
            "case_id": "seed-000-primary-1997", "patient": {"age_years": 59, "sex": "male"},
            "excision_date": "1997-07-01", "site": "right forearm", "site_region": "upper_extremity",
            "depth": "subcutaneous", "size_mm": 12, "margins": "negative",
            "history": {"prior_leiomyosarcoma": "absent"}, "distant_lesion": "absent"},
            confirmed_diagnosis="lms_nos", as_of=_D(1997, 7, 1),  # subcutaneous high-grade leiomyosarcoma
            track_from=_D(2018, 7, 1), conn=c)
        reg.record_treatment(p, "excision", _D(1997, 7, 1), margin_status="negative", as_of=_D(1997, 7, 1),
                             note="1.2 cm painful subcutaneous tumour", conn=c)
        reg.add_observation(p, "hepatic-mass", "right hepatic mass", _D(2018, 7, 1), 365, site="liver",
                            as_of=_D(2018, 7, 1), conn=c)
        reg.record_encounter(p, date=_D(2018, 7, 1), modality_class="imaging", kind="renal ultrasound",
                             observation="hepatic-mass", modality="ultrasound",
                             findings="incidental 3.3 cm hepatic mass with associated blood flow", conn=c,
                                 as_of=_D(2018, 7, 1))
        reg.record_encounter(p, date=_D(2018, 9, 1), modality_class="imaging", kind="MRI liver",
                             observation="hepatic-mass", modality="MRI",
                             findings="2.4 cm atypical right hepatic mass (focal nodular hyperplasia); AFP normal; "
                                      "no biopsy", conn=c, as_of=_D(2018, 9, 1))
        reg.record_encounter(p, date=_D(2019, 7, 1), modality_class="imaging", kind="MRI liver",
                             observation="hepatic-mass", modality="MRI",
                             findings="interval growth to 2.8 x 2.7 cm; patient declined further evaluation", conn=c,
                                 as_of=_D(2019, 7, 1))
        reg.record_encounter(p, date=_D(2023, 7, 1), modality_class="biopsy", kind="dermatology visit",
                             modality="biopsies of parietal and temporal scalp and right palm",
                             findings="dermal spindle cell neoplasm, SMA+, desmin focal: leiomyosarcoma", conn=c,
                                 as_of=_D(2023, 7, 1))
        reg.record_event(p, "metastasis", _D(2023, 7, 1), tumour="forearm-1997", site="skin",
                         note="eruptive cutaneous nodules: scalp, right palm, left shoulder", conn=c, as_of=_D(2023,
                             7, 1))
        reg.record_encounter(p, date=_D(2023, 8, 15), modality_class="imaging", kind="PET scan",
                             observation="hepatic-mass", modality="PET",
                             findings="10.2 x 13.4 x 10.2 cm hepatic mass invading the right kidney; pulmonary "
                                      "and adrenal metastases", conn=c, as_of=_D(2023, 8, 15))
        for site in ("lung", "adrenal", "kidney"):
            reg.record_event(p, "metastasis", _D(2023, 8, 15), tumour="forearm-1997", site=site,
                             note="on PET" + ("; hepatic mass invading the right kidney" if site == "kidney" else ""),
                             conn=c, as_of=_D(2023, 8, 15))
        reg.record_encounter(p, date=_D(2023, 9, 1), modality_class="biopsy", kind="liver biopsy",
                             observation="hepatic-mass", findings="metastatic leiomyosarcoma with necrosis", conn=c,
                                 as_of=_D(2023, 9, 1))
        reg.record_event(p, "metastasis", _D(2023, 9, 1), tumour="forearm-1997", site="liver",
                         note="a new primary hepatic leiomyosarcoma could not be excluded", conn=c, as_of=_D(2023, 9,
                             1))
        reg.close_observation(p, "hepatic-mass", "diagnosed", _D(2023, 9, 1), conn=c)
        reg.record_treatment(p, "systemic", _D(2023, 9, 15), tumour="forearm-1997", agent="gemcitabine",
                             end_date=_D(2024, 5, 1), note="palliative monotherapy", conn=c, as_of=_D(2023, 9, 15))
        reg.record_event(p, "death", _D(2024, 5, 31), cause="progressive metastatic leiomyosarcoma", conn=c,
            as_of=_D(2024, 5, 31))
        # --- seed 004 --------------------------------------------------------------------------------
        p = SEED004
        reg.add_patient(p, sex="female", note="Published case: Koruga N et al. 2024 (seed 004)", conn=c)
        reg.add_tumour(p, "retroperitoneum-2021", {
            "case_id": "seed-004-primary-2021", "patient": {"age_years": 61, "sex": "female"},
            "excision_date": "2021-07-01", "site": "retroperitoneum", "site_region": "retroperitoneum",
            "depth": "retroperitoneal_visceral", "distant_lesion": "absent"},
            confirmed_diagnosis="lms_nos", as_of=_D(2021, 7, 1),  # retroperitoneal leiomyosarcoma
            track_from=_D(2023, 6, 1), conn=c)
        reg.record_treatment(p, "excision", _D(2021, 7, 1), note="completely removed", conn=c, as_of=_D(2021, 7, 1))
        reg.record_event(p, "metastasis", _D(2023, 7, 1), site="bone_spine",
                         note="right C5 laminar / C5-C6 foraminal lesion; 4/5 right C5 hemiparesis", conn=c,
                             as_of=_D(2023, 7, 1))
        reg.record_treatment(p, "excision", _D(2023, 7, 1), margin_status="negative",
                             note="posterior gross total resection of the C5 metastasis", conn=c, as_of=_D(2023, 7, 1))
        reg.record_encounter(p, date=_D(2023, 8, 1), modality_class="imaging", kind="cervical MRI",
                             tumour="retroperitoneum-2021", modality="MRI", findings="no recurrence", conn=c,
                                 as_of=_D(2023, 8, 1))
        reg.record_encounter(p, date=_D(2023, 9, 1), modality_class="imaging", kind="CT thorax, abdomen, pelvis",
                             tumour="retroperitoneum-2021", modality="CT", findings="no further metastases", conn=c,
                                 as_of=_D(2023, 9, 1))
        reg.record_treatment(p, "systemic", _D(2023, 9, 15), agent="docetaxel and gemcitabine",
                             end_date=_D(2023, 10, 13), note="adjuvant, 4 weeks", conn=c, as_of=_D(2023, 9, 15))
        reg.record_encounter(p, date=_D(2024, 1, 1), modality_class="imaging", kind="cervical MRI",
                             tumour="retroperitoneum-2021", modality="MRI", findings="no recurrence", conn=c,
                                 as_of=_D(2024, 1, 1))
        reg.record_encounter(p, date=_D(2024, 7, 1), modality_class="imaging", kind="cervical MRI",
                             tumour="retroperitoneum-2021", modality="MRI",
                             findings="recurrence at the C5 surgical site", conn=c, as_of=_D(2024, 7, 1))
        reg.record_event(p, "metastasis", _D(2024, 7, 1), site="bone_spine",
                         note="recurrence of the C5 metastasis one year after gross total removal", conn=c,
                             as_of=_D(2024, 7, 1))
    return [SEED000, SEED004]


def load_synthetic(reg: Registry, n: int = 381, seed: int = 1, *, today: _dt.date | None = None) -> int:
    """Load a synthetic cohort of *n* patients (labelled synthetic); returns the number of patients."""
    from leiosurv.study import synthesize_cohort

    today = today or _dt.date.today()
    df = synthesize_cohort(n, seed=seed)
    grade_count = {1: 5, 2: 15, 3: 25}
    with reg.engine.begin() as c:
        for r in df.itertuples(index=False):
            p = f"SYN-{seed}-{r.id}"
            reg.add_patient(p, sex=r.sex, synthetic=True, note="SYNTHETIC (leiosurv synth)", conn=c)
            dx = _D(int(r.diagnosis_year), 7, 1)
            inv = None if pd.isna(r.invasion) else ("present" if r.invasion == 1 else "absent")
            f = {"case_id": p, "patient": {"age_years": int(r.age), "sex": r.sex}, "excision_date": dx.isoformat(),
                 "depth": "dermal", "margins": r.margins if isinstance(r.margins, str) else "unknown",
                 "necrosis": "unknown" if pd.isna(r.necrosis) else ("present" if r.necrosis == 1 else "absent"),
                 "perineural_invasion": inv or "unknown", "intravascular_invasion": inv or "unknown"}
            if not pd.isna(r.mitotic_grade):
                f["mitoses"] = {"count": grade_count[int(r.mitotic_grade)]}
            reg.add_tumour(p, "T1", f, as_of=dx, track_from=today + _dt.timedelta(days=36500), conn=c)
            death = None
            for status, time in ((r.met_status, r.met_time), (r.lr_status, r.lr_time)):
                if status == 2:
                    death = dx + _dt.timedelta(days=int(time))
            ends = []
            for kind, status, time in (("local_recurrence", r.lr_status, r.lr_time),
                                       ("metastasis", r.met_status, r.met_time)):
                d = dx + _dt.timedelta(days=int(time))
                ends.append(d)
                if status == 1 and d <= today:
                    reg.record_event(p, kind, d, site="lung" if kind == "metastasis" else None, as_of=d, conn=c)
            last = min(max(ends), today)
            if death is None or death > today:
                reg.record_encounter(p, date=last, kind="last contact", tumour="T1", as_of=last, conn=c)
            if death is not None and death <= today:
                reg.record_event(p, "death", death, as_of=death, conn=c)
    return len(df)
