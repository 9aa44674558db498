"""Where delayed entry and case weights have no R reference, they are refused with one line:
Gray's test (cmprsk::cuminc has neither) and Fine–Gray (cmprsk::crr has neither)."""

from __future__ import annotations

import pytest

from leiosurv.exceptions import InputError
from leiosurv.stats import count_events, cumulative_incidence, fine_gray, gray_test

from ._entry_weights_data import melanoma


@pytest.mark.parametrize("option", ["entry", "weights"])
def test_gray_test_refuses_entry_and_weights_naming_the_option(option):
    column = {"entry": "entry", "weights": "w"}[option]
    with pytest.raises(InputError, match=rf"^gray_test takes no {option}=: cmprsk::cuminc's test has no delayed "
                                         "entry or case weights"):
        gray_test(melanoma(), "time", "status", "ulcer", **{option: column})


@pytest.mark.parametrize(("kw", "carried"), [({"entry": "entry"}, "entry"), ({"weights": "w", "variance": "ij"},
                                                                               "weights"),
                                             ({"entry": "entry", "variance": "ij"}, "entry")])
def test_gray_test_refuses_results_that_carry_entry_or_weights(kw, carried):
    """A cumulative-incidence result (or its counts) made with entry/weights is not silently tested as if
    plain: its counts carry the option."""
    res = cumulative_incidence(melanoma(), "time", "status", "ulcer", **kw)
    for data in (res, res.counts):
        with pytest.raises(InputError, match=rf"^gray_test takes no data with {carried} \(these counts carry "
                                             rf"{carried} column '(entry|w)'\)"):
            gray_test(data)


def test_gray_test_on_plain_data_is_unchanged():
    plain = gray_test(count_events(melanoma(), "time", "status", "ulcer"))
    assert plain.table["df"].tolist() == [1, 1]


@pytest.mark.parametrize("option", ["entry", "weights"])
def test_fine_gray_refuses_entry_and_weights_naming_the_option(option):
    column = {"entry": "entry", "weights": "w"}[option]
    with pytest.raises(InputError, match=rf"^fine_gray takes no {option}=: cmprsk::crr, which it reproduces, has "
                                         "no delayed entry or case weights; cause_specific_cox takes both"):
        fine_gray(melanoma(), "time", "status", ["ulcer"], **{option: column})
